"""The one kfx module that imports tensorboard's internals: its protocol buffers and plugin helpers.

kfx writes TensorBoard event files itself, without TensorFlow, so that the loggers and the
HParams summaries work the same under every Keras backend (see :mod:`kfx._events`).
tensorboard's public, TensorFlow-free writer (``tensorboard.summary.Writer``) writes scalars
only, into a file it keeps open; histograms, images and the HParams dashboard's experiment and
sessions need the summary protocol buffers and each plugin's metadata helpers, which
tensorboard ships but does not declare public. They are imported here and nowhere else
(tests/test_package.py fails for any other kfx module importing under ``tensorboard.``,
its public entry points aside), so a tensorboard release that moves one is fixed in this file.

Pinned by feature detection: every module and name kfx uses is checked at import, and a
missing one fails with an ImportError naming it and the tested versions, instead of event
files that TensorBoard cannot read. Tested with tensorboard :data:`TESTED`.

What is used:

- ``event_pb2.Event``, ``summary_pb2.Summary``: the records of an event file.
- ``masked_crc32c``: the checksum of each TFRecord (tensorboard's TensorFlow stub).
- ``tensor_util.make_tensor_proto``: numpy arrays to ``TensorProto``.
- ``scalar_metadata``, ``histogram_metadata``, ``image_metadata``: ``create_summary_metadata``
  of the scalar, histogram and image plugins (the format ``tf.summary`` writes).
- ``hparams_api_pb2``, ``hparams_plugin_data_pb2``, ``hparams_metadata``: the HParams plugin's
  experiment, session start and end messages, its tags and parsers (kfx.tuning.hparams).

Example:
    >>> from kfx import _tensorboard as tb
    >>> tb.summary_pb2.Summary(value=[tb.summary_pb2.Summary.Value(tag="loss")]).value[0].tag
    'loss'
    >>> hex(tb.masked_crc32c(b""))  # TFRecord's masked CRC-32C of no bytes
    '0xa282ead8'
"""

from __future__ import annotations

from types import ModuleType

#: The tensorboard releases this module was checked against.
TESTED = "2.21"

try:
    import tensorboard
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.compat.tensorflow_stub import pywrap_tensorflow
    from tensorboard.plugins.histogram import metadata as histogram_metadata
    from tensorboard.plugins.hparams import api_pb2 as hparams_api_pb2
    from tensorboard.plugins.hparams import metadata as hparams_metadata
    from tensorboard.plugins.hparams import plugin_data_pb2 as hparams_plugin_data_pb2
    from tensorboard.plugins.image import metadata as image_metadata
    from tensorboard.plugins.scalar import metadata as scalar_metadata
    from tensorboard.util import tensor_util
except ImportError as err:  # pragma: no cover - depends on the installed tensorboard
    raise ImportError(
        f"kfx writes TensorBoard files with tensorboard's own protocol buffers, and "
        f"{err.name or err} cannot be imported from the installed tensorboard (kfx is tested "
        f"with tensorboard {TESTED}): pip install 'tensorboard>=2.16'"
    ) from err

#: Every name kfx uses, by module: checked at import by :func:`check_names`.
USED = {
    event_pb2: ("Event",),
    summary_pb2: ("Summary", "SummaryMetadata"),
    pywrap_tensorflow: ("masked_crc32c",),
    tensor_util: ("make_tensor_proto",),
    scalar_metadata: ("create_summary_metadata",),
    histogram_metadata: ("create_summary_metadata",),
    image_metadata: ("create_summary_metadata",),
    hparams_api_pb2: (
        "Experiment",
        "HParamInfo",
        "Interval",
        "MetricInfo",
        "MetricName",
        "DATA_TYPE_BOOL",
        "DATA_TYPE_FLOAT64",
        "DATA_TYPE_STRING",
        "STATUS_SUCCESS",
        "STATUS_FAILURE",
        "STATUS_RUNNING",
        "STATUS_UNKNOWN",
    ),
    hparams_plugin_data_pb2: ("HParamsPluginData", "SessionStartInfo", "SessionEndInfo"),
    hparams_metadata: (
        "EXPERIMENT_TAG",
        "SESSION_START_INFO_TAG",
        "SESSION_END_INFO_TAG",
        "NULL_TENSOR",
        "create_summary_metadata",
        "parse_session_start_info_plugin_data",
        "parse_session_end_info_plugin_data",
    ),
}


def check_names(used: dict[ModuleType, tuple[str, ...]], version: str) -> None:
    """Raise ImportError naming every ``module.name`` of `used` that is missing.

    Args:
        used: the names needed, by module (:data:`USED`).
        version: the installed tensorboard version, for the message.

    Example:
        >>> import types
        >>> from kfx._tensorboard import check_names
        >>> check_names({types: ("ModuleType",)}, "2.21.0")
        >>> check_names({types: ("ModuleType", "Gone")}, "9.0")
        Traceback (most recent call last):
        ...
        ImportError: kfx needs types.Gone, which tensorboard 9.0 lacks (kfx is tested with tensorboard 2.21)
    """
    missing = [
        f"{module.__name__}.{name}"
        for module, names in used.items()
        for name in names
        if not hasattr(module, name)
    ]
    if missing:
        raise ImportError(
            f"kfx needs {', '.join(missing)}, which tensorboard {version} lacks "
            f"(kfx is tested with tensorboard {TESTED})"
        )


check_names(USED, getattr(tensorboard, "__version__", "(unknown version)"))

masked_crc32c = pywrap_tensorflow.masked_crc32c

__all__ = [
    "TESTED",
    "USED",
    "check_names",
    "event_pb2",
    "histogram_metadata",
    "hparams_api_pb2",
    "hparams_metadata",
    "hparams_plugin_data_pb2",
    "image_metadata",
    "masked_crc32c",
    "scalar_metadata",
    "summary_pb2",
    "tensor_util",
]
