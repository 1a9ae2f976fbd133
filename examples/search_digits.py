"""A hyperparameter search on handwritten digits: `kfx.tuning.search` over a ResNet hypermodel.

`ResNetHyperModel` maps keras-tuner's `hp` onto `kfx.models.resnet` (blocks per stage,
width, drop-path rate, learning rate); `search()` runs the trials, prints one line per trial
and a table of the best, and writes every trial to TensorBoard's HParams dashboard
(`tensorboard --logdir runs/search_digits/hparams`). A rerun resumes the search: completed
trials are not run again (`--overwrite` starts over).

The same script runs as a distributed search, one chief and two workers on this machine:

    kfx tune --workers 2 -- python examples/search_digits.py --quick

Every process runs this file; keras-tuner's environment variables tell each one its role.
The chief's `search()` serves the trials and reports; the workers train the models.

Expect: best trial \\w+: val_accuracy=[0-9.]+ .*width=\\d+
Run: python examples/search_digits.py --quick
"""

import argparse
import os
import warnings
from pathlib import Path

import kfx
from kfx.tuning import ResNetHyperModel, search

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true", help="3 tiny trials of 1 epoch")
parser.add_argument("--directory", default="runs/search_digits", help="folder of every output")
parser.add_argument("--tuner", default="random", choices=["random", "bayesian", "hyperband"])
parser.add_argument("--trials", type=int, default=None, help="override the number of trials")
parser.add_argument("--overwrite", action="store_true", help="start over instead of resuming")
args = parser.parse_args()
VALIDATION = 300

(x_train, y_train), (x_test, y_test) = kfx.datasets.digits()
# Trials are scored on a validation split; the test images judge the best model only.
x_train, x_val = x_train[:-VALIDATION], x_train[-VALIDATION:]
y_train, y_val = y_train[:-VALIDATION], y_train[-VALIDATION:]
if args.quick:
    hypermodel = ResNetHyperModel(
        (8, 8, 1), 10, stages=2, blocks_per_stage=1, widths=(4, 8), learning_rate=(3e-3, 3e-2)
    )
    trials, epochs = 3, 1
else:
    hypermodel = ResNetHyperModel(
        (8, 8, 1), 10, stages=2, blocks_per_stage=(1, 2), widths=(8, 16, 32)
    )
    trials, epochs = 20, 10
out = Path(args.directory)
tuner = search(
    hypermodel,
    x_train,
    y_train,
    validation_data=(x_val, y_val),
    tuner=args.tuner,
    objective="val_accuracy",
    max_trials=args.trials or trials,
    epochs=epochs,
    directory=out,
    project_name="digits",
    overwrite=args.overwrite,
    log_dir=out / "hparams",
    seed=0,
    batch_size=64,
)

# Under `kfx tune`, only the chief holds the oracle: a worker has nothing to report.
if "KERASTUNER_ORACLE_IP" in os.environ and "chief" not in os.environ["KERASTUNER_TUNER_ID"]:
    print(f"worker {os.environ['KERASTUNER_TUNER_ID']} done; the chief reports the search")
else:
    best = tuner.oracle.get_best_trials(1)[0]
    values = ", ".join(
        f"{k}={v:.3g}" for k, v in best.hyperparameters.values.items() if "/" not in k
    )  # Hyperband adds its bookkeeping values as "tuner/..."
    print(f"best trial {best.trial_id}: val_accuracy={best.score:.3f} | {values}")
    # The trial's checkpoint holds the weights; the reloaded model's optimizer starts afresh.
    warnings.filterwarnings("ignore", "Skipping variable loading for optimizer")
    model = tuner.get_best_models(1)[0]
    print(f"test accuracy of the best model: {model.evaluate(x_test, y_test, verbose=0)[1]:.3f}")
    print(f"HParams dashboard: tensorboard --logdir {out / 'hparams'}")
