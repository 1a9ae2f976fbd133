"""Draw the figures of the docs (docs/img/*.png) from kfx code.

Run by `make docs` before `mkdocs build`. A figure is drawn only when its file is missing,
or every figure with ``KFX_REDRAW_FIGURES=1`` (the variable the browser tests' screenshots
also follow), so `make docs` changes no committed file. Without Graphviz (model plots) or
matplotlib (the search figure) the committed figures stay as they are and this script says so.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import pathlib
import tempfile

import keras

import kfx
from kfx.plotting import plot_model

IMG = pathlib.Path(__file__).parent / "img"
#: Epochs of the training whose activation histograms are drawn.
HISTOGRAM_EPOCHS = 8
#: Trials, epochs and batch size of the search in docs/img/search_trials.png (a minute or two on
#: 2 CPUs; small batches give batch norm enough steps to settle).
SEARCH_TRIALS, SEARCH_EPOCHS, SEARCH_BATCH = 8, 3, 16
#: Digits held out of training to score the trials.
VALIDATION = 300


def residual_block() -> keras.Model:
    x = keras.Input((32, 32, 16), name="x")
    y = kfx.blocks.residual(x, 16, kind="bottleneck", strides=2, se_ratio=0.25, name="block")
    return keras.Model(x, y, name="bottleneck_residual")


def template_models() -> dict[str, keras.Model]:
    """One small model per template, as on the templates guide page."""
    from kfx.templates import Head, autoencoder, ensemble, multi_io, siamese, time_distributed

    def words(tokens):
        return keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(1000, 16)(tokens))

    inputs = {
        "title": keras.Input((None,), dtype="int32", name="title"),
        "body": keras.Input((None,), dtype="int32", name="body"),
        "tags": keras.Input((12,), name="tags"),
    }
    heads = [Head("priority", 1), Head("department", 4, "multiclass", loss_weight=0.2)]
    triage = multi_io(
        inputs,
        heads,
        encoders={"title": words, "body": words},
        trunk=lambda x: kfx.blocks.mlp(x, (64,), name="trunk"),
        name="triage",
    )
    pair = siamese(keras.layers.LSTM(32), (40, 64), merge="abs_diff", head=Head("same_author", 1))

    def member():
        x = keras.Input((128,))
        return keras.Model(x, keras.layers.Dense(1)(x), name="member")

    image = keras.Input((28, 28, 1))
    code = keras.layers.Dense(32, activation="relu")(keras.layers.Flatten()(image))
    z = keras.Input((32,))
    pixels = keras.layers.Reshape((28, 28, 1))(keras.layers.Dense(784, activation="sigmoid")(z))
    frame = keras.Input((16, 16, 3))
    features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(8, 3)(frame))
    return {
        "template_multi_io": triage,
        "template_siamese": pair,
        "template_ensemble": ensemble([member(), member(), member()], name="avg"),
        "template_autoencoder": autoencoder(
            keras.Model(image, code, name="encoder"), keras.Model(z, pixels, name="decoder")
        ),
        "template_time_distributed": time_distributed(
            keras.Model(frame, features, name="vision"),
            pool="lstm",
            head=Head("action", 5, "multiclass"),
            lstm_units=16,
        ),
    }


def activation_histograms(path: pathlib.Path) -> pathlib.Path:
    """Train the demo network briefly with an ActivationLogger; plot its histograms by epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from kfx.callbacks import ActivationLogger
    from kfx.demo import digits_resnet

    keras.utils.set_random_seed(0)
    (x, y), (x_test, _) = kfx.datasets.digits(seed=0)
    model = digits_resnet()
    model.compile("adam", "sparse_categorical_crossentropy")
    layers = ["stem_act", "stage1_block1_out", "stage2_block2_out", "digit"]
    with tempfile.TemporaryDirectory() as folder:
        logger = ActivationLogger(x_test, npz_dir=folder, layers=layers, max_samples=64)
        model.fit(x, y, epochs=HISTOGRAM_EPOCHS, batch_size=64, verbose=0, callbacks=[logger])
        arrays = [dict(np.load(f)) for f in logger.npz_files]
    figure, axes = plt.subplots(1, len(layers), figsize=(3.2 * len(layers), 2.6))
    colors = plt.cm.viridis(np.linspace(0, 1, len(arrays)))
    for ax, layer in zip(axes, layers, strict=True):
        for epoch, (saved, color) in enumerate(zip(arrays, colors, strict=True), start=1):
            counts, edges = np.histogram(saved[layer], bins=30)
            ax.plot((edges[:-1] + edges[1:]) / 2, counts, color=color, label=f"epoch {epoch}")
        ax.set_title(layer, fontsize=9)
        ax.set_yscale("symlog")
        ax.tick_params(labelsize=7)
    axes[-1].legend(fontsize=6, frameon=False)
    figure.suptitle(
        "ActivationLogger: activation histograms of 64 held-out digits by epoch", fontsize=10
    )
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path


def search_sessions(folder: pathlib.Path) -> dict:
    """A small ResNet search on the digits, read back from its HParams sessions."""
    from kfx.tuning import ResNetHyperModel, hparams, search

    (x, y), _ = kfx.datasets.digits()
    hypermodel = ResNetHyperModel(
        (8, 8, 1),
        10,
        stages=2,
        blocks_per_stage=(1, 2),
        widths=(4, 8, 16),
        learning_rate=(1e-3, 3e-2),
    )
    with contextlib.redirect_stdout(io.StringIO()):
        search(
            hypermodel,
            x[:-VALIDATION],
            y[:-VALIDATION],
            validation_data=(x[-VALIDATION:], y[-VALIDATION:]),
            objective="val_accuracy",
            max_trials=SEARCH_TRIALS,
            epochs=SEARCH_EPOCHS,
            directory=folder / "project",
            log_dir=folder / "hparams",
            seed=0,
            batch_size=SEARCH_BATCH,
        )
    return hparams.read_sessions(folder / "hparams")


def plot_search(sessions: dict, path: pathlib.Path) -> pathlib.Path | None:
    """Parallel coordinates of the trials (the HParams dashboard's view), one line a trial."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    metric = "val_accuracy"
    done = [s for s in sessions.values() if s["status"] == "success" and metric in s["metrics"]]
    names = sorted({name for s in done for name in s["hparams"]})
    logs = {"learning_rate"}  # searched on a log scale
    axes = [*names, metric]

    def coordinate(name: str, value: float) -> float:
        return math.log10(value) if name in logs else value

    values = {
        name: [
            coordinate(name, s["metrics"][metric] if name == metric else s["hparams"][name])
            for s in done
        ]
        for name in axes
    }
    spans = {
        name: (min(v), max(v) if max(v) > min(v) else min(v) + 1) for name, v in values.items()
    }
    scores = values[metric]
    colors = plt.get_cmap("viridis")
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    order = sorted(range(len(done)), key=lambda i: scores[i])  # the best drawn last, on top
    low, high = spans[metric]
    for i in order:
        ys = [(values[n][i] - spans[n][0]) / (spans[n][1] - spans[n][0]) for n in axes]
        best = i == order[-1]
        ax.plot(
            range(len(axes)),
            ys,
            color=colors((scores[i] - low) / (high - low)),
            linewidth=3 if best else 1.5,
            marker="o",
            alpha=1.0 if best else 0.8,
        )
    for k, name in enumerate(axes):
        ax.axvline(k, color="0.6", linewidth=0.8)
        lo, hi = spans[name]
        fmt = (lambda v: f"{10**v:.1e}") if name in logs else (lambda v: f"{v:.3g}")
        ax.annotate(fmt(lo), (k, -0.04), ha="center", va="top", fontsize=7, color="0.3")
        ax.annotate(fmt(hi), (k, 1.04), ha="center", va="bottom", fontsize=7, color="0.3")
    ax.set_xticks(range(len(axes)), axes, fontsize=8)
    ax.set_yticks([])
    ax.set_ylim(-0.15, 1.15)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_title(
        f"{len(done)} trials of a ResNet search on the digits (colour: {metric})", fontsize=9
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def wanted(path: pathlib.Path) -> bool:
    """Whether to draw `path`: it is missing, or ``KFX_REDRAW_FIGURES=1`` asks for all."""
    return os.environ.get("KFX_REDRAW_FIGURES") == "1" or not path.exists()


def main() -> None:
    models = {"residual_block": residual_block(), **template_models()}  # small: built at once
    for name, model in models.items():
        if wanted(IMG / f"{name}.png"):
            path = plot_model(model, IMG / f"{name}.png", dpi=60)
            print(f"figure: {path}" if path else f"{name}.png unchanged (Graphviz missing)")
    if wanted(IMG / "search_trials.png"):
        with tempfile.TemporaryDirectory() as folder:
            sessions = search_sessions(pathlib.Path(folder))
        path = plot_search(sessions, IMG / "search_trials.png")
        print(f"figure: {path}" if path else "search figure unchanged (matplotlib missing)")
    if wanted(IMG / "activation_histograms.png"):
        print(f"figure: {activation_histograms(IMG / 'activation_histograms.png')}")
    print("figures: done (KFX_REDRAW_FIGURES=1 draws every figure again)")


if __name__ == "__main__":
    main()
