"""The fault kinds as a Chaos Toolkit python provider: an action and its
rollback per kind, taking the kind's parameters plus `configuration` and
`secrets`. The rollback needs no state from the action: it finds what to undo
in the cluster (labels and annotations), so it works as a plain
Chaos Toolkit rollback with the same arguments.

    {"type": "action", "name": "slow-api",
     "provider": {"type": "python", "module": "gameday.faults.actions", "func": "network_delay",
                  "arguments": {"service": "api", "namespace": "shop", "ms": 300}}}
    ... "rollbacks": [{... "func": "rollback_network_delay", same arguments}]
"""
from __future__ import annotations

from typing import Any

from chaoslib.exceptions import ActivityFailed

from ..errors import UserError
from . import KINDS


def _action(kind_name: str):
    def action(configuration: dict | None = None, secrets: dict | None = None, **params: Any) -> dict:
        kind = KINDS[kind_name]
        try:
            checked = kind.validate(params, f"action {kind_name}")
            return kind.inject(configuration, None, **checked)
        except UserError as exc:
            raise ActivityFailed(exc.message) from None
    action.__name__ = kind_name.replace("-", "_")
    action.__doc__ = f"{KINDS[kind_name].doc}\n\nParameters: " + "; ".join(p.describe() for p in KINDS[kind_name].params)
    return action


def _rollback(kind_name: str):
    def rollback(configuration: dict | None = None, secrets: dict | None = None, **params: Any) -> None:
        kind = KINDS[kind_name]
        try:
            checked = kind.validate(params, f"rollback {kind_name}")
        except UserError as exc:
            raise ActivityFailed(exc.message) from None
        kind.rollback(configuration, {}, **checked)
    rollback.__name__ = "rollback_" + kind_name.replace("-", "_")
    rollback.__doc__ = f"Rollback of {kind_name}: {KINDS[kind_name].rollback_doc}."
    return rollback


for _name in KINDS:
    globals()[_name.replace("-", "_")] = _action(_name)
    globals()["rollback_" + _name.replace("-", "_")] = _rollback(_name)

__all__ = [n.replace("-", "_") for n in KINDS] + ["rollback_" + n.replace("-", "_") for n in KINDS]
