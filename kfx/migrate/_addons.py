"""TensorFlow Addons names and their Keras 3 or kfx equivalents: the one table of them.

TensorFlow Addons (``tensorflow_addons``, ``tfa``) ended without a Keras 3 release. Each
entry says what replaces one of its classes or functions and how to keep its numbers where
defaults or semantics differ: `defaults` are arguments to pass because tfa's default is not
the replacement's, `params` are tfa's positional parameters (so a default is not added for
an argument given by position), `fixable` whether a call is rewritten by `defaults` alone.
K3401 (``kfx migrate``) rewrites source code with it; a converter of saved ``.h5`` models
whose configs name ``Addons>...`` classes can map configs with the same table. Standard
library only.

Example:
    >>> ADDONS["layers.InstanceNormalization"].target, ADDONS["layers.InstanceNormalization"].defaults
    ('keras.layers.GroupNormalization', {'groups': '-1'})
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Equivalent:
    """What replaces one TensorFlow Addons name.

    Attributes:
        target: the dotted Keras 3 or kfx name (``"keras.layers.GroupNormalization"``).
        note: what differs, for the hint and the docs.
        params: tfa's positional parameters, in order.
        defaults: keyword -> Python source, tfa's default where the target's differs.
        fixable: whether a call becomes the target's by adding `defaults` alone.
        reference: whether a bare reference (``activation=tfa.activations.mish``) may be
            renamed (only where `defaults` is empty).
    """

    target: str
    note: str
    params: tuple[str, ...] = ()
    defaults: dict[str, str] = dataclasses.field(default_factory=dict)
    fixable: bool = True
    reference: bool = False


#: TensorFlow Addons name (after ``tensorflow_addons.``) -> its equivalent.
ADDONS: dict[str, Equivalent] = {
    "layers.WeightNormalization": Equivalent(
        "kfx.layers.WeightNormalization",
        "tfa's `data_init` defaults to True, kfx's to False: `data_init=True` is passed",
        params=("layer", "data_init"),
        defaults={"data_init": "True"},
    ),
    "layers.StochasticDepth": Equivalent(
        "kfx.layers.StochasticDepth",
        "tfa's layer takes `[shortcut, branch]` and `survival_probability=p`; kfx's is "
        "`shortcut + kfx.layers.StochasticDepth(rate=1 - p)(branch)` and scales by "
        "`1 / (1 - rate)` in training instead of by `p` at inference (same expected value)",
        fixable=False,
    ),
    "layers.Maxout": Equivalent(
        "kfx.layers.Maxout",
        "same arguments (`num_units`, `axis=-1`) and tfa's grouping of channels",
        params=("num_units", "axis"),
        reference=True,
    ),
    "layers.GroupNormalization": Equivalent(
        "keras.layers.GroupNormalization",
        "same arguments and defaults (`groups=32`, `epsilon=1e-3`)",
        params=("groups", "axis", "epsilon", "center", "scale"),
        reference=True,
    ),
    "layers.InstanceNormalization": Equivalent(
        "keras.layers.GroupNormalization",
        "instance normalisation is group normalisation with one group per channel: "
        "`groups=-1` is passed",
        defaults={"groups": "-1"},
    ),
    "optimizers.AdamW": Equivalent(
        "keras.optimizers.AdamW",
        "tfa's `AdamW(weight_decay, learning_rate)` takes the decay first and subtracts "
        "`weight_decay * w` per step; Keras 3's subtracts `weight_decay * learning_rate * w`, "
        "so a constant learning rate needs `weight_decay=wd / lr`",
        params=("weight_decay", "learning_rate"),
        fixable=False,
    ),
    "activations.gelu": Equivalent(
        "keras.activations.gelu",
        "tfa's default is the tanh approximation, Keras 3's the exact form: "
        "`approximate=True` is passed",
        params=("x", "approximate"),
        defaults={"approximate": "True"},
    ),
    "activations.mish": Equivalent("keras.activations.mish", "the same function", reference=True),
    "losses.SigmoidFocalCrossEntropy": Equivalent(
        "keras.losses.BinaryFocalCrossentropy",
        "pass `apply_class_balancing=True` (tfa's `alpha` weighting, same `alpha=0.25`, "
        "`gamma=2.0`); tfa sums over the last axis where Keras averages (multiply the loss "
        "by the number of classes) and defaults to `reduction='none'`",
        fixable=False,
    ),
    "callbacks.TimeStopping": Equivalent(
        "kfx.callbacks.TimeStopping",
        "tfa's `seconds` defaults to 86400 (one day), kfx's is required: `seconds=86400` is passed",
        params=("seconds", "verbose"),
        defaults={"seconds": "86400"},
    ),
}
