"""kfx._tensorboard: the one module that imports tensorboard internals, checked at import."""

import types

import pytest
import tensorboard

from kfx import _events
from kfx import _tensorboard as tb


def test_every_name_kfx_uses_is_there():
    tb.check_names(tb.USED, tensorboard.__version__)
    for module, names in tb.USED.items():
        assert all(callable(getattr(module, n)) or getattr(module, n) is not None for n in names)
    assert set(tb.__all__) <= set(dir(tb))


def test_a_missing_name_fails_with_the_names_and_versions():
    namespace = types.ModuleType("tensorboard.plugins.fake")
    namespace.present = 1
    with pytest.raises(ImportError) as info:
        tb.check_names({namespace: ("present", "moved", "gone")}, "9.9")
    message = str(info.value)
    assert "tensorboard.plugins.fake.moved, tensorboard.plugins.fake.gone" in message
    assert "tensorboard 9.9" in message and tb.TESTED in message
    assert "present" not in message


def test_the_checksum_is_tensorflows_masked_crc32c():
    # Reference values of TFRecord's masked CRC-32C (crc32c("") == 0, "a" == 0xC1D04330).
    assert tb.masked_crc32c(b"") == 0xA282EAD8
    crc = 0xC1D04330
    assert (
        tb.masked_crc32c(b"a")
        == ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF
    )


def test_events_build_their_records_from_these_protocol_buffers(tmp_path):
    value = _events.scalar("loss", 0.25)
    assert isinstance(value, tb.summary_pb2.Summary.Value)
    assert value.metadata.plugin_data.plugin_name == "scalars"
    path = _events.write_event_file(tmp_path, [(2, [value])])
    first, second = _events.read_events(path)
    assert isinstance(second, tb.event_pb2.Event) and second.step == 2
