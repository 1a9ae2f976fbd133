"""Packages that load their parts on first access (``import kfx`` stays cheap).

Example:
    >>> from kfx._lazy import lazy
    >>> namespace = {"__all__": ["fit", "launcher"]}
    >>> getattr_, dir_ = lazy("kfx.distribute", namespace, {"fit": "training"}, ("launcher",))
    >>> getattr_("launcher").__name__, "launcher" in namespace, dir_()
    ('kfx.distribute.launcher', True, ['fit', 'launcher'])
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping


def lazy(
    package: str,
    namespace: dict,
    attributes: Mapping[str, str] | None = None,
    submodules: Iterable[str] = (),
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` (PEP 562) that import on first access.

    Args:
        package: the package's name (``__name__``).
        namespace: its ``globals()``: a loaded name is stored there, so it loads once.
        attributes: ``{name: submodule}`` for names defined in a submodule.
        submodules: submodules offered as attributes.
    """
    attributes = dict(attributes or {})
    submodules = tuple(submodules)

    def __getattr__(name: str):
        if name in attributes:
            value = getattr(importlib.import_module(f"{package}.{attributes[name]}"), name)
        elif name in submodules:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(namespace.get("__all__", ()))

    return __getattr__, __dir__
