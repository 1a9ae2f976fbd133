"""Every kfx layer's jit-compiled forward and backward step under mixed_bfloat16.

Issue 8's per-layer check for the GPU machine (``KERAS_BACKEND=jax``); it runs on a CPU too.
For each layer in ``kfx.layers.list_layers()`` a small model is trained for a few
``jit_compile=True`` steps; the result records the compute dtype, the variable dtype, whether
the loss stayed finite and the step time.

Run: KERAS_BACKEND=jax python benchmarks/gpu_layers.py
"""

from __future__ import annotations

import time

import keras
import numpy as np
from _common import write_result

import kfx

#: Inputs each layer needs: shape without batch, and how to build the model around it.
SPECIAL_INPUTS = {
    "LoopRNN": (12, 8),
    "GeMPooling2D": (8, 8, 4),
    "SqueezeExcite": (8, 8, 4),
    "Maxout": (8,),
}


def layer_model(cls) -> keras.Model:
    name = cls.__name__
    if name == "Sampling":
        inputs = keras.Input((8,))
        y = cls()([keras.layers.Dense(4)(inputs), keras.layers.Dense(4)(inputs)])
    elif name == "WeightNormalization":
        inputs = keras.Input((8,))
        y = cls(keras.layers.Dense(4))(inputs)
    else:
        inputs = keras.Input(SPECIAL_INPUTS.get(name, (8,)))
        layer = cls(2) if name in ("Linear", "LoopRNN", "Maxout") else cls()
        y = layer(keras.layers.Dense(inputs.shape[-1])(inputs))
    if len(y.shape) > 2:
        y = keras.layers.Flatten()(y)
    return keras.Model(inputs, keras.layers.Dense(1, dtype="float32")(y))


def main() -> None:
    rng = np.random.default_rng(0)
    rows = {}
    for cls in kfx.layers.list_layers():
        keras.backend.clear_session()  # also resets the dtype policy, so set it after
        keras.config.set_dtype_policy("mixed_bfloat16")
        model = layer_model(cls)
        model.compile("adam", "mse", jit_compile=True)
        x = rng.random((32, *model.input_shape[1:]), dtype=np.float32)
        y = rng.random((32, 1), dtype=np.float32)
        model(x[:2])  # WeightNormalization(data_init) needs one eager call on JAX
        model.train_on_batch(x, y)
        start = time.perf_counter()
        losses = [float(model.train_on_batch(x, y)) for _ in range(5)]
        layer = (
            model.layers[-2]
            if cls.__name__ != "Sampling"
            else next(m for m in model.layers if isinstance(m, cls))
        )
        rows[cls.__name__] = {
            "compute_dtype": layer.compute_dtype,
            "variable_dtype": layer.variable_dtype,
            "finite": bool(np.isfinite(losses).all()),
            "step_ms": 1000 * (time.perf_counter() - start) / len(losses),
        }
        print(f"{cls.__name__:>20}: {rows[cls.__name__]}")
    write_result(
        f"gpu_layers_{keras.backend.backend()}", {"policy": "mixed_bfloat16", "layers": rows}
    )


if __name__ == "__main__":
    main()
