"""The draining flag the gunicorn master sets on SIGTERM and its workers
read: a byte of shared memory made before the workers are forked."""
from __future__ import annotations

import multiprocessing

_flag = multiprocessing.RawValue("b", 0)


def start() -> None:
    _flag.value = 1


def draining() -> bool:
    return bool(_flag.value)
