"""kfx/_gpus.py: the GPUs a launcher may hand out, and one slice per worker."""

import shutil

import pytest

from kfx._gpus import gpu_slices, visible_gpus


def test_visible_gpus_in_order_of_their_sources():
    assert visible_gpus({"KFX_GPU_COUNT": "3", "CUDA_VISIBLE_DEVICES": "5"}) == ["0", "1", "2"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "5, 7"}) == ["5", "7"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "-1"}) == []  # TensorFlow's "no GPU"
    assert visible_gpus({"KFX_GPU_COUNT": "0"}) == []


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has GPUs")
def test_no_gpu_here_without_nvidia_smi():
    assert visible_gpus({}) == []


def test_slices_are_disjoint_and_in_order():
    assert gpu_slices(4, 2, {"KFX_GPU_COUNT": "8"}) == ["0,1", "2,3", "4,5", "6,7"]
    assert gpu_slices(2, 1, {"CUDA_VISIBLE_DEVICES": "3,1,2"}) == ["3", "1"]


def test_bad_counts():
    with pytest.raises(ValueError, match=r"environment variable `KFX_GPU_COUNT` got 'two'"):
        visible_gpus({"KFX_GPU_COUNT": "two"})
    with pytest.raises(ValueError, match=r"`gpus_per_worker` got 0; expected an int >= 1"):
        gpu_slices(2, 0, {"KFX_GPU_COUNT": "4"})
    with pytest.raises(ValueError, match=r"at most 2 GPUs for each of 2 workers: 5 visible"):
        gpu_slices(2, 3, {"KFX_GPU_COUNT": "5"})
