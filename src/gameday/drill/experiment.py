"""A Chaos Toolkit experiment file plus gameday's extension, loaded and
validated up front (bad input is one line naming the file and the fix).

The extension (in the experiment's `extensions` list):

    {"name": "gameday",
     "sla": ["time_to_detect <= 30s", "time_to_recover <= 90s"],   required
     "load": {"users": 10, "spawn_rate": 5, "warmup": 5},   warmup: seconds of load before the fault
     "detection": {"alert": "ApiDown"},
     "steady_state": [checks, see gameday.drill.steady],
     "recovery": {"within": 120, "settle": 3},
     "steps": ["restart-api"],          method activities that are runbook steps
     "abort": {"error_rate": 0.95, "seconds": 60}}
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError
from ..sla import Sla, parse_all
from .safety import AbortCondition
from .steady import Check, parse_checks

_KNOWN = {"name", "sla", "load", "detection", "steady_state", "recovery", "steps", "abort"}


@dataclass(frozen=True)
class ExperimentSpec:
    path: Path
    doc: dict
    title: str
    slas: list[Sla]
    users: int = 10
    spawn_rate: float | None = None
    warmup: float = 0.0
    detection_alert: str | None = None
    steady_state_raw: list | None = None
    checks: list[Check] = field(default_factory=list)
    recover_within: float = 120.0
    settle: float = 3.0
    steps: tuple[str, ...] = ()
    abort: AbortCondition | None = None
    project: object = None          # gameday.project.Project the defaults came from

    @property
    def name(self) -> str:
        return self.path.stem

    def method_plan(self) -> list[str]:
        lines = []
        for a in self.doc.get("method", []):
            role = "step" if a.get("name") in self.steps else ("fault" if a.get("type") == "action" else a.get("type", "?"))
            lines.append(f"{role:6} {a.get('name')}  ({_provider_text(a)})")
        return lines

    def rollback_plan(self) -> list[str]:
        return [f"{a.get('name')}  ({_provider_text(a)})" for a in self.doc.get("rollbacks", [])]


def _provider_text(a: dict) -> str:
    p = a.get("provider") or {}
    if p.get("type") == "python":
        return f"{p.get('module')}.{p.get('func')}"
    return str(p.get("type", a.get("ref", "?")))


def _num(value, what: str, source: Path, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise UserError(f"{source}: extension gameday: {what} must be a number >= {minimum:g}, got {value!r}")
    return float(value)


def load(path: str | Path, project=None) -> ExperimentSpec:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UserError(f"{path}: experiment file not found; check the path")
    except OSError as exc:
        raise UserError(f"{path}: cannot read the experiment ({exc.strerror})")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start}); save the experiment as UTF-8 JSON")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}; fix the syntax")
    if not isinstance(doc, dict):
        raise UserError(f"{path}: an experiment is a JSON object with title, method and extensions")
    _validate_chaostoolkit(doc, path)
    ext = next((e for e in doc.get("extensions") or [] if isinstance(e, dict) and e.get("name") == "gameday"), None)
    if ext is None:
        raise UserError(f"{path}: no gameday extension; add to \"extensions\" an object "
                        f"{{\"name\": \"gameday\", \"sla\": [\"time_to_recover <= 90s\"]}}")
    unknown = set(ext) - _KNOWN
    if unknown:
        raise UserError(f"{path}: extension gameday: unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(_KNOWN))}")
    if not ext.get("sla"):
        raise UserError(f"{path}: extension gameday needs a non-empty \"sla\" list, e.g. [\"time_to_recover <= 90s\"]")
    slas = parse_all(ext["sla"], str(path))
    load_cfg = ext.get("load") or {}
    if not isinstance(load_cfg, dict):
        raise UserError(f"{path}: extension gameday: \"load\" must be an object like {{\"users\": 10}}")
    users = int(_num(load_cfg.get("users", 10), "load.users", path))
    spawn = load_cfg.get("spawn_rate")
    spawn = _num(spawn, "load.spawn_rate", path, 0.1) if spawn is not None else None
    warmup = _num(load_cfg.get("warmup", 0), "load.warmup", path)
    unknown_load = set(load_cfg) - {"users", "spawn_rate", "warmup"}
    if unknown_load:
        raise UserError(f"{path}: extension gameday: unknown load key(s) {', '.join(sorted(unknown_load))}; "
                        f"allowed: users, spawn_rate, warmup")
    detection = ext.get("detection") or {}
    alert = detection.get("alert") if isinstance(detection, dict) else None
    if detection and not isinstance(alert, str):
        raise UserError(f"{path}: extension gameday: \"detection\" must be {{\"alert\": \"AlertName\"}}")
    recovery = ext.get("recovery") or {}
    if not isinstance(recovery, dict):
        raise UserError(f"{path}: extension gameday: \"recovery\" must be an object like {{\"within\": 120, \"settle\": 3}}")
    steps = ext.get("steps") or []
    names = {a.get("name") for a in doc.get("method", [])}
    if not isinstance(steps, list) or any(s not in names for s in steps):
        raise UserError(f"{path}: extension gameday: \"steps\" must name activities of the method (have: {', '.join(sorted(map(str, names)))})")
    abort = ext.get("abort")
    condition = None
    if abort is not None:
        if not isinstance(abort, dict):
            raise UserError(f"{path}: extension gameday: \"abort\" must be {{\"error_rate\": 0.95, \"seconds\": 60}}")
        condition = AbortCondition(_num(abort.get("error_rate"), "abort.error_rate", path),
                                   int(_num(abort.get("seconds"), "abort.seconds", path, 1)))
    raw_checks = ext.get("steady_state")
    if raw_checks is None:
        from .steady import default_checks
        if project is None:  # the project the experiment sits in
            from ..project import find
            from ..project import load as load_project
            found = find(start=path.resolve().parent) or find()  # beside the experiment, else the working folder's
            project = load_project(found) if found else None
        raw_checks = default_checks(project)
        if raw_checks is None:
            raise UserError(f"{path}: extension gameday has no steady_state and there is no gameday.yaml to take "
                            f"it from; add one of them")
    checks = parse_checks(raw_checks, f"{path}: extension gameday")
    return ExperimentSpec(path=path, doc=doc, title=str(doc.get("title", path.stem)), slas=slas, users=users,
                          spawn_rate=spawn, warmup=warmup, detection_alert=alert, steady_state_raw=raw_checks, checks=checks,
                          recover_within=_num(recovery.get("within", 120), "recovery.within", path),
                          settle=_num(recovery.get("settle", 3), "recovery.settle", path),
                          steps=tuple(steps), abort=condition, project=project)


def _validate_chaostoolkit(doc: dict, path: Path) -> None:
    from chaoslib.exceptions import ChaosException
    from chaoslib.experiment import ensure_experiment_is_valid
    logger = logging.getLogger("chaostoolkit")
    level = logger.level
    logger.setLevel(logging.CRITICAL)  # its own error logging would print a second, longer message
    try:
        ensure_experiment_is_valid(json.loads(json.dumps(doc)))
    except ChaosException as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise UserError(f"{path}: invalid Chaos Toolkit experiment: {first}")
    except (TypeError, AttributeError, KeyError, ValueError, IndexError) as exc:
        # Chaos Toolkit's validator assumes the shapes it checks (e.g. "arguments" a mapping).
        raise UserError(f"{path}: invalid Chaos Toolkit experiment: a value of the wrong type "
                        f"({exc.__class__.__name__}: {str(exc)[:120]}); check providers' \"arguments\" are objects "
                        f"and activities are objects with type, name and provider")
    finally:
        logger.setLevel(level)
