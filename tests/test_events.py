import zlib

import numpy as np
import pytest

from kfx import _events


def test_png_decodes_to_the_same_pixels():
    pixels = (np.arange(12 * 7).reshape(7, 12) % 256).astype(np.uint8)
    data = _events.png(pixels)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    # IHDR width/height, then inflate IDAT and drop each row's filter byte.
    assert int.from_bytes(data[16:20], "big") == 12 and int.from_bytes(data[20:24], "big") == 7
    start = data.index(b"IDAT") + 4
    length = int.from_bytes(data[start - 8 : start - 4], "big")
    raw = np.frombuffer(zlib.decompress(data[start : start + length]), np.uint8).reshape(7, 13)
    np.testing.assert_array_equal(raw[:, 1:], pixels)


def test_event_file_round_trip_and_atomic_failure(tmp_path):
    values = [
        _events.scalar("a", 1.5),
        _events.histogram("h", np.array([0.0, 1.0, 3.0]), np.array([2, 5])),
    ]
    path = _events.write_event_file(tmp_path, [(0, values), (7, values[:1])])
    events = list(_events.read_events(path))
    assert [e.step for e in events] == [0, 0, 7] and events[0].file_version == "brain.Event:2"
    assert [v.tag for v in events[1].summary.value] == ["a", "h"]
    blocked = tmp_path / "file"
    blocked.write_text("x")
    with pytest.raises(OSError):
        _events.write_event_file(blocked / "run", [(0, values)])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, "file"])


def test_cut_short_file_stops_reading_and_corruption_is_reported(tmp_path):
    path = _events.write_event_file(tmp_path, [(1, [_events.scalar("a", 1.0)])])
    data = path.read_bytes()
    path.write_bytes(data[:-3])
    assert len(list(_events.read_events(path))) == 1  # the header only
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(ValueError, match="corrupt record"):
        list(_events.read_events(path))
