"""What the runbook check needs to know about a project: what each runbook
placeholder names, where each runbook hostname is served, which mutating
procedures may run on a real cluster, and what each procedure's output must
show. Read from the `runbook:` section of gameday.yaml, else from a file
beside the runbook (`NAME.gameday.yaml` for `NAME.md`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import UserError


@dataclass(frozen=True)
class Expectation:
    """Cram-like checks on one procedure (or one line of it)."""
    must_appear: tuple[str, ...] = ()
    must_not_appear: tuple[str, ...] = ()
    exit_codes: dict[int, int] = field(default_factory=dict)   # runbook line -> expected exit status
    fallback_ok: tuple[str, ...] = ()                          # `|| echo "..."` texts that are the good path
    # What must hold once the procedure's lines ran (before anything is put
    # back): (what, shell commands run in the same operator session; exit 0 = holds).
    afterwards: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RunbookSettings:
    placeholders: dict[str, object] = field(default_factory=dict)  # "<pod-name>" -> literal or {pod: SELECTOR, namespace: NS}
    hosts: dict[str, str] = field(default_factory=dict)            # "https://api.example.com" -> "service:NAME.NS[:PORT]" | URL
    allow_mutating: tuple[str, ...] = ()                           # procedure slugs allowed to mutate a real cluster
    expectations: dict[str, Expectation] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)              # extra variables of the operator's session ($NAMESPACE)
    namespaces: tuple[str, ...] = ()                               # snapshotted around mutating procedures
    interactive_bound_s: float = 5.0
    line_timeout_s: float = 90.0
    source: str = ""

    @classmethod
    def from_dict(cls, data: dict, source: str) -> "RunbookSettings":
        if not isinstance(data, dict):
            raise UserError(f"{source}: the runbook settings must be a mapping (placeholders:, hosts:, ...)")
        known = {"placeholders", "hosts", "allow_mutating", "expectations", "env", "namespaces",
                 "interactive_bound_s", "line_timeout_s"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UserError(f"{source}: unknown runbook setting {unknown[0]!r}; use one of {', '.join(sorted(known))}")
        exps = {}
        for slug, e in (data.get("expectations") or {}).items():
            if not isinstance(e, dict):
                raise UserError(f"{source}: expectations.{slug} must be a mapping (must_appear:, must_not_appear:, "
                                "exit_codes:, fallback_ok:, afterwards:)")
            try:
                codes = {int(k): int(v) for k, v in (e.get("exit_codes") or {}).items()}
            except (TypeError, ValueError):
                raise UserError(f"{source}: expectations.{slug}.exit_codes maps a runbook line number to an exit status") from None
            after = e.get("afterwards") or []
            if not isinstance(after, list) or not all(isinstance(a, dict) and isinstance(a.get("what"), str)
                                                      and isinstance(a.get("run"), str) for a in after):
                raise UserError(f"{source}: expectations.{slug}.afterwards must be a list of "
                                "{what: TEXT, run: SHELL COMMANDS} (exit 0 when it holds)")
            exps[str(slug)] = Expectation(tuple(map(str, e.get("must_appear") or ())),
                                          tuple(map(str, e.get("must_not_appear") or ())), codes,
                                          tuple(map(str, e.get("fallback_ok") or ())),
                                          tuple((a["what"], a["run"]) for a in after))
        for key in ("placeholders", "hosts", "env"):
            if not isinstance(data.get(key) or {}, dict):
                raise UserError(f"{source}: {key} must be a mapping")
        return cls({str(k): v for k, v in (data.get("placeholders") or {}).items()},
                   {str(k).rstrip("/"): str(v) for k, v in (data.get("hosts") or {}).items()},
                   tuple(map(str, data.get("allow_mutating") or ())), exps,
                   {str(k): str(v) for k, v in (data.get("env") or {}).items()},
                   tuple(map(str, data.get("namespaces") or ())),
                   float(data.get("interactive_bound_s", 5.0)), float(data.get("line_timeout_s", 90.0)), source)


def beside(runbook: Path) -> Path:
    return runbook.with_name(runbook.stem + ".gameday.yaml")


def load(runbook: Path, project_file: Path | None = None) -> RunbookSettings:
    """The `runbook:` section of the project file when it has one, else the
    file beside the runbook, else no settings."""
    candidates = []
    if project_file is not None:
        candidates.append((project_file, True))
    candidates.append((beside(runbook), False))
    for path, sectioned in candidates:
        if not path.exists():
            continue
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark else str(path)
            raise UserError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)}); fix the file") from None
        if sectioned:
            if not isinstance(data, dict) or "runbook" not in data:
                continue
            data = data["runbook"]
        return RunbookSettings.from_dict(data, str(path))
    if project_file is not None and project_file.exists():
        return from_project(project_file)
    return RunbookSettings(source="(none)")


def from_project(project_file: Path) -> RunbookSettings:
    """The project file's own `placeholders:`, `hosts:` and blast radius, for
    a runbook with no settings of its own (no `runbook:` section, no file
    beside it): what its scenarios fill and reach, the check fills and
    reaches the same way."""
    from ..project.loader import load as load_project
    project = load_project(project_file)
    placeholders: dict[str, object] = {}
    for text, p in project.placeholders.items():
        if p.names in ("pod", "job", "node", "deployment"):
            placeholders[text] = {p.names: p.selector, **({"namespace": p.namespace} if p.namespace else {})}
        elif p.value or p.namespace:
            placeholders[text] = p.value or p.namespace
    hosts = {}
    for h in project.hosts:
        svc = project.services.get(h.service) if h.service else None
        if svc is not None:   # an Ingress mapping has no runbook-check form: the line then names the host it missed
            hosts[h.host.rstrip("/")] = f"service:{svc.service}.{svc.namespace}" + (f":{svc.port}" if svc.port else "")
    return RunbookSettings(placeholders=placeholders, hosts=hosts, namespaces=tuple(project.namespaces),
                           source=str(project_file))
