"""A real TensorBoard process on 127.0.0.1 reads what the kfx loggers wrote."""

import numpy as np

from kfx.callbacks import ActivationLogger, GradientLogger


def test_tensorboard_lists_the_runs_and_activation_tags(
    tmp_path, tensorboard_server, small_cnn, image_data
):
    x, y = image_data()
    logs = tmp_path / "logs"
    callbacks = [
        ActivationLogger(x, log_dir=logs, images=True),
        GradientLogger((x, y), log_dir=logs),
    ]
    small_cnn().fit(x, y, epochs=2, verbose=0, callbacks=callbacks)

    server = tensorboard_server(logs)
    histograms = server.poll_json(
        "/data/plugin/histograms/tags", lambda tags: {"activations", "gradients"} <= set(tags)
    )
    assert {"activations", "gradients"} <= set(server.get_json("/data/runs"))
    assert set(histograms["activations"]) == {
        f"{p}/activations" for p in ("conv1", "pool", "conv2", "gap", "probs")
    }
    assert "conv2/kernel/gradient" in histograms["gradients"]
    scalars = server.get_json("/data/plugin/scalars/tags")
    assert "conv1/activation_zero_fraction" in scalars["activations"]
    images = server.get_json("/data/plugin/images/tags")
    assert set(images["activations"]) == {
        "conv1/feature_maps",
        "pool/feature_maps",
        "conv2/feature_maps",
    }
    series = server.get_json(
        "/data/plugin/histograms/histograms?run=activations&tag=conv1/activations"
    )
    assert [step for _, step, _ in series] == [0, 1]
    assert np.sum(np.array(series[-1][2])[:, 2]) == 8 * 8 * 4  # one sample of conv1's output
