"""Weights from keras.applications into kfx networks: files, built models and ImageNet.

kfx networks name their layers after their role as keras.applications does
(``conv3_block2_1_conv``, ``conv3_block2_1_bn``, ``post_bn``, ``predictions``), so a source
tensor finds its place by the role of its layer and of the tensor (``kernel``, ``gamma``,
``moving_mean``...), never by the order of the layers. kfx convolutions that feed a batch
norm have no bias; the source's bias ``b`` is folded into the norm's moving mean
(``BN(conv(x) + b)`` with mean ``m`` equals ``BN(conv(x))`` with mean ``m - b``), which is
exact at inference.

Where the network differs from the source (another ``num_classes``, squeeze-excite or
drop-path added, no top, another input size) every tensor whose shape fits is loaded and
the rest keeps its initial value; :class:`TransferReport` says what was and was not loaded.
A source for another architecture (other blocks per stage) is a ValueError naming both.

Sources: a built Keras model, a legacy ``.h5`` weights file in the layout keras.applications
ships (one group per layer, its ``weight_names`` attribute listing the tensors), a Keras 3
``.weights.h5`` file, or ``"imagenet"`` (keras.applications' file through
``keras.utils.get_file``'s cache).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections import Counter
from pathlib import Path

import keras
import numpy as np

from kfx import _validation as v

#: Where keras.applications downloads its ResNet weights from (keras/applications/resnet.py).
IMAGENET_URL = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
#: A residual block's part of a layer name: ``conv4_block12`` in ``conv4_block12_2_bn``.
_BLOCK = re.compile(r"^conv(\d+)_block(\d+)_")
#: The tensor roles of a batch norm and of a convolution or dense layer, in Keras' order.
_NORM_ROLES = ("gamma", "beta", "moving_mean", "moving_variance")
_KERNEL_ROLES = ("kernel", "bias")


@dataclasses.dataclass
class TransferReport:
    """What :func:`load_weights` loaded.

    Attributes:
        source: where the weights came from.
        loaded: number of the network's weight tensors that received a value.
        total: number of the network's weight tensors.
        not_loaded: paths of the network's tensors left as initialised (``layer/role``).
        unused: source tensors that found no place (``layer/role``).
    """

    source: str
    loaded: int
    total: int
    not_loaded: list[str]
    unused: list[str]

    def summary(self, limit: int = 6) -> str:
        """The one-line report: counts, then the first `limit` tensors not loaded."""
        line = f"kfx: loaded {self.loaded} of {self.total} weight tensors from {self.source}"
        if not self.not_loaded:
            return line + "; all loaded"
        names = ", ".join(self.not_loaded[:limit])
        more = len(self.not_loaded) - limit
        return line + f"; not loaded: {names}" + (f" and {more} more" if more > 0 else "")

    __str__ = summary


# ----------------------------------------------------------------------------- sources


def _layers(model) -> list:
    """Every layer of `model` with weights, nested models flattened."""
    found = []
    for layer in model.layers:
        if hasattr(layer, "layers") and isinstance(layer, keras.Model):
            found.extend(_layers(layer))
        elif layer.weights:
            found.append(layer)
    return found


def _variables(layer) -> list:
    """A layer's weights without the random-seed state that dropout layers carry."""
    return [w for w in layer.weights if "seed_generator" not in w.path]


def _from_model(model) -> dict[str, list]:
    return {
        layer.name: [(w.name, keras.ops.convert_to_numpy(w)) for w in _variables(layer)]
        for layer in _layers(model)
    }


def _attr_list(group, attr: str) -> list[str]:
    """An h5 attribute list, which Keras splits into ``attr0``, ``attr1``... when it is long."""
    if attr in group.attrs:
        values = list(group.attrs[attr])
    else:
        values, index = [], 0
        while f"{attr}{index}" in group.attrs:
            values.extend(group.attrs[f"{attr}{index}"])
            index += 1
    return [value.decode("utf8") if isinstance(value, bytes) else str(value) for value in values]


def _from_legacy_h5(group) -> dict[str, list]:
    """keras.applications' layout: a group per layer, ``weight_names`` naming its tensors."""
    source = {}
    for name in _attr_list(group, "layer_names"):
        names = _attr_list(group[name], "weight_names")
        if names:
            source[name] = [
                (n.split("/")[-1].split(":")[0], np.asarray(group[name][n])) for n in names
            ]
    return source


def _from_keras3_h5(root) -> dict[str, list]:
    """Keras 3's ``.weights.h5``: ``.../vars`` groups, named by their ``name`` attribute,
    holding the tensors ``0``, ``1``... in the layer's order (roles resolved later)."""
    import h5py

    source = {}

    def visit(path, item):
        if isinstance(item, h5py.Group) and path.endswith("vars") and len(item):
            name = item.attrs.get("name", path.split("/")[-2])
            name = name.decode("utf8") if isinstance(name, bytes) else str(name)
            source[name] = [(None, np.asarray(item[str(i)])) for i in range(len(item))]

    root.visititems(visit)
    return source


def _from_file(path: Path) -> dict[str, list]:
    import h5py

    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "model_weights" in f else f
        if "layer_names" in group.attrs or "layer_names0" in group.attrs:
            return _from_legacy_h5(group)
        return _from_keras3_h5(f)


def imagenet_file(stem: str, hashes: tuple[str, str], include_top: bool) -> str:
    """keras.applications' ImageNet file for `stem` from Keras' cache (downloaded if missing).

    Raises:
        ValueError: the file is not cached and cannot be downloaded; it names the file and
            the path to put it at.
    """
    name = f"{stem}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
    home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    try:
        return keras.utils.get_file(
            name,
            IMAGENET_URL + name,
            cache_subdir="models",
            file_hash=hashes[0 if include_top else 1],
        )
    except Exception as err:  # noqa: BLE001 - get_file raises plain Exceptions offline
        raise ValueError(
            f"weights='imagenet': {name} is not in Keras' cache and could not be downloaded "
            f"({type(err).__name__}); download {IMAGENET_URL + name} and put it at "
            f"{os.path.join(home, 'models', name)}"
        ) from err


def read_source(weights) -> tuple[str, dict[str, list]]:
    """``(description, {layer name: [(role or None, array), ...]})`` of a model or file."""
    if isinstance(weights, keras.Model):
        return f"keras model {weights.name!r}", _from_model(weights)
    if isinstance(weights, (str, os.PathLike)) and Path(weights).is_file():
        return str(weights), _from_file(Path(weights))
    v.fail(
        "load_weights",
        "weights",
        weights,
        "a built keras.Model or the path of an existing .h5 / .weights.h5 weights file",
    )


# ----------------------------------------------------------------------------- mapping


def _roles(tensors: list, layer) -> dict[str, np.ndarray]:
    """Name each source tensor by its role; Keras 3 files give none, so take Keras' order."""
    if all(role is not None for role, _ in tensors):
        return dict(tensors)
    n = len(tensors)
    if isinstance(layer, keras.layers.BatchNormalization) and n == len(_NORM_ROLES):
        names = _NORM_ROLES
    elif n <= 2 and hasattr(layer, "kernel"):
        names = _KERNEL_ROLES[:n]
    elif n == len(_variables(layer)):
        names = [w.name for w in _variables(layer)]
    else:
        return {}
    return {role: value for role, (_, value) in zip(names, tensors, strict=True)}


def _named(tensors: list, layer) -> dict[str, np.ndarray]:
    """The tensors of one source layer by role (by index where neither names it)."""
    roles = _roles(tensors, layer) if layer is not None else {}
    return roles or {role or str(i): value for i, (role, value) in enumerate(tensors)}


def _fold_biases(source: dict[str, dict], targets: dict) -> set[str]:
    """Fold the bias of each source ``X_conv`` into ``X_bn``'s moving mean where the kfx
    ``X_conv`` has none; return the ``layer/bias`` names so used."""
    folded = set()
    for name, roles in source.items():
        if not name.endswith("_conv") or "bias" not in roles:
            continue
        norm = name[: -len("_conv")] + "_bn"
        target = targets.get(name)
        if target is None or getattr(target, "use_bias", True) or norm not in source:
            continue
        if "moving_mean" in source[norm] and norm in targets:
            source[norm] = {**source[norm]}
            source[norm]["moving_mean"] = source[norm]["moving_mean"] - roles["bias"]
            folded.add(f"{name}/bias")
    return folded


def describe(names) -> str:
    """The architecture a set of layer names has: a preset's name, or its blocks per stage."""
    from kfx.models.resnet import PRESETS

    names = set(names)
    blocks = Counter()
    for stage, _ in {m.groups() for n in names if (m := _BLOCK.match(n))}:
        blocks[int(stage)] += 1
    if not blocks:
        return f"a network of {len(names)} weight layers"
    depths = tuple(blocks[s] for s in sorted(blocks))
    if any(n.endswith("_preact_bn") for n in names):
        kind = "preact_bottleneck" if any(n.endswith("_3_conv") for n in names) else "preact"
    else:
        kind = "bottleneck" if any(n.endswith("_3_conv") for n in names) else "basic"
    for preset, layout in PRESETS.items():
        if layout == (depths, kind):
            return preset
    return f"a ResNet of {kind} blocks, depths {depths}"


def _block_set(names) -> set[str]:
    return {m.group(0) for n in names if (m := _BLOCK.match(n))}


def _check_architecture(model, source_description: str, source: dict, targets: dict) -> None:
    same_blocks = _block_set(source) == _block_set(targets)
    if not same_blocks or describe(source) != describe(targets) or not set(source) & set(targets):
        raise ValueError(
            f"load_weights: {source_description} holds weights for {describe(source)}, "
            f"not for {describe(targets)} (the model {model.name!r})"
        )


def load_weights(model: keras.Model, weights) -> TransferReport:
    """Load keras.applications-layout weights into `model` by layer role; report what loaded.

    Args:
        model: a kfx network (or any model whose layers are named by role as
            keras.applications names them).
        weights: a built ``keras.Model`` (e.g. ``keras.applications.ResNet50(weights=None)``
            after training), or the path of a legacy ``.h5`` or a Keras 3 ``.weights.h5``
            weights file.

    Returns:
        A :class:`TransferReport`; also stored as ``model.kfx_transfer_report``.

    Raises:
        ValueError: the weights are for another architecture (both are named), or
            `weights` is neither a model nor an existing file.

    Example:
        >>> import keras, kfx
        >>> reference = keras.applications.ResNet50(weights=None, input_shape=(32, 32, 3),
        ...                                         include_top=False)
        >>> model = kfx.models.resnet50((32, 32, 3), 10, include_top=False)
        >>> print(kfx.models.load_weights(model, reference))
        kfx: loaded 265 of 265 weight tensors from keras model 'resnet50'; all loaded
    """
    description, raw = read_source(weights)
    targets = {layer.name: layer for layer in _layers(model)}
    _check_architecture(model, description, raw, targets)
    source = {name: _named(tensors, targets.get(name)) for name, tensors in raw.items()}
    used = _fold_biases(source, targets)

    loaded, not_loaded = 0, []
    for name, layer in targets.items():
        roles = source.get(name, {})
        for variable in _variables(layer):
            value = roles.get(variable.name)
            if value is None or tuple(value.shape) != tuple(variable.shape):
                not_loaded.append(f"{name}/{variable.name}")
                continue
            variable.assign(value)
            used.add(f"{name}/{variable.name}")
            loaded += 1
    unused = [f"{n}/{r}" for n, roles in source.items() for r in roles if f"{n}/{r}" not in used]
    report = TransferReport(description, loaded, loaded + len(not_loaded), not_loaded, unused)
    model.kfx_transfer_report = report
    return report
