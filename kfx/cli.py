"""The ``kfx`` command: ``kfx demo``, ``kfx inspect MODEL.keras``, ``kfx tune``, ``kfx train``
and ``kfx migrate``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _demo(args) -> int:
    from kfx.demo import run_demo

    run_demo(
        args.out, quick=args.quick, epochs=args.epochs, seed=args.seed, search=not args.no_search
    )
    return 0


def _inspect(args) -> int:
    path = Path(args.model)
    if not path.is_file() or path.suffix != ".keras":
        print(f"kfx inspect: {str(path)!r} is not an existing .keras file", file=sys.stderr)
        return 2
    import json

    import keras

    import kfx  # noqa: F401 - registers kfx layers so models using them load
    from kfx.models import flops
    from kfx.plotting import plot_model

    try:
        model = keras.saving.load_model(path, safe_mode=not args.unsafe)
    except Exception as err:  # noqa: BLE001 - any load failure is reported, not raised
        print(f"kfx inspect: cannot load {path}: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    total = model.count_params()
    report = flops(model)
    if args.format == "json":  # stdout is the JSON document alone; no plot
        parameters = {"total": total, "trainable": trainable, "non_trainable": total - trainable}
        print(json.dumps({"model": str(path), "parameters": parameters, "flops": report.to_dict()}))
        return 0
    model.summary()
    print(f"parameters: {total:,} (trainable {trainable:,}, non-trainable {total - trainable:,})")
    print(report.table())
    plot = plot_model(model, args.plot or path.with_suffix(".png"))
    if plot is not None:
        print(f"plot: {plot}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from kfx import __version__

    parser = argparse.ArgumentParser(prog="kfx", description="Keras functional extensions.")
    parser.add_argument("--version", action="version", version=f"kfx {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="train a block-built ResNet on embedded digits")
    demo.add_argument("--out", default="runs/demo", help="output folder (default: runs/demo)")
    demo.add_argument("--quick", action="store_true", help="a 2-epoch smoke run")
    demo.add_argument("--epochs", type=int, default=None, help="override the number of epochs")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--no-search", action="store_true", help="skip the closing search")
    demo.set_defaults(func=_demo)

    inspect = sub.add_parser(
        "inspect", help="summary, parameter count, FLOPs per layer and plot of a .keras file"
    )
    inspect.add_argument("model", help="path to a .keras file")
    inspect.add_argument("--plot", default=None, help="plot path (default: MODEL.png)")
    inspect.add_argument("--unsafe", action="store_true", help="load with safe_mode=False")
    inspect.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (summary, FLOPs table, plot) or json (parameters and FLOPs, no plot)",
    )
    inspect.set_defaults(func=_inspect)

    # Standard library only at import: `kfx tune` and `kfx train` start their children fast.
    from kfx.distribute import cli as train_cli
    from kfx.migrate import cli as migrate_cli
    from kfx.tuning import cli as tune_cli

    tune_cli.add_parser(sub)
    train_cli.add_parser(sub)
    migrate_cli.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
