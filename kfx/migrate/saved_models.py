"""``kfx migrate model.h5 --fix``: a Keras 2 saved model as a Keras 3 ``.keras`` file.

A Keras 2 full-model HDF5 file holds its model config (JSON, attribute ``model_config``)
and its weights (group ``model_weights``, one group per layer listing ``weight_names`` in
Keras 2's order). Both are read with h5py, without Keras 2: the config is rebuilt as a
Keras 3 model (:mod:`kfx.migrate._keras2_model`), the weights are set layer by layer, and
Keras 3 saves the result beside the original (``model.h5`` -> ``model.keras``, written to a
temporary file in the same folder, then renamed). The optimizer state and the compile
settings are not converted: compile the loaded model again.

Findings (all at line 1, column 1 of the file; like ``K3000`` they are not registry rules,
so ``--select`` / ``--ignore`` do not filter them):

- ``K3601`` (fixable): a Keras 2 model that ``--fix`` converts.
- ``K3602`` (fixable): a layer that becomes another class (a Lambda with a known pattern,
  a TensorFlow Addons layer) or ``keras.ops`` calls (a ``TFOpLambda``).
- ``K3603``: a layer that blocks the conversion (any other Lambda, a class Keras 3 lacks,
  a TensorFlow function without a same-meaning ``keras.ops`` call);
  no ``.keras`` file is written for that model.
- ``K3604``: a TensorFlow SavedModel folder, which Keras 3 cannot load as a model.
- ``K3000``: a file that is not readable HDF5 or not a full model (a weights-only file).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from kfx.migrate._finding import FILE_ERROR, Finding

CONVERTIBLE, CONVERTED_LAYER, BLOCKED, SAVED_MODEL = "K3601", "K3602", "K3603", "K3604"
#: The files ``kfx migrate`` converts, and the marker file of a SavedModel folder.
H5_SUFFIXES = (".h5", ".hdf5")
SAVED_MODEL_FILE = "saved_model.pb"

_BLOCKED_HINT = (
    "replace the layer in the Keras 2 code (a registered layer instead of a Lambda), "
    "save the model again and re-run"
)
_SAVED_MODEL_HINT = (
    "to serve it from Keras 3, `keras.layers.TFSMLayer(path, call_endpoint='serving_default')`"
    "; to keep training, load it in Keras 2, `model.save('model.h5')` and run `kfx migrate "
    "model.h5 --fix`; Keras 3 exports new SavedModels with `model.export(path)`"
)


class NotAModel(ValueError):
    """An HDF5 file that cannot be read or holds no Keras 2 full model."""


def is_saved_model_folder(path: str | os.PathLike) -> bool:
    """Whether `path` is a TensorFlow SavedModel folder (it holds ``saved_model.pb``)."""
    return (Path(path) / SAVED_MODEL_FILE).is_file()


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_h5(path: str | os.PathLike) -> tuple[dict, dict[str, list], str]:
    """``(model config, {layer: [(weight name, array)]}, Keras version)`` of a Keras 2 file.

    Raises:
        NotAModel: the file is not HDF5, or has no model config (a weights-only file).
    """
    import h5py
    import numpy as np

    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise NotAModel(f"cannot read it as HDF5: {error}") from error
    with handle:
        if "model_config" not in handle.attrs:
            kind = "a weights-only file" if "layer_names" in handle.attrs else "no Keras model"
            raise NotAModel(
                f"not a Keras 2 full model (no `model_config`: {kind}); load weights into "
                "a Keras 3 model with `model.load_weights(path)`"
            )
        try:
            config = json.loads(_text(handle.attrs["model_config"]))
        except ValueError as error:
            raise NotAModel(f"its `model_config` is not valid JSON: {error}") from error
        groups: dict[str, list] = {}
        weights = handle.get("model_weights", handle)
        for layer in weights.attrs.get("layer_names", []):
            group = weights[_text(layer)]
            names = [_text(n) for n in group.attrs.get("weight_names", [])]
            groups[_text(layer)] = [(n, np.asarray(group[n])) for n in names]
        version = _text(handle.attrs.get("keras_version", "unknown"))
    return config, groups, version


def _save_atomic(model, target: Path) -> None:
    """``model.save`` to a temporary ``.keras`` file beside `target`, then rename it."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".kfx-", suffix=".keras")
    os.close(handle)
    try:
        model.save(temporary)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _finding(path, rule: str, message: str, **kwargs) -> Finding:
    return Finding(str(path), 1, 1, rule, message, **kwargs)


def convert_h5(path: str | os.PathLike, output: str | os.PathLike | None = None) -> Path:
    """Convert the Keras 2 model in `path` to a Keras 3 ``.keras`` file; return its path.

    Args:
        path: a Keras 2 full-model ``.h5`` file.
        output: the ``.keras`` file to write (default: `path` with suffix ``.keras``).

    Raises:
        ValueError: naming the file and each reason it cannot be converted (a layer that
            blocks it, such as a ``Lambda`` of unknown code, or a file that is no model).
            Nothing is written then.

    Example:
        >>> import pathlib, tempfile, h5py
        >>> from kfx.migrate import convert_h5
        >>> weights = pathlib.Path(tempfile.mkdtemp()) / "w.h5"
        >>> h5py.File(weights, "w").attrs["layer_names"] = []
        >>> convert_h5(weights)
        Traceback (most recent call last):
        ...
        ValueError: kfx.migrate.convert_h5: .../w.h5: not a Keras 2 full model ...
    """
    target = Path(output) if output is not None else Path(path).with_suffix(".keras")
    left = [f for f in migrate_h5(path, target, write=True) if not f.fixed]
    if left:
        reasons = "; ".join(f.message for f in left)
        raise ValueError(f"kfx.migrate.convert_h5: {path}: {reasons}")
    return target


def migrate_h5(
    path: str | os.PathLike, output: str | os.PathLike | None = None, *, write: bool = True
) -> list[Finding]:
    """What ``kfx migrate`` reports for a Keras 2 ``.h5`` file; with `write`, also convert it.

    Args:
        path: a Keras 2 full-model ``.h5`` file.
        output: the ``.keras`` file to write (default: `path` with suffix ``.keras``).
        write: False to only report (``kfx migrate`` without ``--fix``, or with ``--diff``).

    Returns:
        The findings: ``fixed=True`` on those the written file resolves. Nothing is written
        when a layer blocks the conversion (``K3603``) or the file is not a model (``K3000``).

    Example:
        >>> import pathlib, tempfile
        >>> from kfx.migrate.saved_models import migrate_h5
        >>> weights = pathlib.Path(tempfile.mkdtemp()) / "w.h5"
        >>> import h5py; h5py.File(weights, "w").attrs["layer_names"] = []
        >>> [(f.rule, f.message[:31]) for f in migrate_h5(weights)]
        [('K3000', 'not a Keras 2 full model (no `m')]
    """
    target = Path(output) if output is not None else Path(path).with_suffix(".keras")
    try:
        config, groups, version = read_h5(path)
    except NotAModel as error:
        return [_finding(path, FILE_ERROR, str(error))]
    from kfx.migrate import _keras2_model

    model, conversion = _keras2_model.build(config)
    if model is not None:
        try:
            _keras2_model.set_weights(model, conversion, groups)
        except (_keras2_model.Blocked, ValueError, KeyError) as error:
            conversion.blocked.append(f"weights: {error}")
    blocked = [_finding(path, BLOCKED, m, fix=_BLOCKED_HINT) for m in conversion.blocked]
    if blocked:
        return blocked
    layers = [
        _finding(path, CONVERTED_LAYER, f"layer `{name}`: {note}", fixable=True, fix=hint)
        for name, note, hint in conversion.notes
    ]
    fix = f"`kfx migrate {Path(path).name} --fix` writes {target.name}"
    head = _finding(
        path,
        CONVERTIBLE,
        f"Keras 2 model (Keras {version}, legacy HDF5): convertible to Keras 3",
        fixable=True,
        fix=fix,
    )
    findings = [head, *layers]
    if not write:
        return findings
    try:
        _save_atomic(model, target)
    except OSError as error:
        return [_finding(path, FILE_ERROR, f"cannot write {target}: {error.strerror}"), *findings]
    return [Finding(**{**f.to_dict(), "fixed": True}) for f in findings]


def saved_model_findings(path: str | os.PathLike) -> list[Finding]:
    """The finding for a TensorFlow SavedModel folder: how to serve or convert it."""
    return [
        _finding(
            path,
            SAVED_MODEL,
            "TensorFlow SavedModel folder: Keras 3 cannot load it as a model "
            "(`keras.saving.load_model` reads .keras files)",
            fix=_SAVED_MODEL_HINT,
        )
    ]
