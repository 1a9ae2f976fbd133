"""The main job: train a residual network built from kfx blocks on embedded digits.

``kfx demo`` (or ``make demo``) calls :func:`run_demo`, which writes under ``runs/demo/``:
``model.keras``, ``model.png``, ``history.csv`` and ``report.md``.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import keras

from kfx import _io, blocks, datasets
from kfx.plotting import plot_model

#: Epochs of the full demo; it reaches >= 0.95 held-out accuracy well within them.
FULL_EPOCHS = 30
QUICK_EPOCHS = 2
BATCH_SIZE = 64


def digits_resnet(input_shape=(8, 8, 1), num_classes: int = 10) -> keras.Model:
    """A small ResNet for 8x8 digits, made only of kfx blocks and core layers.

    Example:
        >>> from kfx.demo import digits_resnet
        >>> digits_resnet().output_shape
        (None, 10)
    """
    inputs = keras.Input(input_shape, name="image")
    x = blocks.conv_bn_act(inputs, 32, name="stem")
    x = blocks.residual(x, 32, name="stage1_block1")
    x = blocks.residual(x, 64, strides=2, se_ratio=0.25, name="stage2_block1")
    x = blocks.residual(x, 64, name="stage2_block2")
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = keras.layers.Dropout(0.2, name="head_dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="digit")(x)
    return keras.Model(inputs, outputs, name="digits_resnet")


def _history_csv(history: keras.callbacks.History) -> str:
    keys = sorted(history.history)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["epoch", *keys])
    for epoch in range(len(history.epoch)):
        writer.writerow([epoch + 1, *(f"{history.history[k][epoch]:.6g}" for k in keys)])
    return out.getvalue()


def _report(summary: dict) -> str:
    lines = [
        "# kfx demo report",
        "",
        "A residual network built from `kfx.blocks` trained on scikit-learn's 8x8 digits.",
        "",
        "| quantity | value |",
        "|---|---|",
    ]
    lines += [f"| {key} | {value} |" for key, value in summary.items()]
    return "\n".join(lines) + "\n"


def run_demo(
    out_dir: str = "runs/demo",
    *,
    quick: bool = False,
    epochs: int | None = None,
    seed: int = 0,
    verbose="auto",
) -> dict:
    """Train the demo network and write its files; return the report's figures.

    Args:
        out_dir: folder of the outputs (created).
        quick: a 2-epoch smoke run (for tests), not expected to reach the target accuracy.
        epochs: override the number of epochs.
        seed: seed of the split, the initial weights and the shuffles.
        verbose: passed to ``fit`` (a progress bar in a terminal).

    Returns:
        dict with ``test_accuracy``, ``params``, ``epochs``, ``seconds`` and the file paths.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = datasets.digits(seed=seed)
    epochs = epochs or (QUICK_EPOCHS if quick else FULL_EPOCHS)

    model = digits_resnet(x_train.shape[1:], 10)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    history = model.fit(
        x_train,
        y_train,
        validation_split=0.1,
        epochs=epochs,
        batch_size=BATCH_SIZE,
        verbose=verbose,
        callbacks=[
            keras.callbacks.ReduceLROnPlateau("val_loss", factor=0.5, patience=3, verbose=0)
        ],
    )
    seconds = time.perf_counter() - start
    _, test_accuracy = model.evaluate(x_test, y_test, verbose=0)

    files = {
        "model": _io.save_model(model, out / "model.keras"),
        "plot": plot_model(model, out / "model.png"),
        "history": _io.write_text(out / "history.csv", _history_csv(history)),
    }
    summary = {
        "held-out accuracy": f"{test_accuracy:.4f}",
        "held-out images": len(x_test),
        "parameters": f"{model.count_params():,}",
        "epochs": epochs,
        "training seconds": f"{seconds:.1f}",
        "backend": keras.backend.backend(),
        "files": ", ".join(p.name for p in files.values() if p is not None),
    }
    files["report"] = _io.write_text(out / "report.md", _report(summary))
    print(
        f"held-out accuracy {test_accuracy:.4f} ({len(x_test)} images), "
        f"{model.count_params():,} parameters, {seconds:.1f} s; files in {out}/"
    )
    return {
        "test_accuracy": float(test_accuracy),
        "params": model.count_params(),
        "epochs": epochs,
        "seconds": seconds,
        "files": files,
    }
