"""Model plots that degrade to a message when Graphviz is missing."""

from __future__ import annotations

import os
from pathlib import Path

import keras

from kfx import _io


def plot_model(model: keras.Model, path: str | os.PathLike, **kwargs) -> Path | None:
    """Draw `model` to `path` with ``keras.utils.plot_model``; return the path, or None.

    Shapes and layer names are shown by default. Without pydot or Graphviz' ``dot`` the
    plot is skipped with a one-line explanation instead of an exception, so a training
    job never dies for a picture.

    Example:
        >>> import keras, tempfile, os
        >>> from kfx.plotting import plot_model
        >>> x = keras.Input((4,)); m = keras.Model(x, keras.layers.Dense(2)(x))
        >>> out = plot_model(m, os.path.join(tempfile.mkdtemp(), "m.png"))
        >>> out is None or out.exists()
        True
    """
    kwargs.setdefault("show_shapes", True)
    kwargs.setdefault("show_layer_names", True)
    try:
        with _io.atomic_path(path) as tmp:
            keras.utils.plot_model(model, to_file=str(tmp), **kwargs)
            if not tmp.exists() or tmp.stat().st_size == 0:
                raise OSError("plot_model wrote nothing")
    except (ImportError, OSError) as err:
        print(
            f"kfx: plot skipped ({path}): Graphviz/pydot unavailable ({err}); install graphviz to get plots."
        )
        return None
    return Path(path)
