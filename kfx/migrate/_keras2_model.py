"""Rebuild a Keras 2 model config as a Keras 3 model, layer by layer and node by node.

Rather than handing the Keras 2 JSON to Keras 3's deserializer (whose support for the
Keras 2 node format differs between versions and misplaces the calls of a nested
Sequential), each layer is created from its converted config and the graph is replayed
call by call: every Keras 2 reference ``[layer, node_index, tensor_index]`` is looked up in
a table of the calls made so far, with Keras 2's own numbering (a nested model built on an
``Input`` has a first node of its own, which its config leaves out). Keras 3 then writes
its own config when the model is saved, so the ``.keras`` file is Keras 3's format on every
Keras 3 version.

``Lambda`` layers are never run: a known pattern (:mod:`kfx.migrate._keras2_lambda`)
becomes its kfx layer, any other blocks the conversion. TensorFlow Addons classes (saved as
``Addons>Name``) become kfx or Keras 3 layers (:data:`ADDONS_LAYERS`). TensorFlow functions
on Keras tensors (``TFOpLambda``, ``SlicingOpLambda``) become their ``keras.ops`` calls
(:mod:`kfx.migrate._keras2_ops`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from kfx.migrate._addons import ADDONS
from kfx.migrate._keras2_lambda import known_pattern
from kfx.migrate._keras2_ops import TF_OPS, TFOp

_MODELS = ("Functional", "Model", "Sequential")
#: Keras 2 config keys that Keras 3 does not take, dropped when they hold this value.
_KERAS2_ONLY = {"time_major": False}


class Blocked(Exception):
    """A layer that cannot be converted; the message names it and says why."""


@dataclasses.dataclass
class Conversion:
    """What was converted: ``notes`` are ``(layer name, what it became, hint)``,
    ``blocked`` the reasons a layer cannot be converted."""

    notes: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    blocked: list[str] = dataclasses.field(default_factory=list)
    #: id(Keras 3 layer) -> function that sets its weights from the Keras 2 arrays.
    weight_setters: dict[int, Callable] = dataclasses.field(default_factory=dict)


def _keras():
    import keras

    import kfx.layers  # noqa: F401 - registered, as `import kfx` does outside `kfx migrate`

    return keras


def _base(config: dict) -> dict:
    """The base Layer arguments of a Keras 2 layer config."""
    dtype = config.get("dtype")
    if isinstance(dtype, dict):  # a Keras 2 mixed-precision Policy: its name
        dtype = dtype.get("config", {}).get("name")
    base = {"name": config.get("name"), "trainable": config.get("trainable", True)}
    return {**base, **({"dtype": dtype} if dtype is not None else {})}


def _clean(class_name: str, config: dict) -> dict:
    config = {k: v for k, v in config.items() if k not in ("batch_input_shape", "input_dtype")}
    for key, value in _KERAS2_ONLY.items():
        if config.get(key, value) == value:
            config.pop(key, None)
    config.update(_base(config))
    axis = config.get("axis")
    if class_name == "BatchNormalization" and isinstance(axis, list) and len(axis) == 1:
        config["axis"] = axis[0]  # Keras 2 stores the built axis as a list
    return config


# -- TensorFlow Addons ----------------------------------------------------------------------


def _entries_by_name(entries):
    """``{"g": array, "kernel": array, ...}``: the first weight of each base name."""
    found = {}
    for name, value in entries:
        if "data_dep_init" not in name:  # tfa's data-init clone, not a weight of the model
            found.setdefault(name.rsplit("/", 1)[-1].split(":")[0], value)
    return found


def _weight_normalization(builder, config):
    from kfx.layers import WeightNormalization

    inner = builder.layer(config["layer"])
    layer = WeightNormalization(
        inner, data_init=bool(config.get("data_init", True)), **_base(config)
    )

    def set_weights(entries):
        import numpy as np

        found = _entries_by_name(entries)
        inner.kernel.assign(found["kernel"])
        if "bias" in found and getattr(inner, "bias", None) is not None:
            inner.bias.assign(found["bias"])
        initialized = bool(found.get("initialized", True))
        g = found["g"]
        if not initialized and not layer.data_init:  # tfa's first call sets g = ||v||
            axes = tuple(range(found["kernel"].ndim - 1))
            g = np.sqrt(np.sum(np.square(found["kernel"]), axis=axes))
        layer.g.assign(g)
        if layer.data_init:
            layer.initialized.assign(1.0 if initialized else 0.0)

    return layer, set_weights


def _group_normalization(builder, config, groups=None):
    keras = _keras()
    keys = (
        "groups",
        "axis",
        "epsilon",
        "center",
        "scale",
        "beta_initializer",
        "gamma_initializer",
        "beta_regularizer",
        "gamma_regularizer",
        "beta_constraint",
        "gamma_constraint",
    )
    arguments = {k: config[k] for k in keys if k in config}
    if groups is not None:
        arguments["groups"] = groups
    return keras.layers.GroupNormalization(**arguments, **_base(config)), None


def _maxout(builder, config):
    from kfx.layers import Maxout

    return Maxout(config["num_units"], axis=config.get("axis", -1), **_base(config)), None


class _StochasticDepth:
    """tfa's ``StochasticDepth()([shortcut, branch])`` as Keras 3 layers.

    tfa adds ``p * branch`` at inference and ``b * branch`` (b ~ Bernoulli(p)) in training;
    ``Rescaling(p)(kfx StochasticDepth(rate=1 - p)(branch))`` is the same in both.
    """

    def __init__(self, config):
        from kfx.layers import StochasticDepth

        keras = _keras()
        base = _base(config)
        name = base.pop("name")
        probability = float(config.get("survival_probability", 0.5))
        self.drop = StochasticDepth(1.0 - probability, name=f"{name}_drop", **base)
        self.scale = keras.layers.Rescaling(probability, name=f"{name}_scale", **base)
        self.add = keras.layers.Add(name=name, **base)

    def __call__(self, inputs, **kwargs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise Blocked(
                f"layer `{self.add.name}` (Addons>StochasticDepth): expected the "
                "inputs [shortcut, residual]"
            )
        shortcut, branch = inputs
        return self.add([shortcut, self.scale(self.drop(branch, **kwargs))])


#: TensorFlow Addons layer (saved as ``Addons>Name``) -> ``maker(builder, config)`` giving
#: ``(layer, weight setter or None)``; the notes come from K3401's table (``_addons.ADDONS``).
ADDONS_LAYERS = {
    "WeightNormalization": _weight_normalization,
    "GroupNormalization": _group_normalization,
    "InstanceNormalization": lambda builder, config: _group_normalization(builder, config, -1),
    "Maxout": _maxout,
    "StochasticDepth": lambda builder, config: (_StochasticDepth(config), None),
}


# -- layers and graphs ----------------------------------------------------------------------


def _is_ref(value) -> bool:
    return (
        isinstance(value, list)
        and len(value) in (3, 4)
        and isinstance(value[0], str)
        and isinstance(value[1], int)
        and isinstance(value[2], int)
    )


def _flat(value) -> list:
    if isinstance(value, (list, tuple)):
        return [item for part in value for item in _flat(part)]
    return [value]


def _skips_first_node(entry: dict) -> bool:
    """Keras 2's ``_should_skip_first_node``: a nested model built on an Input has a node of
    its own (input to output) that the outer config leaves out but still counts."""
    if entry["class_name"] in ("Functional", "Model"):
        return True
    if entry["class_name"] != "Sequential":
        return False
    layers = entry["config"].get("layers") or [{}]
    return layers[0].get("class_name") == "InputLayer"


class Builder:
    """Creates Keras 3 layers and models from Keras 2 configs, recording the conversions."""

    def __init__(self) -> None:
        self.conversion = Conversion()

    def _block(self, name, class_name, why):
        """Record why layer `name` cannot be converted; an Identity stands in for it, so
        that the rest of the model is still read and every blocked layer reported."""
        self.conversion.blocked.append(f"layer `{name}` ({class_name}): {why}")
        return _keras().layers.Identity(name=name)

    def layer(self, entry: dict):
        """The Keras 3 layer (or callable) for one Keras 2 ``{"class_name", "config"}``."""
        keras = _keras()
        class_name, config = entry["class_name"], dict(entry.get("config") or {})
        name = config.get("name", entry.get("name"))
        if class_name in ("Functional", "Model"):
            return self.functional(config)
        if class_name == "Sequential":
            return self.sequential(config)
        if class_name == "Lambda":
            return self._lambda(name, config)
        if class_name.startswith("Addons>"):
            short = class_name.split(">", 1)[1]
            if short not in ADDONS_LAYERS:
                return self._block(
                    name, class_name, "a TensorFlow Addons layer with no Keras 3 equivalent"
                )
            layer, setter = ADDONS_LAYERS[short](self, config)
            if setter is not None:
                self.conversion.weight_setters[id(layer)] = setter
            self.conversion.notes.append(
                (name, f"{class_name} becomes {_describe(layer)}", _hint(short))
            )
            return layer
        if class_name in ("TFOpLambda", "SlicingOpLambda"):
            return self._tf_op(name, class_name, config.get("function"))
        cls = (
            keras.saving.get_registered_object(class_name)
            if ">" in class_name
            else getattr(keras.layers, class_name, None)
        )
        if not (isinstance(cls, type) and issubclass(cls, keras.layers.Layer)):
            return self._block(name, class_name, "no Keras 3 layer of this name is registered")
        if "layer" in config and isinstance(config["layer"], dict):  # Wrapper, Bidirectional
            config["layer"] = self._serialized(config["layer"])
        if isinstance(config.get("backward_layer"), dict):
            config["backward_layer"] = self._serialized(config["backward_layer"])
        try:
            return cls.from_config(_clean(class_name, config))
        except (TypeError, ValueError) as error:
            return self._block(name, class_name, f"Keras 3 refuses its config: {error}")

    def _serialized(self, entry):
        return _keras().saving.serialize_keras_object(self.layer(entry))

    def _lambda(self, name, config):
        pattern = known_pattern(config)
        if pattern is None:
            return self._block(
                name,
                "Lambda",
                "its code is not a known pattern and is never run; replace it with a "
                "registered layer (K3301)",
            )
        import kfx.layers

        layer = getattr(kfx.layers, pattern.layer)(**pattern.arguments, **_base(config))
        arguments = ", ".join(f"{k}={v!r}" for k, v in pattern.arguments.items())
        note = f"Lambda (its code read, not run) becomes kfx.layers.{pattern.layer}({arguments})"
        self.conversion.notes.append((name, note, ""))
        return layer

    def _tf_op(self, name, class_name, function):
        if function not in TF_OPS:
            return self._block(
                name,
                class_name,
                f"a TensorFlow function (`tf.{function}`) applied to a Keras tensor, with no "
                "keras.ops equivalent of the same meaning; write it as keras.ops in a "
                "registered layer",
            )
        note = f"{class_name} `tf.{function}` becomes its keras.ops call in the graph"
        self.conversion.notes.append((name, note, ""))
        return TFOp(function)

    def _input(self, config: dict):
        keras = _keras()
        shape = config.get("batch_input_shape") or config.get("batch_shape")
        return keras.layers.InputLayer(
            batch_shape=tuple(shape),
            dtype=config.get("dtype") or "float32",
            sparse=bool(config.get("sparse", False)),
            name=config.get("name"),
        )

    def sequential(self, config: dict):
        """A Keras 3 ``Sequential`` for a Keras 2 Sequential config."""
        keras = _keras()
        entries = list(config.get("layers") or [])
        layers = []
        if entries and entries[0]["class_name"] == "InputLayer":
            layers.append(self._input(entries.pop(0)["config"]))
        elif entries and entries[0]["config"].get("batch_input_shape"):
            first = entries[0]["config"]
            layers.append(self._input({"batch_input_shape": first["batch_input_shape"]}))
        elif config.get("build_input_shape"):
            layers.append(self._input({"batch_input_shape": config["build_input_shape"]}))
        else:
            raise Blocked(f"model `{config.get('name')}` (Sequential): no input shape was saved")
        layers += [self.layer(entry) for entry in entries]
        return keras.Sequential(layers, name=config.get("name"))

    def functional(self, config: dict):
        """A Keras 3 functional model for a Keras 2 Functional config."""
        keras = _keras()
        made, calls = {}, {}  # name -> layer; (name, Keras 2 node index) -> outputs
        pending = []
        for entry in config["layers"]:
            name = entry.get("name", entry["config"].get("name"))
            if entry["class_name"] == "InputLayer":
                layer = self._input(entry["config"])
                calls[(name, 0)] = layer.output
                continue
            made[name] = self.layer(entry)
            offset = int(_skips_first_node(entry))
            pending += [(name, offset + i, node) for i, node in enumerate(entry["inbound_nodes"])]
        while pending:
            left = [call for call in pending if not self._call(made, calls, *call)]
            if len(left) == len(pending):
                raise Blocked(f"layer `{left[0][0]}`: its inputs are not in the model")
            pending = left

        def tensors(refs):
            return [_flat(calls[(ref[0], ref[1])])[ref[2]] for ref in refs]

        inputs, outputs = tensors(config["input_layers"]), tensors(config["output_layers"])
        return keras.Model(_single(inputs), _single(outputs), name=config.get("name"))

    def _call(self, made, calls, name, index, node) -> bool:
        """Call layer `name` on the tensors of Keras 2 `node`; False when not all exist yet."""
        refs = _flat_refs(node)
        if any(ref[0] != "_CONSTANT_VALUE" and (ref[0], ref[1]) not in calls for ref in refs):
            return False
        kwargs = {}
        for ref in refs:
            if len(ref) == 4 and ref[3]:
                kwargs = _resolve(ref[3], calls)

        args = _resolve(node, calls)
        if isinstance(args, list) and len(args) == 1:
            args = args[0]
        calls[(name, index)] = made[name](args, **kwargs)
        return True


def _single(tensors: list):
    """One tensor on its own, as Keras 2 returned it; several as a list."""
    return tensors[0] if len(tensors) == 1 else tensors


def _flat_refs(node) -> list:
    if _is_ref(node):  # with the references in its keyword arguments (a TFOpLambda's `y`)
        return [node, *(_flat_refs(node[3]) if len(node) == 4 else ())]
    if isinstance(node, dict):
        return [r for value in node.values() for r in _flat_refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _flat_refs(value)]
    return []


def _resolve(node, calls):
    """`node` with each reference replaced by its tensor (constants by their value)."""
    if _is_ref(node):
        if node[0] == "_CONSTANT_VALUE":
            return node[2]
        return _flat(calls[(node[0], node[1])])[node[2]]
    if isinstance(node, dict):
        return {k: _resolve(v, calls) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, calls) for v in node]
    return node


def _describe(layer) -> str:
    if isinstance(layer, _StochasticDepth):
        return (
            f"kfx.layers.StochasticDepth({layer.drop.rate:g}) on the branch, "
            f"Rescaling({layer.scale.scale:g}) and Add (tfa's outputs in training and inference)"
        )
    module = "kfx.layers" if type(layer).__module__.startswith("kfx") else "keras.layers"
    return f"{module}.{type(layer).__name__}"


def _hint(short: str) -> str:
    equivalent = ADDONS.get(f"layers.{short}")
    return f"`{equivalent.target}`: {equivalent.note}" if equivalent else ""


def build(model_config: dict) -> tuple[object | None, Conversion]:
    """The Keras 3 model (weights not set yet) for a Keras 2 ``model_config``, or None when
    a layer blocks the conversion; the :class:`Conversion` lists the notes and blocks."""
    builder = Builder()
    blocked = builder.conversion.blocked
    if model_config.get("class_name") not in _MODELS:
        blocked.append(f"the saved object is a {model_config.get('class_name')}, not a model")
        return None, builder.conversion
    try:
        model = builder.layer(model_config)
    except Blocked as error:
        blocked.append(str(error))
    except Exception as error:  # noqa: BLE001 - Keras' own message, reported as a finding
        if not blocked:  # otherwise a stand-in for a blocked layer is the likely cause
            blocked.append(f"Keras 3 cannot rebuild the model: {type(error).__name__}: {error}")
    return (None if blocked else model), builder.conversion


def set_weights(model, conversion: Conversion, groups: dict[str, list]) -> None:
    """Set `model`'s weights from Keras 2's ``{layer name: [(weight name, array), ...]}``.

    Raises:
        Blocked: a layer's stored weights do not fit its Keras 3 weights.
    """
    for name, entries in groups.items():
        if entries:
            _assign(model.get_layer(name), entries, conversion)


def _assign(layer, entries, conversion: Conversion) -> None:
    keras = _keras()
    setter = conversion.weight_setters.get(id(layer))
    if setter is not None:
        setter(entries)
    elif isinstance(layer, keras.Model):
        # A nested model's group lists its layers' weights as "<layer>/<weight>:0".
        owners = {sub.name for sub in layer.layers}
        by_owner: dict[str, list] = {}
        for name, value in entries:
            owner = next((part for part in name.split("/")[:-1] if part in owners), None)
            if owner is None:
                raise Blocked(f"weight `{name}` of `{layer.name}` belongs to none of its layers")
            by_owner.setdefault(owner, []).append((name, value))
        for owner, group in by_owner.items():
            _assign(layer.get_layer(owner), group, conversion)
    else:
        # Keras 2 stored trainable weights first, then the others (as Keras 3 lists them).
        targets = [*layer.trainable_weights, *layer.non_trainable_weights]
        stored = [tuple(value.shape) for _, value in entries]
        if [tuple(t.shape) for t in targets] != stored:
            raise Blocked(
                f"layer `{layer.name}`: stored weights {[n for n, _ in entries]} with shapes "
                f"{stored} do not fit its Keras 3 weights "
                f"{[(t.name, tuple(t.shape)) for t in targets]}"
            )
        for target, (_, value) in zip(targets, entries, strict=True):
            target.assign(value)
