"""ActivationLogger: layer activations to TensorBoard and npz at the end of chosen epochs.

The activations are reduced to histogram counts and moments where they live and only those
small arrays come back to the host, and nothing runs on other epochs or on batches, so
logging stays a small part of training (docs/monitoring.md, "What it costs", has the figures).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from kfx import _events, _io
from kfx._validation import check_positive_int, fail
from kfx.callbacks._data import read_data
from kfx.callbacks._epoch_logger import EpochLogger
from kfx.callbacks._stats import BINS, FirstSample, Summary, feature_map_grid, reduce_tensor
from kfx.callbacks._stats import stats as reduced_stats

#: The TensorBoard run (sub-folder of `log_dir`) that activations go to.
RUN = "activations"


class ActivationLogger(EpochLogger):
    """Record the chosen layers' outputs at the end of every n-th epoch.

    At ``on_train_begin`` an activation model is built per trained model: it shares the
    model's layers (so it sees training progress) and outputs the chosen layers. At the end
    of a logging epoch it runs once on the first `max_samples` samples of `data`; histogram
    counts and moments are computed where the activations live and only small arrays come
    back (raw activations only when npz files are written, one sample's feature maps only
    for images). On JAX the reductions are layers inside the activation model, compiled with
    it by ``predict_on_batch``; on TensorFlow they run eagerly with ``keras.ops`` (small
    activations are copied and reduced with numpy, cheaper than a dozen device ops).
    Nothing runs on other epochs or on batches.

    Layer paths are those of :func:`kfx.templates.feature_extractor`: a nested model's layers
    are ``"outer/inner"``, the k-th call of a shared layer is ``"name:k"``, a layer with
    several outputs gives ``"name[0]"``, ``"name[1]"``.

    Outputs (the TensorBoard step is the 0-based epoch, as in ``keras.callbacks.TensorBoard``):

    - ``log_dir/activations/``: per layer a histogram ``PATH/activations`` and scalars
      ``PATH/activation_mean``, ``PATH/activation_std``, ``PATH/activation_zero_fraction``;
      with ``images=True`` a grid of the first sample's feature maps ``PATH/feature_maps``
      for 2D feature maps. One event file per logged epoch, written atomically.
    - ``npz_dir/activations_epoch_0001.npz`` (1-based epoch, like ``ModelCheckpoint``):
      the raw activations, one array ``(max_samples, ...)`` per layer path, written
      atomically; writing stops with one warning before the files would exceed `max_npz_mb`.

    Args:
        data: the samples to record: an array, a list or dict of arrays, a tuple ``(x, y)``
            (targets are ignored), or a ``tf.data.Dataset``; read once, at construction.
        log_dir: TensorBoard folder, or None.
        npz_dir: folder of the npz files, or None.
        layers: None (every layer), a list of layer paths, or a regex searched in the paths.
        every_n_epochs: log at the end of epochs n, 2n, ...
        max_samples: samples of `data` to record.
        histograms: whether to write histograms (the scalars are always written).
        images: whether to write feature-map images of layers with 2D feature maps.
        max_npz_mb: size cap of all npz files together, in megabytes.

    Raises:
        ValueError: at construction for bad arguments or data; at ``on_train_begin`` for
            paths that match no layer.
        kfx.templates.NotAGraphModelError: at ``on_train_begin``, for a model without a
            functional graph (subclassed); a ValueError too.

    Example:
        >>> import tempfile, keras, numpy as np
        >>> from kfx.callbacks import ActivationLogger
        >>> x = np.random.default_rng(0).random((32, 4), dtype="float32")
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="hidden"),
        ...                           keras.layers.Dense(1, name="score")])
        >>> model.compile("sgd", "mse")
        >>> npz_dir = tempfile.mkdtemp()
        >>> logger = ActivationLogger(x, npz_dir=npz_dir, max_samples=2)
        >>> _ = model.fit(x, x[:, :1], epochs=1, verbose=0, callbacks=[logger])
        >>> saved = np.load(f"{npz_dir}/activations_epoch_0001.npz")
        >>> {key: saved[key].shape for key in saved}
        {'hidden': (2, 3), 'score': (2, 1)}
    """

    _TRANSIENT = (
        "_extractor",
        "_summarizer",
        "_layout",
        "_tb_dir",
        "_npz_dir_ok",
        "_channels_last",
    )

    def __init__(
        self,
        data: Any,
        *,
        log_dir: str | os.PathLike | None = None,
        npz_dir: str | os.PathLike | None = None,
        layers: str | Sequence[str] | None = None,
        every_n_epochs: int = 1,
        max_samples: int = 1,
        histograms: bool = True,
        images: bool = False,
        max_npz_mb: float = 100,
    ):
        super().__init__(every_n_epochs)
        where = type(self).__name__
        check_positive_int(where, "max_samples", max_samples)
        if (
            isinstance(max_npz_mb, bool)
            or not isinstance(max_npz_mb, (int, float))
            or max_npz_mb <= 0
        ):
            fail(where, "max_npz_mb", max_npz_mb, "a number of megabytes > 0")
        if log_dir is None and npz_dir is None:
            fail(where, "log_dir/npz_dir", None, "at least one folder to write to")
        self.x, _ = read_data(data, max_samples, where)
        self.log_dir = None if log_dir is None else Path(log_dir)
        self.npz_dir = None if npz_dir is None else Path(npz_dir)
        self.layers = layers
        self.max_samples = max_samples
        self.histograms = bool(histograms)
        self.images = bool(images)
        self.max_npz_mb = max_npz_mb
        #: Bytes of npz written so far; the files written.
        self.npz_bytes = 0
        self.npz_files: list[Path] = []
        self._extractor = None
        self._summarizer = None

    def on_train_begin(self, logs=None):
        from kfx.templates import NotAGraphModelError, feature_extractor

        model = self.model
        where = type(self).__name__
        try:
            self._extractor = feature_extractor(
                model, "all" if self.layers is None else self.layers
            )
        except NotAGraphModelError:
            NotAGraphModelError.refuse(
                where,
                "model",
                f"{type(model).__name__} {model.name!r} without a functional graph",
                "a functional model, a Sequential that starts with keras.Input, or models "
                "nesting them (wrap a subclassed model's call in a functional model)",
            )
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from err
        self._channels_last = keras.config.image_data_format() == "channels_last"
        self._summarizer, self._layout = self._summary_model(self._extractor)
        self._tb_dir = self._prepare_dir(
            None if self.log_dir is None else self.log_dir / RUN, "TensorBoard"
        )
        self._npz_dir_ok = self._prepare_dir(self.npz_dir, "npz")

    def activations(self) -> dict[str, Any]:
        """The chosen layers' outputs on the recorded samples, as backend tensors, by path."""
        if self._extractor is None:
            fail(
                type(self).__name__,
                "activations()",
                "a call before training",
                "a call after on_train_begin",
            )
        return dict(self._extractor(self.x, training=False))

    def _summary_model(self, extractor: keras.Model) -> tuple[keras.Model | None, dict]:
        """One model for everything a logging epoch needs, compiled once by ``predict``.

        Its outputs, per float layer output: the reductions (:class:`Summary`, computed where
        the activations live), the raw values when npz files are written, the first sample
        of 2D feature maps when images are. `layout` maps each path to its output indices.
        Built on JAX only, where each eager op compiles on first use, so one compiled model
        beats a dozen eager ops from the first log on. On TensorFlow eager ops are cheap and
        tracing a predict function is not, and under a tf.distribute strategy ``predict``
        would reduce each replica's share apart: there :meth:`_results` computes the same
        list eagerly (the reductions still run with ``keras.ops`` where large activations
        live). docs/monitoring.md gives the measured times.
        """
        compiled = keras.backend.backend() == "jax"
        outputs, layout, count = [], {}, 0
        for i, (path, tensor) in enumerate(extractor.output.items()):
            if not _is_float(tensor):
                continue
            slots = ["moments", "counts"]
            slots += ["values"] if self.npz_dir is not None else []
            slots += ["first"] if self.images and len(tensor.shape) == 4 else []
            layout[path] = {slot: count + k for k, slot in enumerate(slots)}
            count += len(slots)
            if compiled:
                outputs += [*Summary(BINS, name=f"kfx_summary_{i}")(tensor)]
                outputs += [tensor] if "values" in slots else []
                outputs += [FirstSample(name=f"kfx_first_{i}")(tensor)] if "first" in slots else []
        if not compiled:
            return None, layout
        return keras.Model(extractor.inputs, outputs, name=f"{extractor.name}_summary"), layout

    def _results(self) -> list:
        """The summary model's outputs for the recorded samples (eagerly without one)."""
        if self._summarizer is not None:
            return self._summarizer.predict_on_batch(self.x)
        results: list = [None] * (1 + max(max(e.values()) for e in self._layout.values()))
        for path, tensor in self.activations().items():
            entry = self._layout.get(path)
            if entry is None:
                continue
            results[entry["moments"]], results[entry["counts"]] = reduce_tensor(tensor, BINS)
            if "values" in entry:
                results[entry["values"]] = keras.ops.convert_to_numpy(tensor)
            if "first" in entry:
                results[entry["first"]] = keras.ops.convert_to_numpy(tensor[:1])
        return results

    def _log(self, epoch: int) -> None:
        results = self._results()
        if self._usable(self._tb_dir, "TensorBoard"):
            try:
                _events.write_event_file(self._tb_dir, [(epoch, self._summaries(results))])
            except OSError as err:
                self._warn("TensorBoard", f"could not write to {str(self._tb_dir)!r} ({err})")
        if self._npz_dir_ok is not None and self._usable(self._npz_dir_ok, "npz"):
            arrays = {path: np.asarray(results[e["values"]]) for path, e in self._layout.items()}
            self._write_npz(epoch, arrays)

    def _summaries(self, results: list) -> list:
        values = []
        for path, entry in self._layout.items():
            counts = np.asarray(results[entry["counts"]])
            stats = reduced_stats(results[entry["moments"]], counts, int(counts.sum()))
            if self.histograms:
                values.append(
                    _events.histogram(f"{path}/activations", stats["edges"], stats["counts"])
                )
            for name in ("mean", "std", "zero_fraction"):
                values.append(_events.scalar(f"{path}/activation_{name}", stats[name]))
            if "first" in entry:
                grid = feature_map_grid(np.asarray(results[entry["first"]])[0], self._channels_last)
                values.append(_events.image(f"{path}/feature_maps", grid))
        return values

    def _write_npz(self, epoch: int, arrays: dict[str, np.ndarray]) -> None:
        size = sum(a.nbytes for a in arrays.values())
        if self.npz_bytes + size > self.max_npz_mb * 2**20:
            self._warn(
                "npz-cap",
                f"npz files would exceed max_npz_mb={self.max_npz_mb} "
                f"({self.npz_bytes / 2**20:.1f} MB written), npz output stops",
            )
            self._npz_dir_ok = None
            return
        path = self._npz_dir_ok / f"activations_epoch_{epoch + 1:04d}.npz"
        try:
            with _io.atomic_path(path) as tmp, open(tmp, "wb") as file:
                np.savez(file, **arrays)
        except OSError as err:
            self._warn("npz", f"could not write {str(path)!r} ({err})")
            return
        self.npz_bytes += size
        self.npz_files.append(path)


def _is_float(value: Any) -> bool:
    return "float" in str(keras.backend.standardize_dtype(value.dtype))
