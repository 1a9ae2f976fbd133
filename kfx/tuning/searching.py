"""``search()``: a keras-tuner search in one call, with kfx's reports and HParams logging.

Example:
    >>> import tempfile, keras, numpy as np
    >>> from kfx.tuning import search
    >>> def build(hp):
    ...     model = keras.Sequential([
    ...         keras.Input((4,)),
    ...         keras.layers.Dense(hp.Choice("units", [4, 8]), activation="relu"),
    ...         keras.layers.Dense(1),
    ...     ])
    ...     model.compile(keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")), "mse")
    ...     return model
    >>> x = np.random.default_rng(0).random((32, 4)).astype("float32")
    >>> y = x.sum(axis=1)
    >>> tuner = search(build, x, y, validation_data=(x, y), max_trials=2, epochs=1,
    ...                directory=tempfile.mkdtemp(), seed=1)  # doctest: +ELLIPSIS
    trial 0 completed in ... s: val_loss=... | units=..., lr=...
    trial 1 completed in ... s: val_loss=... | units=..., lr=...
    search done in ... s: 2 trials, 2 completed, 0 failed (project ...)
    best val_loss: ... (trial ...)
    rank  trial  val_loss  units  lr
    1 ...
    2 ...
    >>> sorted(tuner.get_best_hyperparameters()[0].values)
    ['lr', 'units']
"""

from __future__ import annotations

# Only the standard library at import time: `kfx.tuning` imports this module eagerly, and
# `kfx tune` must not pay for Keras.
import inspect
import os
from collections.abc import Mapping
from typing import Any

#: The name in error messages of search() and make_tuner().
_WHERE = "search"
#: ``tuner=`` names and the keras-tuner classes they stand for.
TUNERS: dict[str, str] = {
    "random": "RandomSearch",
    "bayesian": "BayesianOptimization",
    "hyperband": "Hyperband",
    "grid": "GridSearch",
}


def search(
    hypermodel,
    x=None,
    y=None,
    *,
    validation_data=None,
    tuner: Any = "random",
    **kwargs,
) -> Any:
    """Search hyperparameters with keras-tuner and return the tuner.

    Every trial builds a model with ``hypermodel`` (a ``keras_tuner.HyperModel`` such as
    :class:`kfx.tuning.ResNetHyperModel`, or a function ``build(hp) -> compiled model``),
    trains it with ``fit(x, y, validation_data=..., epochs=epochs, **fit_kwargs)`` and scores
    it by ``objective``. Progress is one line per trial; a table of the best trials ends it.

    Args:
        hypermodel: the search space and model builder (None when `tuner` is an instance).
        x, y, validation_data: the training and validation data, as for ``Model.fit``.
        tuner: "random", "bayesian", "hyperband" or "grid", a keras-tuner tuner class, or a
            tuner instance (then `hypermodel`, `objective`, `max_trials`, `directory`,
            `project_name`, `overwrite`, `seed` and `tuner_kwargs` are the instance's own).
            Classes and instances get kfx's additions (:mod:`kfx.tuning.tuners`).
        objective: metric to optimize: a name (direction inferred: ``*loss*`` / errors
            minimized, accuracies maximized) or a ``keras_tuner.Objective``.
        max_trials: most trials to run; for "hyperband", a cap on the trials that
            ``epochs`` (its ``max_epochs``) and ``factor`` give (None: no cap).
        epochs: epochs per trial (Hyperband: the most epochs of a trial).
        directory, project_name: the project folder ``directory/project_name``, holding
            keras-tuner's state, checkpoints and failed trials' ``traceback.txt``.
        overwrite: start over; False (the default) resumes a search found in the project
            folder: completed trials are kept and not run again.
        log_dir: folder for TensorBoard's HParams dashboard, or None.
        seed: the tuner's random seed.
        pruner: None, "median" (:class:`kfx.tuning.MedianPruner` with its defaults),
            "asha" (:class:`kfx.tuning.ASHAPruner`) or a pruner instance: trials that lose
            after a few epochs stop there, with keras-tuner's ``STOPPED`` status and their
            last epoch's score; completed trials always rank before them. Not with
            "hyperband" (docs/tuning.md, "Pruning").
        tuner_kwargs: more arguments for the tuner class, e.g. ``executions_per_trial``,
            ``max_consecutive_failed_trials`` or Hyperband's ``factor``.
        **fit_kwargs: more arguments for ``fit`` (``batch_size``, ``callbacks``, ...);
            ``verbose`` defaults to 0.

    Returns:
        The tuner: ``tuner.get_best_hyperparameters()``, ``tuner.get_best_models()``,
        ``tuner.oracle.trials``. In a distributed search, workers return theirs too, but
        only the chief's can answer questions about the search once it is over.

    Raises:
        ValueError: an unknown tuner or pruner name, a tuner instance together with a
            hypermodel, a pruner with Hyperband, or bad counts.
    """
    import keras_tuner
    from keras_tuner.engine.base_tuner import BaseTuner

    from kfx._validation import fail
    from kfx.tuning import pruners as _pruners
    from kfx.tuning import tuners as _tuners

    # The tuner's arguments are make_tuner's; everything else goes to fit.
    options = {name: kwargs.pop(name) for name in _TUNER_OPTIONS if name in kwargs}
    fit_kwargs = kwargs
    fit_kwargs.setdefault("verbose", 0)
    epochs = options.get("epochs", _TUNER_OPTIONS["epochs"].default)
    if isinstance(tuner, BaseTuner):
        if hypermodel is not None:
            fail(
                _WHERE,
                "hypermodel",
                hypermodel,
                "None when `tuner` is a tuner instance (the instance has its hypermodel)",
            )
        log_dir = options.get("log_dir")
        instance = _tuners.adopt(
            tuner,
            log_dir=None if log_dir is None else str(log_dir),
            pruner=_pruners.get(options.get("pruner"), _WHERE),
        )
    else:
        instance = make_tuner(hypermodel, tuner, **options)
    if not isinstance(instance, keras_tuner.Hyperband):
        fit_kwargs["epochs"] = epochs  # Hyperband sets each trial's epochs itself
    instance.search(x, y, validation_data=validation_data, **fit_kwargs)
    return instance


def make_tuner(
    hypermodel,
    tuner: Any = "random",
    *,
    objective: Any = "val_loss",
    max_trials: int | None = 10,
    epochs: int = 10,
    directory: str | os.PathLike = "runs/tune",
    project_name: str = "kfx",
    overwrite: bool = False,
    log_dir: str | os.PathLike | None = None,
    seed: int | None = None,
    pruner: Any = None,
    tuner_kwargs: Mapping[str, Any] | None = None,
) -> Any:
    """The kfx tuner that :func:`search` runs, built but not started (same arguments).

    Example:
        >>> import tempfile, keras
        >>> from kfx.tuning import ResNetHyperModel, make_tuner
        >>> tuner = make_tuner(ResNetHyperModel((8, 8, 1), 10), "hyperband", epochs=4,
        ...                    directory=tempfile.mkdtemp())
        >>> type(tuner).__name__, tuner.oracle.max_epochs, tuner.oracle.max_trials
        ('Hyperband', 4, 10)
    """
    import keras_tuner

    from kfx._validation import fail
    from kfx.tuning import pruners as _pruners
    from kfx.tuning import tuners as _tuners

    base = _tuner_base(tuner)
    _check_arguments(hypermodel, max_trials, epochs, tuner_kwargs)
    pruner = _pruners.get(pruner, _WHERE)
    if pruner is not None and issubclass(base, keras_tuner.Hyperband):
        fail(_WHERE, "pruner", pruner, "None with 'hyperband', which stops its trials itself")
    kwargs: dict[str, Any] = {
        "objective": objective,
        "directory": str(directory),
        "project_name": project_name,
        "overwrite": overwrite,
        "seed": seed,
        **_limits(base, max_trials, epochs),
        **(tuner_kwargs or {}),
    }
    instance = _tuners.tuner_class(base)(
        hypermodel, log_dir=None if log_dir is None else str(log_dir), pruner=pruner, **kwargs
    )
    if issubclass(base, keras_tuner.Hyperband) and max_trials is not None:
        # Oracle.create_trial stops at max_trials for every oracle; Hyperband leaves it None.
        instance.oracle.max_trials = max_trials
    return instance


def _tuner_base(tuner: Any) -> type:
    """The keras-tuner class that `tuner` (a name of :data:`TUNERS` or a class) stands for."""
    import keras_tuner
    from keras_tuner.engine.base_tuner import BaseTuner

    from kfx._validation import fail

    if isinstance(tuner, str):
        if tuner not in TUNERS:
            fail(_WHERE, "tuner", tuner, "one of " + ", ".join(map(repr, TUNERS)) + " or a class")
        return getattr(keras_tuner, TUNERS[tuner])
    if isinstance(tuner, type) and issubclass(tuner, BaseTuner):
        return tuner
    fail(_WHERE, "tuner", tuner, "a name, a keras_tuner tuner class or a tuner instance")


def _check_arguments(hypermodel, max_trials, epochs, tuner_kwargs) -> None:
    from kfx._validation import check_positive_int, fail, is_int

    if hypermodel is None:
        fail(_WHERE, "hypermodel", hypermodel, "a keras_tuner.HyperModel or a build(hp) function")
    if max_trials is not None and (not is_int(max_trials) or max_trials < 1):
        fail(_WHERE, "max_trials", max_trials, "a positive int or None")
    check_positive_int(_WHERE, "epochs", epochs)
    if tuner_kwargs is not None and not isinstance(tuner_kwargs, Mapping):
        fail(_WHERE, "tuner_kwargs", tuner_kwargs, "None or a dict of tuner arguments")


def _limits(base: type, max_trials: int | None, epochs: int) -> dict[str, Any]:
    """The argument that bounds a search of `base`: Hyperband's max_epochs, or max_trials."""
    import keras_tuner

    from kfx._validation import fail

    if issubclass(base, keras_tuner.Hyperband):
        return {"max_epochs": epochs}
    if issubclass(
        base, (keras_tuner.RandomSearch, keras_tuner.BayesianOptimization, keras_tuner.GridSearch)
    ):
        return {"max_trials": max_trials}
    fail(
        _WHERE,
        "tuner",
        base,
        "a subclass of RandomSearch, BayesianOptimization, Hyperband or GridSearch; "
        "build other tuners yourself and pass the instance",
    )


def _search_signature() -> inspect.Signature:
    """search's own parameters, make_tuner's (keyword-only) and ``**fit_kwargs``: what help()
    and inspect show for :func:`search`."""
    own = inspect.signature(search)
    params = [p for p in own.parameters.values() if p.kind is not p.VAR_KEYWORD]
    params += [p.replace(kind=p.KEYWORD_ONLY) for p in _TUNER_OPTIONS.values()]
    params.append(inspect.Parameter("fit_kwargs", inspect.Parameter.VAR_KEYWORD))
    return own.replace(parameters=params)


#: make_tuner's parameters that :func:`search` takes by keyword (all but the two it shares).
_TUNER_OPTIONS: dict[str, inspect.Parameter] = {
    name: p
    for name, p in inspect.signature(make_tuner).parameters.items()
    if name not in inspect.signature(search).parameters
}
search.__signature__ = _search_signature()


__all__ = ["TUNERS", "make_tuner", "search"]
