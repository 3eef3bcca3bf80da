"""What `drill.inject(name, **params)` injects: a preset of the project file
(`kill-api-pod: {fault: pod-kill, selector: ..., namespace: ...}`) or a
fault kind by its own name (`pod-kill`), with the scenario's parameters
over the preset's. Refuses a fault outside the project's blast radius."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import UserError
from .kinds import kinds


@dataclass(frozen=True)
class Resolved:
    name: str                 # what the scenario asked for (preset or kind)
    kind: Any                 # a FaultKind
    params: dict[str, Any]


def resolve(project, name: str, params: dict[str, Any], where: str = "") -> Resolved:
    known = kinds()
    where = where or (str(project.path) if project is not None else "fault")
    presets = project.presets if project is not None else {}
    if name in presets:
        preset = presets[name]
        kind = known[preset.fault]
        merged = kind.validate({**preset.params, **params}, f"{where}: fault {name!r}")
    elif name in known:
        kind = known[name]
        merged = kind.validate(dict(params), f"{where}: fault {name!r}")
    else:
        raise UserError(f"{where}: unknown fault {name!r}; presets of the project: {', '.join(sorted(presets)) or 'none'}; "
                        f"kinds: {', '.join(sorted(known))}")
    check_blast_radius(project, name, merged, where)
    return Resolved(name, kind, merged)


def check_blast_radius(project, name: str, params: dict[str, Any], where: str) -> None:
    """A fault aimed at a namespace the project does not allow is refused."""
    if project is None:
        return
    ns = params.get("namespace")
    if isinstance(ns, str) and ns and not project.allows_namespace(ns):
        raise UserError(f"{where}: fault {name!r} targets namespace {ns!r}, outside the blast radius of "
                        f"{project.path} (target.namespaces: {', '.join(project.namespaces)}); refused")
