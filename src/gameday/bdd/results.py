"""Scenario results: what one drill run found per scenario (results.json)
and the last verdict of every scenario ever run (verdicts.json, merged run
after run, read by `gameday coverage`)."""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

RESULTS_FILE = "results.json"
VERDICTS_FILE = "verdicts.json"


@dataclass
class StepResult:
    keyword: str
    text: str
    line: int
    status: str = "skipped"        # passed / failed / skipped
    duration_s: float = 0.0
    message: str = ""


@dataclass
class ScenarioResult:
    key: str
    file: str
    line: int
    name: str
    feature: str
    sections: list[str] = field(default_factory=list)
    procedures: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    outcome: str = "skipped"       # passed / failed / error / skipped
    message: str = ""
    input_error: bool = False      # the feature itself is wrong (exit 2), not the platform
    started_at: float = 0.0
    duration_s: float = 0.0
    time_to_detect: float | None = None
    time_to_recover: float | None = None
    error_rate: float | None = None
    p95_latency: float | None = None
    slas: list[dict] = field(default_factory=list)    # {text, measured, passed}
    timeline: str | None = None    # relative to the reports folder
    restored: list[str] = field(default_factory=list)
    steps: list[StepResult] = field(default_factory=list)

    @classmethod
    def from_json(cls, obj: dict) -> "ScenarioResult":
        obj = dict(obj)
        obj["steps"] = [StepResult(**s) for s in obj.get("steps", [])]
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in obj.items() if k in known})


def _atomic_write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)


def write_results(reports: Path, results: list[ScenarioResult]) -> Path:
    path = Path(reports) / RESULTS_FILE
    _atomic_write(path, {"finished_at": time.time(), "scenarios": [asdict(r) for r in results]})
    merge_verdicts(reports, results)
    return path


def read_results(reports: Path) -> list[ScenarioResult]:
    path = Path(reports) / RESULTS_FILE
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return []
    return [ScenarioResult.from_json(o) for o in data.get("scenarios", [])]


def merge_verdicts(reports: Path, results: list[ScenarioResult]) -> None:
    """The last verdict of each scenario that ran (skipped ones keep theirs)."""
    verdicts = read_verdicts(reports, full=True)
    for r in results:
        if r.outcome != "skipped":
            verdicts[r.key] = {"outcome": r.outcome, "at": r.started_at, "message": r.message[:300]}
    _atomic_write(Path(reports) / VERDICTS_FILE, verdicts)


def read_verdicts(reports: Path, full: bool = False) -> dict:
    try:
        data = json.loads((Path(reports) / VERDICTS_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return data if full else {k: v.get("outcome", "?") for k, v in data.items()}
