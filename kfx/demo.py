"""The main job: train a residual network built from kfx blocks on embedded digits.

``kfx demo`` (or ``make demo``) calls :func:`run_demo`, which writes under ``runs/demo/``:
``model.keras``, ``model.png``, ``history.csv``, ``report.md``, TensorBoard logs in ``logs/``
(activations, gradients and the search's HParams), activation arrays in ``activations/``
and the search's keras-tuner project in ``search/``.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import keras

from kfx import _io, blocks, callbacks, datasets
from kfx.plotting import plot_model

#: Epochs of the full demo; it reaches >= 0.95 held-out accuracy well within them.
FULL_EPOCHS = 30
QUICK_EPOCHS = 2
BATCH_SIZE = 64
#: The closing search: trials and epochs per trial (full run, quick run).
SEARCH_TRIALS = (4, 2)
SEARCH_EPOCHS = (6, 1)
#: Smaller batches than the main run: more steps, so batch-norm statistics settle in 6 epochs.
SEARCH_BATCH_SIZE = 16


def digits_resnet(input_shape=(8, 8, 1), num_classes: int = 10) -> keras.Model:
    """A small ResNet for 8x8 digits, made only of kfx blocks and core layers.

    Example:
        >>> from kfx.demo import digits_resnet
        >>> digits_resnet().output_shape
        (None, 10)
    """
    inputs = keras.Input(input_shape, name="image")
    x = blocks.conv_bn_act(inputs, 32, name="stem")
    x = blocks.residual(x, 32, name="stage1_block1")
    x = blocks.residual(x, 64, strides=2, se_ratio=0.25, name="stage2_block1")
    x = blocks.residual(x, 64, name="stage2_block2")
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = keras.layers.Dropout(0.2, name="head_dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="digit")(x)
    return keras.Model(inputs, outputs, name="digits_resnet")


def _history_csv(history: keras.callbacks.History) -> str:
    keys = sorted(history.history)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["epoch", *keys])
    for epoch in range(len(history.epoch)):
        writer.writerow([epoch + 1, *(f"{history.history[k][epoch]:.6g}" for k in keys)])
    return out.getvalue()


def _report(summary: dict, search: dict | None, log_dir: Path) -> str:
    lines = [
        "# kfx demo report",
        "",
        "A residual network built from `kfx.blocks` trained on scikit-learn's 8x8 digits.",
        "",
        "| quantity | value |",
        "|---|---|",
    ]
    lines += [f"| {key} | {value} |" for key, value in summary.items()]
    lines += [] if search is None else _search_lines(search)
    lines += [
        "",
        "## Monitoring",
        "",
        "Activation and gradient histograms of every epoch and the search's HParams dashboard:",
        "",
        "```",
        f"tensorboard --logdir {log_dir}",
        "```",
    ]
    return "\n".join(lines) + "\n"


def _search_lines(search: dict) -> list[str]:
    lines = [
        "",
        "## Short search (kfx.tuning.search over ResNetHyperModel)",
        "",
        f"{search['trials']} trials of {search['epochs']} epochs in {search['seconds']:.1f} s; "
        f"best val_accuracy {search['best_score']:.4f} with:",
        "",
        "| hyperparameter | value |",
        "|---|---|",
    ]
    return lines + [f"| {key} | {value} |" for key, value in search["best"].items()]


def _search(x, y, out: Path, log_dir: Path, quick: bool, seed: int) -> dict:
    """A short keras-tuner search over small ResNets on the same data; its best trial."""
    from kfx.tuning import ResNetHyperModel, search

    trials, epochs = SEARCH_TRIALS[quick], SEARCH_EPOCHS[quick]
    hypermodel = ResNetHyperModel(
        x.shape[1:], 10, stages=2, blocks_per_stage=1, widths=(16, 32), learning_rate=(3e-3, 3e-2)
    )
    start = time.perf_counter()
    tuner = search(
        hypermodel,
        x,
        y,
        validation_split=0.2,
        objective="val_accuracy",
        max_trials=trials,
        epochs=epochs,
        batch_size=SEARCH_BATCH_SIZE,
        directory=out,
        project_name="search",
        overwrite=True,
        log_dir=log_dir / "hparams",
        seed=seed,
    )
    best = tuner.oracle.get_best_trials(1)[0]
    return {
        "trials": trials,
        "epochs": epochs,
        "seconds": time.perf_counter() - start,
        "best_score": float(best.score),
        "best": {
            k: v for k, v in best.hyperparameters.values.items() if not k.startswith("tuner/")
        },
    }


def _train(model, train, x_test, out: Path, epochs: int, verbose) -> tuple:
    """Compile and fit the demo network with the monitoring callbacks; (history, seconds)."""
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    log_dir = out / "logs"
    start = time.perf_counter()
    history = model.fit(
        *train,
        validation_split=0.1,
        epochs=epochs,
        batch_size=BATCH_SIZE,
        verbose=verbose,
        callbacks=[
            keras.callbacks.ReduceLROnPlateau("val_loss", factor=0.5, patience=3, verbose=0),
            callbacks.ActivationLogger(
                x_test, log_dir=log_dir, npz_dir=out / "activations", max_samples=4, images=True
            ),
            callbacks.GradientLogger(train, log_dir=log_dir),
        ],
    )
    return history, time.perf_counter() - start


def run_demo(
    out_dir: str = "runs/demo",
    *,
    quick: bool = False,
    epochs: int | None = None,
    seed: int = 0,
    verbose="auto",
    search: bool = True,
) -> dict:
    """Train the demo network and write its files; return the report's figures.

    Args:
        out_dir: folder of the outputs (created).
        quick: a 2-epoch smoke run (for tests), not expected to reach the target accuracy.
        epochs: override the number of epochs.
        seed: seed of the split, the initial weights and the shuffles.
        verbose: passed to ``fit`` (a progress bar in a terminal).
        search: end with the short hyperparameter search (its best trial goes in the report).

    Returns:
        dict with ``test_accuracy``, ``params``, ``epochs``, ``seconds``, ``search`` (the
        closing search's best trial) and the file paths.
    """
    out = Path(out_dir)
    log_dir = out / "logs"
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = datasets.digits(seed=seed)
    epochs = epochs or (QUICK_EPOCHS if quick else FULL_EPOCHS)

    model = digits_resnet(x_train.shape[1:], 10)
    history, seconds = _train(model, (x_train, y_train), x_test, out, epochs, verbose)
    _, test_accuracy = model.evaluate(x_test, y_test, verbose=0)

    files = {
        "model": _io.save_model(model, out / "model.keras"),
        "plot": plot_model(model, out / "model.png"),
        "history": _io.write_text(out / "history.csv", _history_csv(history)),
    }
    summary = {
        "held-out accuracy": f"{test_accuracy:.4f}",
        "held-out images": len(x_test),
        "parameters": f"{model.count_params():,}",
        "epochs": epochs,
        "training seconds": f"{seconds:.1f}",
        "backend": keras.backend.backend(),
        "files": ", ".join(p.name for p in files.values() if p is not None),
    }
    print(
        f"held-out accuracy {test_accuracy:.4f} ({len(x_test)} images), "
        f"{model.count_params():,} parameters, {seconds:.1f} s"
    )
    found = _search(x_train, y_train, out, log_dir, quick, seed) if search else None
    files["report"] = _io.write_text(out / "report.md", _report(summary, found, log_dir))
    if found:
        print(f"search: best val_accuracy {found['best_score']:.4f} of {found['trials']} trials")
    print(f"files in {out}/; TensorBoard: tensorboard --logdir {log_dir}")
    return {
        "test_accuracy": float(test_accuracy),
        "params": model.count_params(),
        "epochs": epochs,
        "seconds": seconds,
        "search": found,
        "files": files,
    }
