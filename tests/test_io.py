import os
import stat

import pytest

from kfx import _io


def test_written_files_get_the_usual_mode_not_mkstemps(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    written = _io.write_text(tmp_path / "atomic.txt", "x")
    assert stat.S_IMODE(os.stat(written).st_mode) == stat.S_IMODE(os.stat(plain).st_mode)


def test_failure_inside_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = _io.write_text(tmp_path / "a.txt", "old")
    with pytest.raises(RuntimeError), _io.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash while writing")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["a.txt"]


def test_save_model_needs_a_keras_suffix(tmp_path):
    with pytest.raises(ValueError, match="save_model.*'.keras'"):
        _io.save_model(None, tmp_path / "model.h5")


def test_write_bytes_makes_the_folder_keeps_the_mode_and_cleans_up(tmp_path):
    target = _io.write_bytes(tmp_path / "new" / "deeper" / "state.json", b"{}")
    assert target.read_bytes() == b"{}"
    plain = tmp_path / "plain"
    plain.write_bytes(b"x")
    assert stat.S_IMODE(os.stat(target).st_mode) == stat.S_IMODE(os.stat(plain).st_mode)
    with pytest.raises(TypeError):
        _io.write_bytes(target, "not bytes")
    assert target.read_bytes() == b"{}" and os.listdir(target.parent) == ["state.json"]
