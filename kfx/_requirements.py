"""The import-time check that Keras, TensorFlow, keras-tuner and TensorBoard are new enough.

kfx is installed into existing projects whose TensorFlow is pinned, and pip does not stop a
``pip install --no-deps`` or a later downgrade. On Keras 2 (Keras below 3, or TensorFlow below
2.16, whose ``tf.keras`` is Keras 2) or on a Keras 3 below the floor, kfx would fail later,
deep inside a layer, with an AttributeError that names nothing useful. ``import kfx`` calls
:func:`check` first and stops with one message that names the version found, the one needed
and the pip command that fixes it.

Versions are read from the installed distributions' metadata (`importlib.metadata`), so the
check imports neither Keras nor TensorFlow and a broken or too old one is reported before
anything imports it. Standard library only.

Example:
    >>> from kfx._requirements import problem
    >>> print(problem({"keras": "2.15.0"}))
    kfx needs Keras 3.10 or newer (Keras 3); found keras 2.15.0 (Keras 2). Upgrade it: pip install --upgrade "keras>=3.10"
    >>> problem({"keras": "3.10.0", "tensorflow-cpu": "2.16.2"}) is None
    True
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import NamedTuple


class Requirement(NamedTuple):
    """A floor: the import it concerns, the distributions that provide it, the lowest version."""

    label: str
    #: Distribution names that install this import; the first is the one to pip install.
    distributions: tuple[str, ...]
    minimum: tuple[int, ...]
    #: Whether kfx cannot run without it (TensorFlow is optional: JAX users go without).
    required: bool
    #: Why the floor is where it is: appended to the message.
    why: str = ""


# The floors of pyproject.toml's dependencies (tests/test_requirements.py keeps them equal);
# the reasons beside each pin there are repeated in `why`.
REQUIREMENTS = (
    Requirement(
        "Keras",
        ("keras", "keras-nightly"),
        (3, 10),
        required=True,
        why="Keras before 3.10 counts metrics wrongly under tf.distribute with more than one "
        "replica, and before 3.7 fails to reload models that reuse a shared layer",
    ),
    Requirement(
        "TensorFlow",
        (
            "tensorflow",
            "tensorflow-cpu",
            "tensorflow-intel",
            "tensorflow-macos",
            "tf-nightly",
            "tf-nightly-cpu",
        ),
        (2, 16),
        required=False,
        why="TensorFlow below 2.16 pins Keras 2 (its tf.keras is Keras 2)",
    ),
    Requirement(
        "keras-tuner",
        ("keras-tuner",),
        (1, 4, 6),
        required=False,
        why="keras-tuner below 1.4.6 is built on keras-core, not Keras 3",
    ),
    Requirement(
        "TensorBoard",
        ("tensorboard", "tb-nightly"),
        (2, 16, 2),
        required=False,
        why="TensorBoard 2.16.0 and 2.16.1 require tf-keras (Keras 2)",
    ),
)

#: Set to a true value, it makes TensorFlow's ``tf.keras`` the Keras 2 of the tf_keras package.
LEGACY_KERAS_VARIABLE = "TF_USE_LEGACY_KERAS"


class IncompatibleVersionError(ImportError):
    """An installed Keras, TensorFlow, keras-tuner or TensorBoard that kfx cannot run on."""


def parse(version: str) -> tuple[int, ...]:
    """The leading release numbers of a version string: ``"2.16.0rc1"`` -> ``(2, 16, 0)``.

    Example:
        >>> parse("3.5.0"), parse("2.22.0.dev20260227"), parse("3.0.0rc1")
        ((3, 5, 0), (2, 22, 0), (3, 0, 0))
    """
    match = re.match(r"\d+(?:\.\d+)*", version.strip())
    return tuple(int(part) for part in match.group(0).split(".")) if match else ()


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def installed_versions(
    names: tuple[str, ...] | None = None,
) -> dict[str, str]:
    """``{distribution: version}`` of the installed distributions among `names`.

    `names` defaults to every distribution :data:`REQUIREMENTS` knows.
    """
    if names is None:
        names = tuple(name for req in REQUIREMENTS for name in req.distributions)
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _pip(distribution: str, minimum: tuple[int, ...]) -> str:
    return f'pip install --upgrade "{distribution}>={_dotted(minimum)}"'


def _too_old(requirement: Requirement, distribution: str, version: str) -> str:
    needed = _dotted(requirement.minimum)
    if requirement.label == "Keras":
        head = f"kfx needs Keras {needed} or newer (Keras 3); found keras {version}"
        head += " (Keras 2)." if parse(version)[:1] < (3,) else f" ({requirement.why})."
    else:
        head = f"kfx needs {requirement.label} {needed} or newer; found {distribution} {version}"
        head += f" ({requirement.why})." if requirement.why else "."
    return f"{head} Upgrade it: {_pip(distribution, requirement.minimum)}"


def _legacy_keras(environ: Mapping[str, str]) -> str | None:
    value = environ.get(LEGACY_KERAS_VARIABLE, "")
    if value.strip().lower() not in ("1", "true", "yes", "on"):
        return None
    return (
        f"kfx needs Keras 3; {LEGACY_KERAS_VARIABLE}={value} makes tf.keras the Keras 2 of "
        f"tf_keras. Unset it (unset {LEGACY_KERAS_VARIABLE}) and use `import keras`; "
        f"if keras is Keras 2 there: {_pip('keras', REQUIREMENTS[0].minimum)}"
    )


def problem(versions: Mapping[str, str], environ: Mapping[str, str] | None = None) -> str | None:
    """The message for the first requirement `versions` breaks, or None when all are met.

    Args:
        versions: ``{distribution: version}``, as :func:`installed_versions` returns.
        environ: the environment (default: none is consulted), for ``TF_USE_LEGACY_KERAS``.
    """
    for requirement in REQUIREMENTS:
        present = [name for name in requirement.distributions if name in versions]
        if not present:
            if requirement.required:
                return (
                    f"kfx needs {requirement.label} {_dotted(requirement.minimum)} or newer, "
                    f"which is not installed: "
                    f"{_pip(requirement.distributions[0], requirement.minimum)}"
                )
            continue
        name = present[0]
        if parse(versions[name]) < requirement.minimum:
            return _too_old(requirement, name, versions[name])
    return _legacy_keras(environ or {})


def check(
    versions: Callable[[], Mapping[str, str]] = installed_versions,
    environ: Mapping[str, str] = os.environ,
) -> None:
    """Raise :class:`IncompatibleVersionError` when an installed version is below its floor.

    A distribution without metadata (e.g. Keras run from a source checkout) is not found by
    `importlib.metadata`: an optional one is then skipped, and a missing Keras is reported
    only when ``import keras`` finds nothing either.
    """
    found = dict(versions())
    if not any(name in found for name in REQUIREMENTS[0].distributions):
        keras_version = _module_version("keras")
        if keras_version is not None:
            found["keras"] = keras_version
    message = problem(found, environ)
    if message is not None:
        raise IncompatibleVersionError(message)


def _module_version(module: str) -> str | None:
    """The ``__version__`` of an importable module that has no distribution metadata."""
    if importlib.util.find_spec(module) is None:
        return None
    return str(getattr(importlib.import_module(module), "__version__", "0"))
