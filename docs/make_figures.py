"""Draw the figures of the docs (docs/img/*.png) from kfx code.

Run by `make docs` before `mkdocs build`. Without Graphviz the committed figures stay as
they are and this script says so.
"""

from __future__ import annotations

import pathlib

import keras

import kfx
from kfx.plotting import plot_model

IMG = pathlib.Path(__file__).parent / "img"


def residual_block() -> keras.Model:
    x = keras.Input((32, 32, 16), name="x")
    y = kfx.blocks.residual(x, 16, kind="bottleneck", strides=2, se_ratio=0.25, name="block")
    return keras.Model(x, y, name="bottleneck_residual")


def main() -> None:
    path = plot_model(residual_block(), IMG / "residual_block.png", dpi=60)
    print(f"figure: {path}" if path else "figures unchanged (Graphviz missing)")


if __name__ == "__main__":
    main()
