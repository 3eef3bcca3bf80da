"""Settings that change while the process runs: the files of the mounted
ConfigMap `gaudi3-scale-config` (the kubelet rewrites them when the ConfigMap
is patched), falling back to environment variables.

Reads are cached for `refresh` seconds, so a request costs at most one small
file read a second per key."""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

DIR_ENV = "GAUDI3_CONFIG_DIR"
DEFAULT_DIR = "/etc/gaudi3-scale"
_TRUE = {"1", "true", "yes", "on"}


class LiveConfig:
    def __init__(self, directory: str | os.PathLike | None = None, refresh: float = 1.0):
        self.directory = Path(directory or os.environ.get(DIR_ENV, DEFAULT_DIR))
        self.refresh = refresh
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()
        self._warned: set[tuple[str, str]] = set()

    def raw(self, key: str) -> str | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit and now - hit[0] < self.refresh:
                return hit[1]
        value = self._read(key)
        with self._lock:
            self._cache[key] = (now, value)
        return value

    def flag(self, key: str) -> bool:
        value = self.raw(key)
        return value is not None and value.strip().lower() in _TRUE

    def number(self, key: str, default: float = 0.0) -> float:
        value = self.raw(key)
        if value is None or not value.strip():
            return default
        try:
            return float(value)
        except ValueError:
            if (key, value) not in self._warned:
                self._warned.add((key, value))
                log.error("config %s=%r is not a number; using %s", key, value, default)
            return default

    def _read(self, key: str) -> str | None:
        try:
            return (self.directory / key).read_text()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return os.environ.get(key.upper())
        except OSError as exc:
            log.error("cannot read config %s: %s", self.directory / key, exc)
            return os.environ.get(key.upper())
