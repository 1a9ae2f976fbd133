"""kfx's patches of keras-tuner objects during a search, all in one guarded place.

keras-tuner offers hooks on the tuner (``on_trial_begin``, ``run_trial``, ...) but none on
the oracle's trial bookkeeping or around a trial's build, and kfx needs both: it keeps a
last good copy of the state files right after the oracle writes them, reports each trial
the chief records, decides on each reported epoch whether the trial is pruned
(:mod:`kfx.tuning.pruners`), and prepares each trial's model right after it is built. So,
for the length of one search, instance attributes shadow five methods of keras-tuner
objects:

- ``oracle.create_trial``, ``oracle.end_trial``, ``oracle.update_trial`` and
  ``oracle.populate_space`` (:func:`watch_oracle`, undone by :func:`unwatch_oracle`);
- ``hypermodel.build`` (:func:`wrapped_build`, a context manager);

and :func:`adopt_class` gives an existing tuner instance a kfx tuner class (a subclass of
its own class). These are the only places where kfx changes keras-tuner objects. Each
checks first that keras-tuner still has what it patches and raises :class:`PatchError`,
naming it, if a keras-tuner release renamed it; tests/tuning/test_patches.py pins them on
the supported keras-tuner.

Example:
    >>> import tempfile, keras_tuner
    >>> from kfx.tuning import _patches
    >>> oracle = keras_tuner.oracles.RandomSearchOracle(objective="val_loss", max_trials=1)
    >>> ended = []
    >>> _patches.watch_oracle(oracle, on_end=lambda trial, runner: ended.append(runner))
    >>> _patches.is_watched(oracle), "create_trial" in vars(oracle)
    (True, True)
    >>> _patches.unwatch_oracle(oracle)
    >>> _patches.is_watched(oracle), "create_trial" in vars(oracle)
    (False, False)
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

#: The oracle methods :func:`watch_oracle` shadows.
ORACLE_METHODS = ("create_trial", "end_trial", "update_trial", "populate_space")
#: The oracle attributes the wrappers read.
ORACLE_ATTRIBUTES = ("ongoing_trials", "trials")
#: Marks kfx's wrappers, so that they are never stacked and only they are removed.
MARKER = "kfx_patch"


class PatchError(RuntimeError):
    """keras-tuner no longer has a method or attribute that kfx patches or reads."""


def _require(obj: Any, names: tuple[str, ...], what: str, *, method: bool) -> None:
    for name in names:
        value = getattr(obj, name, None)
        if value is None or (method and not callable(value)):
            import keras_tuner

            kind = "method" if method else "attribute"
            raise PatchError(
                f"kfx.tuning: {what} {type(obj).__name__} has no {kind} `{name}` "
                f"(keras-tuner {keras_tuner.__version__}); kfx's tuners need keras-tuner 1.4, "
                "where it exists. Use keras-tuner's own tuners with this release."
            )


def _marked(function: Callable) -> Callable:
    setattr(function, MARKER, True)
    return function


def is_watched(oracle: Any) -> bool:
    """Whether :func:`watch_oracle`'s wrappers are on `oracle`."""
    return all(getattr(vars(oracle).get(name), MARKER, False) for name in ORACLE_METHODS)


def watch_oracle(
    oracle: Any,
    *,
    on_create: Callable[[Any], None] | None = None,
    on_end: Callable[[Any, str], None] | None = None,
    on_update: Callable[[str, Any, Any], None] | None = None,
    pruned_status: str | None = None,
) -> None:
    """Call `on_create(trial)` after each ``oracle.create_trial``, `on_end(trial, runner)`
    after each ``oracle.end_trial``, `on_update(trial_id, metrics, step)` before each
    ``oracle.update_trial``.

    `runner` is the tuner id that was running the trial (``"?"`` if none was).
    `on_update` runs with the oracle's lock held, before the oracle records and saves the
    epoch: a status it gives the trial is saved and sent back with the oracle's answer.
    With `pruned_status`, trials of that status (pruned ones) are shown to the oracle's
    ``populate_space`` as completed ones with their score, so that Bayesian optimization
    learns from them (keras-tuner's ``BayesianOptimizationOracle`` knows only running,
    completed and failed trials). The wrappers are instance attributes:
    :func:`unwatch_oracle` removes them and the class' methods show through again.

    Raises:
        PatchError: `oracle` lacks one of :data:`ORACLE_METHODS` or
            :data:`ORACLE_ATTRIBUTES`, or is watched already.
    """
    _require(oracle, ORACLE_METHODS, "the oracle", method=True)
    _require(oracle, ORACLE_ATTRIBUTES, "the oracle", method=False)
    if any(name in vars(oracle) for name in ORACLE_METHODS):
        raise PatchError(
            "kfx.tuning: the oracle's create_trial or end_trial is already replaced "
            "(another search on this tuner has not ended)"
        )
    create_trial, end_trial = oracle.create_trial, oracle.end_trial
    update_trial, populate_space = oracle.update_trial, oracle.populate_space

    @functools.wraps(create_trial)
    def create(tuner_id):
        trial = create_trial(tuner_id)
        if on_create is not None:
            on_create(trial)
        return trial

    @functools.wraps(end_trial)
    def end(trial):
        # The runner must be read before end_trial takes the trial off the ongoing list.
        ongoing = list(oracle.ongoing_trials.items())
        runner = next((tid for tid, t in ongoing if t.trial_id == trial.trial_id), "?")
        end_trial(trial)
        if on_end is not None:
            on_end(trial, runner)

    @functools.wraps(update_trial)
    def update(trial_id, metrics, step=0):
        if on_update is None:
            return update_trial(trial_id, metrics, step=step)

        def decide_then_record():
            on_update(trial_id, metrics, step)
            return update_trial(trial_id, metrics, step=step)

        return _synchronized(oracle, decide_then_record)

    @functools.wraps(populate_space)
    def populate(trial_id):
        if pruned_status is None:
            return populate_space(trial_id)
        # create_trial, the only caller, holds the oracle's lock: nobody sees the swap.
        pruned = [
            t for t in oracle.trials.values() if t.status == pruned_status and t.score is not None
        ]
        for trial in pruned:
            trial.status = "COMPLETED"
        try:
            return populate_space(trial_id)
        finally:
            for trial in pruned:
                trial.status = pruned_status

    oracle.create_trial, oracle.end_trial = _marked(create), _marked(end)
    oracle.update_trial, oracle.populate_space = _marked(update), _marked(populate)


def _synchronized(oracle: Any, function: Callable[[], Any]) -> Any:
    """`function()` with `oracle`'s lock held (keras-tuner's ``synchronized``)."""
    import keras_tuner

    return keras_tuner.synchronized(_call)(oracle, function)


def _call(oracle: Any, function: Callable[[], Any]) -> Any:
    return function()


def unwatch_oracle(oracle: Any) -> None:
    """Take :func:`watch_oracle`'s wrappers off `oracle` (nothing else: never its methods)."""
    for name in ORACLE_METHODS:
        if getattr(vars(oracle).get(name), MARKER, False):
            delattr(oracle, name)


@contextlib.contextmanager
def wrapped_build(
    hypermodel: Any,
    *,
    before: Callable[[], None] | None = None,
    after: Callable[[Any], None] | None = None,
) -> Iterator[None]:
    """Inside the block, ``hypermodel.build(hp)`` calls `before()`, builds, then `after(model)`.

    The wrapper is an instance attribute; on leaving the block `hypermodel` gets back the
    ``build`` it had (every keras-tuner ``HyperModel`` holds its own wrapper of ``build``
    as an instance attribute; a hypermodel without one sees its class' method again).

    Raises:
        PatchError: `hypermodel` has no ``build`` method.
    """
    _require(hypermodel, ("build",), "the hypermodel", method=True)
    own = vars(hypermodel)
    had_own, build = "build" in own, hypermodel.build

    @functools.wraps(build)
    def build_trial(hp):
        if before is not None:
            before()
        model = build(hp)
        if after is not None:
            after(model)
        return model

    hypermodel.build = _marked(build_trial)
    try:
        yield
    finally:
        if had_own:
            hypermodel.build = build
        else:
            del hypermodel.build


def adopt_class(instance: Any, cls: type) -> None:
    """Give `instance` the class `cls`, a subclass of its own class that adds only methods.

    This is how an existing tuner gets kfx's additions in place (:func:`kfx.tuning.tuners.adopt`);
    the caller then sets up the attributes that ``cls.__init__`` would have set.

    Raises:
        PatchError: `cls` is not a subclass of the instance's class.
    """
    if not issubclass(cls, type(instance)):
        raise PatchError(
            f"kfx.tuning: {cls.__name__} is not a subclass of {type(instance).__name__}"
        )
    instance.__class__ = cls


__all__ = [
    "ORACLE_METHODS",
    "PatchError",
    "adopt_class",
    "is_watched",
    "unwatch_oracle",
    "watch_oracle",
    "wrapped_build",
]
