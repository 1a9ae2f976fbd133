"""keras-tuner's distributed-search environment protocol, read in one place.

keras-tuner runs a distributed search as one chief (the oracle, a gRPC server) and workers
(tuners that ask the chief for trials). A process learns its role from three variables:
``KERASTUNER_TUNER_ID`` ("chief" for the chief, any other id for a worker),
``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT`` (the chief's address). Without
``KERASTUNER_ORACLE_IP`` the search is local.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

TUNER_ID = "KERASTUNER_TUNER_ID"
ORACLE_IP = "KERASTUNER_ORACLE_IP"
ORACLE_PORT = "KERASTUNER_ORACLE_PORT"

#: The tuner id keras-tuner treats as the chief (any id containing it is the chief).
CHIEF_ID = "chief"


def role(environ: Mapping[str, str] | None = None) -> str:
    """``"local"``, ``"chief"`` or ``"worker"``, as keras-tuner decides it."""
    env = os.environ if environ is None else environ
    if ORACLE_IP not in env:
        return "local"
    return "chief" if CHIEF_ID in env.get(TUNER_ID, "") else "worker"


def tuner_id(environ: Mapping[str, str] | None = None) -> str:
    """This process' tuner id (keras-tuner's default ``"tuner0"`` for a local search)."""
    env = os.environ if environ is None else environ
    return env.get(TUNER_ID, "tuner0")


def process_env(tuner: str, host: str, port: int, base: Mapping[str, str]) -> dict[str, str]:
    """`base` with the variables that make a process chief or worker `tuner` of a search."""
    return {**base, TUNER_ID: tuner, ORACLE_IP: host, ORACLE_PORT: str(port)}
