"""TensorBoard event files written with the tensorboard package alone, one atomic file per call.

TensorFlow's summary writers need TensorFlow and keep a file open for appending: a full disk
or a folder removed under them leaves a cut-short file, or loses events silently. kfx builds
the same protocol buffers (the v2 tensor format that ``tf.summary`` writes) and writes each
batch of summaries as one complete event file, atomically (temporary file, then rename). It
works under every Keras backend and never imports TensorFlow; TensorBoard reads every event
file of a run folder in name order, so a run may hold many. The protocol buffers and plugin
metadata come from :mod:`kfx._tensorboard`, the one module that reaches into tensorboard; the
record framing (TFRecord) is written and read here.

Example:
    >>> import tempfile, numpy as np
    >>> from kfx import _events
    >>> run = tempfile.mkdtemp()
    >>> path = _events.write_event_file(run, [(3, [_events.scalar("loss", 0.5),
    ...     _events.histogram("dense/activations", np.array([0.0, 1.0, 2.0]), np.array([4, 6]))])])
    >>> [e.step for e in _events.read_events(path)], path.name.startswith("events.out.tfevents.")
    ([0, 3], True)
"""

from __future__ import annotations

import io
import itertools
import os
import socket
import struct
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from kfx import _io
from kfx._tensorboard import (
    event_pb2,
    histogram_metadata,
    image_metadata,
    masked_crc32c,
    scalar_metadata,
    summary_pb2,
    tensor_util,
)

_FILE_COUNTER = itertools.count()
# A TFRecord: uint64 length, uint32 masked CRC of the length, data, uint32 masked CRC of data.
_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")

Value = summary_pb2.Summary.Value


def scalar(tag: str, value: float) -> Value:
    """A scalar summary value (``tf.summary.scalar``'s format)."""
    return Value(
        tag=tag,
        metadata=scalar_metadata.create_summary_metadata(display_name=tag, description=""),
        tensor=tensor_util.make_tensor_proto(np.float32(value)),
    )


def histogram(tag: str, edges: np.ndarray, counts: np.ndarray) -> Value:
    """A histogram from bucket edges (k+1) and counts (k) (``tf.summary.histogram``'s format)."""
    edges = np.asarray(edges, np.float64)
    counts = np.asarray(counts, np.float64)
    buckets = np.stack([edges[:-1], edges[1:], counts], axis=1)
    return Value(
        tag=tag,
        metadata=histogram_metadata.create_summary_metadata(display_name=tag, description=""),
        tensor=tensor_util.make_tensor_proto(buckets),
    )


def image(tag: str, pixels: np.ndarray) -> Value:
    """A grayscale image summary from a 2D uint8 array (``tf.summary.image``'s format)."""
    height, width = pixels.shape
    data = np.array([str(width).encode(), str(height).encode(), png(pixels)], dtype=object)
    return Value(
        tag=tag,
        metadata=image_metadata.create_summary_metadata(display_name=tag, description=""),
        tensor=tensor_util.make_tensor_proto(data, dtype="string", shape=[3]),
    )


def png(pixels: np.ndarray) -> bytes:
    """The PNG file of a 2D uint8 array (8-bit grayscale), without any imaging library."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width = pixels.shape
    raw = b"".join(b"\x00" + pixels[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def write_event_file(
    folder: str | os.PathLike,
    steps: Iterable[tuple[int, Sequence[Value] | summary_pb2.Summary]],
    wall_time: float | None = None,
    *,
    name: str | None = None,
) -> Path:
    """Write ``(step, values)`` pairs as one new event file in `folder`, atomically.

    `name` replaces the default unique file name (a file of that name is then replaced).
    Returns the file's path. Raises OSError when the folder cannot be written (nothing is left
    behind then).
    """
    wall_time = time.time() if wall_time is None else wall_time
    buffer = io.BytesIO()
    _write_record(
        buffer,
        event_pb2.Event(wall_time=wall_time, file_version="brain.Event:2").SerializeToString(),
    )
    for step, values in steps:
        summary = (
            values
            if isinstance(values, summary_pb2.Summary)
            else summary_pb2.Summary(value=list(values))
        )
        event = event_pb2.Event(wall_time=wall_time, step=int(step), summary=summary)
        _write_record(buffer, event.SerializeToString())
    # Names sort in writing order: TensorBoard reads a run's files in name order.
    name = name or (
        f"events.out.tfevents.{int(wall_time):010d}.{socket.gethostname()}"
        f".{os.getpid()}.{next(_FILE_COUNTER):06d}"
    )
    path = Path(folder) / name
    with _io.atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return path


def _write_record(file: io.BytesIO, data: bytes) -> None:
    """Append `data` to `file` as one TFRecord (see :data:`_LENGTH`)."""
    header = _LENGTH.pack(len(data))
    file.write(header + _CRC.pack(masked_crc32c(header)) + data + _CRC.pack(masked_crc32c(data)))


def read_events(path: str | os.PathLike) -> Iterator[event_pb2.Event]:
    """The events of one event file, checking each record's CRC; stops at a partial record."""
    data = Path(path).read_bytes()
    offset = 0
    while offset + _LENGTH.size + _CRC.size <= len(data):
        header = data[offset : offset + _LENGTH.size]
        (length,) = _LENGTH.unpack(header)
        body_start = offset + _LENGTH.size + _CRC.size
        body_end = body_start + length
        if body_end + _CRC.size > len(data):
            return
        (header_crc,) = _CRC.unpack(data[offset + _LENGTH.size : body_start])
        body = data[body_start:body_end]
        (body_crc,) = _CRC.unpack(data[body_end : body_end + _CRC.size])
        if header_crc != masked_crc32c(header) or body_crc != masked_crc32c(body):
            raise ValueError(f"read_events: corrupt record at byte {offset} of {path}")
        yield event_pb2.Event.FromString(body)
        offset = body_end + _CRC.size
