"""Where the outside programs gameday runs are: on PATH, else beside this
interpreter (the virtual environment `make setup` fills: kubectl and helm
from PyPI land there)."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def find(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


def helm_env(kubeconfig, home) -> dict:
    """Helm's environment: the kubeconfig given, and its cache, config and data
    under `home` (never the user's own ~/.cache/helm or ~/.config/helm)."""
    env = dict(os.environ, KUBECONFIG=str(kubeconfig))
    for var, sub in (("HELM_CACHE_HOME", "cache"), ("HELM_CONFIG_HOME", "config"), ("HELM_DATA_HOME", "data")):
        env[var] = str(Path(home) / sub)
    return env
