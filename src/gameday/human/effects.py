"""Checkable effects of a runbook block: what gameday can see happen in the
cluster when a person carries the block out, so that the step ends when the
mitigation took effect even if the person never says `done`.

Recognised lines (kubectl as the runbook writes them):

- `kubectl scale deployment NAME --replicas=N -n NS` (also `deployment/NAME`,
  `deploy`, `statefulset`, `--replicas N`, `--namespace NS`): the workload's
  `spec.replicas` is N;
- `kubectl rollout restart deployment/NAME -n NS` (and statefulsets): the pod
  template's `kubectl.kubernetes.io/restartedAt` differs from its value when
  the step started.

A block with several such lines has its effect when all of them hold; a
block with none has no checkable effect (`effect_of` answers None)."""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Callable

from .compare import runbook_commands

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
_KINDS = {"deployment": "deployment", "deployments": "deployment", "deploy": "deployment",
          "statefulset": "statefulset", "statefulsets": "statefulset", "sts": "statefulset"}


@dataclass(frozen=True)
class Expectation:
    verb: str            # "scale" | "restart"
    kind: str            # "deployment" | "statefulset"
    name: str
    namespace: str
    replicas: int | None = None

    def describe(self) -> str:
        what = f"{self.kind}/{self.name} in {self.namespace}"
        return f"{what} scaled to {self.replicas}" if self.verb == "scale" else f"{what} restarted"


def expectations(block: str) -> list[Expectation]:
    """The checkable effects of a block's command lines (pure)."""
    out = []
    for line in runbook_commands(block):
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue
        if "|" in words or ";" in words or "&&" in words or "||" in words:
            continue
        exp = _parse(words)
        if exp is not None:
            out.append(exp)
    return out


def _parse(words: list[str]) -> Expectation | None:
    if len(words) < 3 or words[0] != "kubectl":
        return None
    namespace, replicas, rest = "default", None, []
    i = 1
    while i < len(words):
        w = words[i]
        if w in ("-n", "--namespace") and i + 1 < len(words):
            namespace, i = words[i + 1], i + 2
            continue
        if w.startswith("--namespace="):
            namespace = w.split("=", 1)[1]
        elif w.startswith("--replicas="):
            replicas = _int(w.split("=", 1)[1])
        elif w == "--replicas" and i + 1 < len(words):
            replicas, i = _int(words[i + 1]), i + 2
            continue
        elif not w.startswith("-"):
            rest.append(w)
        i += 1
    if rest[:1] == ["scale"] and replicas is not None:
        target = _workload(rest[1:])
        return Expectation("scale", *target, namespace, replicas) if target else None
    if rest[:2] == ["rollout", "restart"]:
        target = _workload(rest[2:])
        return Expectation("restart", *target, namespace) if target else None
    return None


def _workload(words: list[str]) -> tuple[str, str] | None:
    if len(words) == 1 and "/" in words[0]:
        kind, _, name = words[0].partition("/")
        return (_KINDS[kind], name) if kind in _KINDS and name else None
    if len(words) == 2 and words[0] in _KINDS:
        return _KINDS[words[0]], words[1]
    return None


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def effect_of(block: str, target) -> Callable[[], bool] | None:
    """A check that holds once every checkable effect of the block is seen on
    the target (a `Target`: its apps() client), or None when the block has none.
    Restarts are judged against the annotation read now, when the step starts."""
    wanted = expectations(block)
    if not wanted:
        return None
    apps = target.apps()

    def read(e: Expectation):
        fn = apps.read_namespaced_deployment if e.kind == "deployment" else apps.read_namespaced_stateful_set
        return fn(e.name, e.namespace, _request_timeout=10)

    def restarted_at(obj) -> str | None:
        meta = obj.spec.template.metadata
        return ((meta.annotations if meta is not None else None) or {}).get(RESTARTED_AT)

    before = {}
    for e in wanted:
        if e.verb == "restart":
            try:
                before[e] = restarted_at(read(e))
            except Exception:  # not there yet: any restart seen later counts
                before[e] = None

    def holds() -> bool:
        for e in wanted:
            obj = read(e)
            if e.verb == "scale" and obj.spec.replicas != e.replicas:
                return False
            if e.verb == "restart" and restarted_at(obj) in (None, before[e]):
                return False
        return True
    holds.__doc__ = "; ".join(e.describe() for e in wanted)
    return holds
