"""The Chaos Toolkit journal of a run, saved as Chaos Toolkit writes it
(`chaos run` writes journal.json), so its reporting tools read it."""
from __future__ import annotations

import json
from pathlib import Path


def write_journal(path: str | Path, journal: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(journal, indent=2, default=str))
    tmp.replace(path)
    return path
