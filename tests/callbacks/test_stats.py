import keras
import numpy as np
import pytest

from kfx.callbacks._stats import feature_map_grid, summarize


@pytest.mark.parametrize("device_min_size", [0, 10**9], ids=["device", "host"])
def test_summary_matches_numpy(device_min_size):
    values = np.random.default_rng(0).normal(size=(3, 50, 7)).astype(np.float32)
    values[values < -1] = 0.0
    stats = summarize(keras.ops.convert_to_tensor(values), 30, device_min_size)
    counts, edges = np.histogram(values, bins=30, range=(values.min(), values.max()))
    np.testing.assert_allclose(stats["edges"], edges, rtol=1e-6)
    assert np.abs(stats["counts"] - counts).sum() <= 2  # float rounding at bucket edges
    assert stats["counts"].sum() == values.size
    assert stats["mean"] == pytest.approx(values.mean(), abs=1e-6)
    assert stats["std"] == pytest.approx(values.std(), rel=1e-4)
    assert stats["zero_fraction"] == pytest.approx(np.mean(values == 0))
    assert stats["norm"] == pytest.approx(np.linalg.norm(values), rel=1e-5)


def test_constant_tensor_gets_one_centred_bucket():
    stats = summarize(np.full((4, 4), 2.0, np.float32), bins=5)
    assert stats["edges"][0] == 1.5 and stats["edges"][-1] == 2.5 and stats["counts"].sum() == 16


def test_feature_map_grid_tiles_and_scales_each_map():
    maps = np.stack([np.full((3, 4), c, np.float32) + np.arange(4) for c in range(5)], axis=-1)
    grid = feature_map_grid(maps)
    assert grid.shape == (2 * 4 - 1, 3 * 5 - 1)  # 5 maps in a 2x3 grid with 1-pixel gaps
    np.testing.assert_array_equal(grid[0, :4], [0, 85, 170, 255])
    assert feature_map_grid(np.zeros((4, 4))) is None
    np.testing.assert_array_equal(
        feature_map_grid(np.moveaxis(maps, -1, 0), channels_last=False), grid
    )
