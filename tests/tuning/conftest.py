"""Makes tests/tuning/_launching.py importable as ``tuning_launching`` (tests import by path)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "tuning_launching", Path(__file__).with_name("_launching.py")
)
_module = importlib.util.module_from_spec(_spec)
sys.modules["tuning_launching"] = _module
_spec.loader.exec_module(_module)
