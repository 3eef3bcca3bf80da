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
