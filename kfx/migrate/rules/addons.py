"""TensorFlow Addons rules (K34xx): ``tfa`` has no Keras 3 release.

TensorFlow Addons ended without Keras 3 support, so ``import tensorflow_addons`` fails or
pulls Keras 2 into a Keras 3 project. Its layers, optimizers, activations, losses and
callbacks have Keras 3 or kfx equivalents; where the semantics or defaults differ, the hint
says what to pass to keep the numbers. Reported, not rewritten: the replacements need
``import kfx`` or changed arguments.

Example:
    >>> from kfx.migrate import check_source
    >>> code = "import tensorflow_addons as tfa\\nlayer = tfa.layers.GroupNormalization(groups=8)\\n"
    >>> [f.fix for f in check_source(code)]
    ['`keras.layers.GroupNormalization(groups=8)` (same arguments)']
"""

from __future__ import annotations

import libcst as cst

from kfx.migrate._registry import Hit, register_rule

#: TensorFlow Addons name (after ``tensorflow_addons.``) -> its Keras 3 or kfx way.
_EQUIVALENTS = {
    "layers.WeightNormalization": "`kfx.layers.WeightNormalization(layer, data_init=...)` "
    "(same data-dependent init)",
    "layers.StochasticDepth": "`x + kfx.layers.StochasticDepth(rate)(branch)`: tfa's "
    "`survival_probability=p` is `rate=1 - p`",
    "layers.Maxout": "`kfx.layers.Maxout(num_units, axis=-1)` (tfa's channel grouping)",
    "layers.GroupNormalization": "`keras.layers.GroupNormalization(groups=8)` (same arguments)",
    "layers.InstanceNormalization": "`keras.layers.GroupNormalization(groups=-1)` "
    "(one group per channel)",
    "optimizers.AdamW": "`keras.optimizers.AdamW(learning_rate, weight_decay=wd / lr)`: tfa's "
    "decay is not scaled by the learning rate, Keras 3's is",
    "activations.gelu": "`keras.activations.gelu(x, approximate=True)` (tfa's default is the "
    "tanh approximation, Keras 3's is exact)",
    "activations.mish": "`keras.activations.mish`",
    "losses.SigmoidFocalCrossEntropy": "`keras.losses.BinaryFocalCrossentropy(alpha=0.25, "
    "gamma=2.0, apply_class_balancing=True, reduction='none')`",
    "callbacks.TimeStopping": "`kfx.callbacks.TimeStopping(seconds)`",
}


@register_rule(
    "K3401",
    "TensorFlow Addons classes and functions: Keras 3 or kfx equivalents",
    nodes=(cst.Attribute, cst.ImportFrom),
    fix="the Keras 3 or kfx equivalent named in the message",
)
def addons(node, context) -> Hit | None:
    """`tfa.layers.WeightNormalization`, `StochasticDepth`, `Maxout`, `GroupNormalization`,
    `InstanceNormalization`, `tfa.optimizers.AdamW`, `tfa.activations.gelu` / `mish`,
    `tfa.losses.SigmoidFocalCrossEntropy` and `tfa.callbacks.TimeStopping` each have a
    Keras 3 or kfx equivalent. Where defaults differ the hint keeps the numbers: tfa's `gelu`
    is the tanh approximation, tfa's AdamW decays weights by `weight_decay` itself while
    Keras 3 multiplies it by the learning rate, tfa's `StochasticDepth` takes a survival
    probability. Other `tfa` names are reported as having no equivalent here."""
    if isinstance(node, cst.ImportFrom):
        from kfx.migrate._context import dotted

        module = dotted(node.module) if not node.relative else None
        if module is None or not module.startswith("tensorflow_addons"):
            return None
        return Hit(f"`{module}` (TensorFlow Addons) has no Keras 3 release")
    name = context.qualified(node)
    if name is None or not name.startswith("tensorflow_addons."):
        return None
    short = name[len("tensorflow_addons.") :]
    if short in _EQUIVALENTS:
        return Hit(
            f"`tfa.{short}` (TensorFlow Addons) has no Keras 3 release", fix=_EQUIVALENTS[short]
        )
    return None
