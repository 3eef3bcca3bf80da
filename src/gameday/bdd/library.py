"""The step library: what each step of `steps/` does, one method per step.

A `ScenarioRun` is one scenario against one target: it owns the scenario's
drill (created when the first step needs it), the placeholders the scenario
bound, the last command output and HTTP answer, and the snapshot that puts
back what operator steps changed. Steps stay thin: a phrase, its
parameters, one call here."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .. import sla as sla_maths
from ..errors import TargetError, UserError
from ..httpcheck import Answer as HttpAnswer
from ..httpcheck import poll
from ..httpcheck import request as http_request
from ..chaos.workload import canary_of
from ..ready import pod_ready
from ..target import Target
from . import commands, sla_table, snapshot
from ..timeline.events import Kinds

COMMAND_TIMEOUT_S = 180.0
POLL_S = 0.5


class StepFailed(AssertionError):
    """A step's expectation did not hold; the message is what the report shows."""


@dataclass
class CommandResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Binding:
    """A runbook placeholder bound to a kind of object, resolved when a
    command uses it (a pod named before a fault is gone after it)."""
    kind: str                       # pod, job, node
    selector: str = ""
    namespace: str = ""


def wait_until(check: Callable[[], Any], within: float) -> Any:
    return poll(check, within, POLL_S)


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "scenario"


@dataclass
class ScenarioRun:
    target: Target
    name: str
    reports_dir: Path
    file: str = "feature"
    slas: list[sla_maths.Sla] = field(default_factory=list)     # the scenario's SLA table, known up front
    project: Any = None              # gameday.project.Project (None: found from the working folder)
    operator: str = "auto"           # "human": a person works the steps in `gameday shell`; gameday times them
    ack_within_s: float = 900.0      # how long a person has to acknowledge the page
    person_step_within_s: float = 1800.0  # the hard limit of one step a person carries out
    settle_s: float = 3.0
    bindings: dict[str, Binding] = field(default_factory=dict)
    last_output: CommandResult | None = None
    last_answer: HttpAnswer | None = None
    verdict: Any = None
    restored: list[str] = field(default_factory=list)
    extra_checks: list[dict] = field(default_factory=list)
    where: str = ""                  # file:line of the step running now (set by the plugin)
    table_lines: tuple[int, ...] = ()  # line of each row of that step's table
    _drill: Any = None
    _person: Any = None
    _notified: set = field(default_factory=set)   # notification ids already on the timeline
    timeboxes: dict = field(default_factory=dict)  # runbook heading -> the feature's own time box
    _snapshot: snapshot.Snapshot | None = None

    # --- step arguments ------------------------------------------------------
    def slas_from_table(self, table) -> list[sla_maths.Sla]:
        file, _, line = self.where.rpartition(":")
        return sla_table.parse_table(table or [], file or self.file, int(line or 0), self.table_lines)

    def params_from_table(self, table) -> dict[str, Any]:
        """| parameter | value | -> kwargs; numbers become numbers."""
        if not table:
            return {}
        rows = [list(map(str, r)) for r in table]
        if [c.strip().lower() for c in rows[0]] != ["parameter", "value"] or any(len(r) != 2 for r in rows):
            raise UserError(f"{self.where or self.file}: a fault's parameters are a table | parameter | value | "
                            f"with one row per parameter")
        out: dict[str, Any] = {}
        for key, value in rows[1:]:
            value = value.strip()
            for conv in (int, float):
                try:
                    out[key.strip()] = conv(value)
                    break
                except ValueError:
                    continue
            else:
                out[key.strip()] = {"true": True, "false": False}.get(value.lower(), value)
        return out

    # --- the drill -----------------------------------------------------------
    def __post_init__(self) -> None:
        if self.project is None:
            from ..project import current
            self.project = current()

    @property
    def namespaces(self) -> tuple[str, ...]:
        return tuple(self.project.namespaces)

    @property
    def drill(self):
        if self._drill is None:
            if self._snapshot is None:
                self._snapshot = snapshot.take(self.target, self.namespaces)
            from ..drill import Drill
            self.reports_dir.mkdir(parents=True, exist_ok=True)
            kwargs: dict[str, Any] = {"project": self.project}
            if self.extra_checks:
                from ..drill.steady import default_checks
                kwargs["steady_state"] = [*(default_checks(self.project) or []), *self.extra_checks]
            if self.slas:
                kwargs["slas"] = [s.text for s in self.slas]  # the engine watches what they measure (training)
            self._drill = Drill(self.target, slugify(self.name), self.reports_dir, **kwargs)
        return self._drill

    @property
    def timeline_path(self) -> Path | None:
        """The drill's timeline file (None before the drill started)."""
        return self._drill.timeline_path if self._drill is not None else None

    def close(self) -> None:
        """Roll back faults (the drill), then put back what operator steps
        changed. Always runs, also when the scenario failed."""
        failed: list[str] = []
        if self._person is not None:
            self._person.__exit__(None, None, None)
        try:
            if self._drill is not None:
                failed = list(self._drill.close() or [])
        finally:
            if self._snapshot is not None:
                self.restored = snapshot.restore(self.target, self._snapshot, self.namespaces)
        if failed:
            raise TargetError(f"rollback failed, the target may not be as it was: {'; '.join(failed)}")

    # --- Given ---------------------------------------------------------------
    @property
    def person(self):
        """The person on call (human mode): the session `gameday shell`
        joins, the page receiver and Alertmanager's route to it."""
        if self._person is None:
            from ..human.oncall import PersonOnCall, paging_of
            folder = Path(self.drill.reports_dir)
            run_reports = (folder.parent.parent,) if folder.parent.name == "scenarios" else ()
            self._person = PersonOnCall(self.drill, paging_of(self.project), publish_to=run_reports,
                                        allow_contexts=tuple(getattr(self.project, "contexts", ()) or ())).__enter__()
        return self._person

    def steady_state(self, users: int = 0) -> None:
        if self.operator == "human":
            self.person  # the page route is in place before the fault
        if users > 0:
            self.drill.start_load(users=users, spawn_rate=float(users))
        self.drill.confirm_steady_state()

    def bind(self, placeholder: str, kind: str, selector: str = "", namespace: str = "") -> None:
        name = placeholder.strip().strip("<>")
        if not commands.PLACEHOLDER.fullmatch(f"<{name}>"):
            raise UserError(f"{self.where or self.file}: placeholder {placeholder!r} must look like <pod-name>")
        if kind not in ("pod", "job", "node"):
            raise UserError(f"{self.where or self.file}: placeholders name a pod, a job or a node, not {kind!r}")
        self.bindings[name] = Binding(kind, selector, namespace)

    def binding(self, name: str) -> Binding | None:
        """The scenario's binding of <name>, else the project's placeholder."""
        if name in self.bindings:
            return self.bindings[name]
        ph = self.project.placeholders.get(f"<{name}>")
        if ph is not None and ph.names in ("pod", "job", "node"):
            return Binding(ph.names, ph.selector, ph.namespace)
        return None

    def resolve(self, name: str) -> str:
        b = self.binding(name)
        if b is None:
            ph = self.project.placeholders[f"<{name}>"]
            return ph.value
        if b.kind == "node":
            items = self._get_json(["get", "nodes"] + (["-l", b.selector] if b.selector else []))
            if not items:
                raise StepFailed(f"<{name}>: the target has no nodes")
            # The one in trouble first: cordoned or not Ready.
            def node_trouble(i: dict) -> tuple:
                ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                            for c in i.get("status", {}).get("conditions") or [])
                return (not i.get("spec", {}).get("unschedulable") and ready, i["metadata"]["name"])
            return sorted(items, key=node_trouble)[0]["metadata"]["name"]
        items = self._get_json(["get", f"{b.kind}s", "-n", b.namespace, "-l", b.selector])
        items = [i for i in items if not i["metadata"].get("deletionTimestamp")]
        if not items:
            raise StepFailed(f"<{name}>: no {b.kind} labelled {b.selector} in namespace {b.namespace}")
        # The one in trouble first: that is the one the runbook step is about.
        def trouble(i: dict) -> tuple:
            status = i.get("status", {})
            if b.kind == "pod":
                return (status.get("phase") == "Running" and pod_ready(i), i["metadata"].get("creationTimestamp", ""))
            return (not status.get("failed"), i["metadata"].get("creationTimestamp", ""))
        return sorted(items, key=trouble)[0]["metadata"]["name"]

    def _get_json(self, args: list[str]) -> list[dict]:
        proc = self.target.kubectl([*args, "-o", "json"], timeout=60)
        if proc.returncode != 0:
            raise StepFailed(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()[:300]}")
        return json.loads(proc.stdout).get("items", [])

    # --- When ----------------------------------------------------------------
    def inject(self, fault: str, params: dict[str, Any] | None = None) -> None:
        self.drill.inject(fault, where=self.where or self.file, **(params or {}))

    def kill_pods(self, selector: str, namespace: str) -> None:
        """Inline `pod-kill`: every running pod with these labels."""
        self.inject("pod-kill", {"selector": selector, "namespace": namespace, "all": True})

    def slow_service(self, service: str, ms: int) -> None:
        """Inline `network-delay` on a service of the project."""
        from ..chaos.kinds import kinds
        if "network-delay" not in kinds():
            raise UserError(f"{self.where or self.file}: this gameday has no network-delay fault kind yet")
        svc, ns = self.project.lookup_service(service)
        self.inject("network-delay", {"service": svc, "namespace": ns, "ms": ms})

    def _run_argv(self, argv: list[str], where: str) -> CommandResult:
        where = where or self.where or self.file
        filled = commands.fill(argv, {p: self.resolve(p) for p in commands.placeholders(argv)
                                      if self.binding(p) is not None or f"<{p}>" in self.project.placeholders}, where)
        self._check_blast_radius(filled, where)
        proc = self.target.kubectl(filled[1:], timeout=COMMAND_TIMEOUT_S)
        self.last_output = CommandResult(filled, proc.returncode, proc.stdout, proc.stderr)
        if proc.returncode != 0:
            raise StepFailed(f"'{' '.join(filled)}' exited {proc.returncode}: "
                             f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:] or ['no output']}")
        return self.last_output

    def _check_blast_radius(self, argv: list[str], where: str) -> None:
        """An operator command aimed at a namespace the project does not allow is refused."""
        for i, a in enumerate(argv):
            ns = argv[i + 1] if a in ("-n", "--namespace") and i + 1 < len(argv) else \
                a.split("=", 1)[1] if a.startswith("--namespace=") else None
            if ns is not None and not self.project.allows_namespace(ns):
                raise UserError(f"{where}: '{' '.join(argv)}' touches namespace {ns!r}, outside the blast radius of "
                                f"{self.project.path} (target.namespaces: {', '.join(self.project.namespaces)}); refused")
            if a in ("-A", "--all-namespaces") and argv[1:2] and argv[1] not in ("get", "describe", "top", "logs"):
                raise UserError(f"{where}: '{' '.join(argv)}' acts on every namespace, outside the blast radius; refused")

    def set_timebox(self, heading: str, value: str) -> None:
        """The feature's own time box for a runbook step a person carries out
        (instead of the one its heading states)."""
        from ..human.timebox import parse_override
        try:
            self.timeboxes[heading.strip().lower()] = parse_override(value)
        except ValueError as exc:
            raise UserError(f"{self.where or self.file}: {exc}") from None

    def person_carries_out(self, step_name: str, block: str, heading: str = "") -> None:
        from ..human.timebox import parse as parse_timebox
        from ..human.effects import effect_of
        # Ends at `done`, or once gameday sees the block's effect (scaled, restarted).
        step = self.person.carry_out(step_name, block, within=self.person_step_within_s,
                                     timebox=self.timeboxes.get(heading.strip().lower()) or parse_timebox(heading),
                                     heading=heading,
                                     effect=effect_of(block, self.target))
        if step.ended_by == "timeout":
            self._fail_with_slas(f"the person did not finish step {step_name!r} within {self.person_step_within_s:g}s")

    def operator_runs(self, line: str, where: str = "") -> None:
        if self.operator == "human":
            return self.person_carries_out(slugify(line), line)
        argv = commands.parse_command(line, where or self.where or self.file)
        with self.drill.step(slugify(line)):
            self._run_argv(argv, where)

    def carry_out(self, step_name: str, block: str, where: str = "", heading: str = "") -> None:
        """A runbook step: its command lines in order, timed as one step.
        In human mode the person carries it out in `gameday shell`."""
        if self.operator == "human":
            return self.person_carries_out(step_name, block, heading)
        lines = commands.split_block(block or "")
        if not lines:
            raise UserError(f"{where or self.where or self.file}: step {step_name!r} has no commands; put the runbook's "
                            f"kubectl lines in a \"\"\" block under it")
        argvs = [commands.parse_command(line, where or self.where or self.file) for line in lines]  # all checked before any runs
        outputs = []
        with self.drill.step(step_name):
            for argv in argvs:
                outputs.append(self._run_argv(argv, where))
        # `Then the output shows` looks at everything the step printed.
        self.last_output = CommandResult(argvs[-1], 0, "".join(o.stdout for o in outputs),
                                         "".join(o.stderr for o in outputs))

    def send(self, service: str, namespace: str, request: str, body: str | None = None) -> None:
        """An operator's request to a service (e.g. submit a job); a non-2xx
        answer fails the step."""
        method, path = _split_request(request, self.where or self.file)
        data = (body if body is not None else json.dumps(DEFAULT_JOB)).encode() if method in ("POST", "PUT", "PATCH") else None
        with self.drill.step(slugify(f"{method} {path}")):
            answer = http_request(method, self.target.service_url(service, namespace) + path, data)
        self.last_answer = answer
        if not 200 <= answer.status < 300:
            raise StepFailed(f"{method} {path} on {namespace}/{service} answered {answer.status}: {answer.body[:200]!r}")

    def deploy_canary(self, deployment: str, namespace: str, replicas: int) -> None:
        """The runbook's canary (`helm upgrade --set deployment.strategy=canary`)
        as Kubernetes does it: a second Deployment from the stable one's pod
        template, labelled version=canary, behind the same Service."""
        with self.drill.step("deploy-canary"):
            proc = self.target.kubectl(["get", "deployment", deployment, "-n", namespace, "-o", "json"], timeout=60)
            if proc.returncode != 0:
                raise StepFailed(f"deployment {namespace}/{deployment}: {proc.stderr.strip()[:300]}")
            canary = canary_of(json.loads(proc.stdout), replicas)
            proc = self.target.kubectl(["apply", "-f", "-"], timeout=60, input=json.dumps(canary))
            if proc.returncode != 0:
                raise StepFailed(f"canary of {namespace}/{deployment} not created: {proc.stderr.strip()[:300]}")

    # --- Then ----------------------------------------------------------------
    def expect_alert(self, alert: str, within: float) -> None:
        if self.drill.detection_alert is None:
            self.drill.detection_alert = alert  # the first alert the runbook waits for is the detection
        took = self.drill.wait_for_alert(alert, within=within)
        if took is None:
            self._fail_with_slas(f"alert {alert} did not fire within {within:g}s of the fault")
        if self.operator == "human" and self.person.operator.paged_at is None:
            # the page is Alertmanager's notification; then the person's acknowledgement
            if self.person.page(alert, within=within + 60) is None:
                self._fail_with_slas(f"alert {alert} fired but Alertmanager's webhook never paged gameday's receiver")
            if self.person.acknowledge(within=self.ack_within_s) is None:
                self._fail_with_slas(f"nobody acknowledged the page within {self.ack_within_s:g}s")

    def expect_recovered(self, within: float) -> None:
        took = self.drill.wait_recovered(within=within, settle=self.settle_s)
        if took is None:
            self._fail_with_slas(f"the platform did not recover within {within:g}s")

    def expect_output(self, text: str) -> None:
        out = self.last_output
        if out is None:
            raise StepFailed(f"no command has run yet, so there is no output to show {text!r}")
        if text not in out.stdout and text not in out.stderr:
            shown = (out.stdout or out.stderr).strip()
            raise StepFailed(f"the output of '{' '.join(out.argv)}' does not show {text!r}; it was: {shown[:400]!r}")

    def expect_ready_replicas(self, deployment: str, namespace: str, replicas: int, within: float) -> None:
        def ready() -> int | None:
            proc = self.target.kubectl(["get", "deployment", deployment, "-n", namespace, "-o", "json"], timeout=30)
            if proc.returncode != 0:
                return None
            status = json.loads(proc.stdout).get("status", {})
            n = int(status.get("readyReplicas") or 0)
            return True if n == replicas else None   # truthy: 0 ready replicas is an answer too
        if not wait_until(ready, within):
            self._fail_with_slas(f"deployment {namespace}/{deployment} did not have {replicas} ready replicas within {within:g}s")

    def expect_pods_phase(self, selector: str, namespace: str, phase: str, within: float) -> None:
        def phases() -> list[str] | None:
            proc = self.target.kubectl(["get", "pods", "-n", namespace, "-l", selector, "-o", "json"], timeout=30)
            if proc.returncode != 0:
                return None
            items = [i for i in json.loads(proc.stdout).get("items", []) if not i["metadata"].get("deletionTimestamp")]
            got = [i.get("status", {}).get("phase", "") for i in items]
            return got if got and all(p == phase for p in got) else None
        if wait_until(phases, within) is None:
            self._fail_with_slas(f"pods labelled {selector} in {namespace} were not all {phase} within {within:g}s")

    def expect_pod_state(self, selector: str, namespace: str, state: str, within: float) -> None:
        """Wait until some pod with these labels is in `state`: a phase
        (Pending), a container waiting reason (CrashLoopBackOff) or a
        terminated one (OOMKilled, Error)."""
        def states(pod: dict) -> set[str]:
            status = pod.get("status", {})
            out = {status.get("phase", "")}
            for cs in status.get("containerStatuses") or []:
                for part in (cs.get("state") or {}, cs.get("lastState") or {}):
                    for detail in part.values():
                        if isinstance(detail, dict) and detail.get("reason"):
                            out.add(detail["reason"])
            return out

        def found() -> str | None:
            proc = self.target.kubectl(["get", "pods", "-n", namespace, "-l", selector, "-o", "json"], timeout=30)
            if proc.returncode != 0:
                return None
            pods = json.loads(proc.stdout).get("items", [])
            return next((p["metadata"]["name"] for p in pods if state in states(p)), None)
        if wait_until(found, within) is None:
            self._fail_with_slas(f"no pod labelled {selector} in {namespace} was {state} within {within:g}s")

    def expect_http(self, service: str, namespace: str, status: int, request: str, within: float = 0.0,
                    body: str | None = None) -> None:
        method, path = _split_request(request, self.where or self.file)
        url = self.target.service_url(service, namespace) + path
        data = None
        if method in ("POST", "PUT", "PATCH"):
            data = (body if body is not None else json.dumps(DEFAULT_JOB)).encode()

        def ask() -> HttpAnswer | None:
            answer = http_request(method, url, data)
            self.last_answer = answer
            return answer if answer.status == status else None
        if wait_until(ask, within) is None:
            got = self.last_answer
            raise StepFailed(f"{method} {path} on {namespace}/{service} answered {got.status if got else 'nothing'}, "
                             f"not {status}{f' within {within:g}s' if within else ''}: {(got.body if got else '')[:200]!r}")

    def expect_training_progress(self, within: float) -> None:
        """Wait until the drill sees the trainer's step counter move after
        the last runbook step (a job running, or resumed after a restart)."""
        d = self.drill
        d.watch_training()  # idempotent
        timeline = d.timeline
        marks = [e.t for e in list(timeline.events) if e.kind in (Kinds.step_finished.name, Kinds.fault_injected.name)]
        since = max(marks) if marks else 0.0

        def moved() -> bool:
            steps = [e for e in list(timeline.events) if e.kind == Kinds.training_progress.name and e.t > since]
            return len(steps) >= 2
        if not wait_until(moved, within):
            self._fail_with_slas(f"the trainer made no progress within {within:g}s")

    def expect_answer_shows(self, text: str) -> None:
        if self.last_answer is None:
            raise StepFailed(f"no HTTP request was made yet, so there is no answer to show {text!r}")
        if text not in self.last_answer.body:
            raise StepFailed(f"the answer of {self.last_answer.method} {self.last_answer.url} does not show {text!r}")

    def require_own_pid_namespace(self, selector: str, namespace: str) -> None:
        """Skip the scenario unless every running pod with these labels shows
        its container's entrypoint as PID 1 (read from /proc/1/cmdline in the
        pod), i.e. has a PID namespace of its own."""
        import pytest
        try:
            host_init = open("/proc/1/cmdline", "rb").read().replace(b"\0", b" ").strip().decode(errors="replace")
        except OSError:
            host_init = ""
        pods = [p for p in self._get_json(["get", "pods", "-n", namespace, "-l", selector])
                if p.get("status", {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]
        if not pods:
            raise StepFailed(f"no running pod labelled {selector} in namespace {namespace}")
        for pod in pods:
            name = pod["metadata"]["name"]
            proc = self.target.kubectl(["exec", name, "-n", namespace, "--", "cat", "/proc/1/cmdline"], timeout=60)
            pid1 = proc.stdout.replace("\0", " ").strip()
            command = [*(pod["spec"]["containers"][0].get("command") or [])]
            want = command[0].rsplit("/", 1)[-1] if command else ""
            if proc.returncode != 0 or not pid1 or pid1 == host_init or (want and want not in pid1):
                pytest.skip(f"pod {namespace}/{name} has no PID namespace of its own (PID 1 there: {pid1[:80]!r}); "
                            f"the runbook's signal to PID 1 is not sent")

    def require(self, check: dict) -> None:
        """Add a check to the steady state (the default covers the API, the
        database and /health/ready). Declared before the drill starts, it is
        part of the steady state from the first check; a workload may also
        be added later (its watch is already running)."""
        from ..drill.steady import parse_checks
        parsed = parse_checks([check], self.where or self.file)
        if self._drill is None:
            self.extra_checks.append(check)
        elif parsed[0].kind in ("deployment", "statefulset"):
            self._drill.checks.extend(parsed)  # its watch is already running
        else:
            raise UserError(f"{self.where or self.file}: put this step before 'the platform is at steady state': "
                            f"an HTTP check must be part of the steady state from the start")

    def await_alert_quiet(self, alert: str, within: float = 120.0) -> None:
        """Before the fault: wait (bounded) until `alert` is not firing, so
        that the drill's own fault is what makes it fire. Only a precondition:
        recovery does not wait for the alert to resolve."""
        from ..drill.steady import parse_checks
        check = parse_checks([{"alert_not_firing": alert}], self.where or self.file)[0]
        drill = self.drill
        drill.checks.append(check)
        try:
            drill.confirm_steady_state(within=within)
        finally:
            drill.checks.remove(check)

    def judge(self, slas: list[sla_maths.Sla]):
        """The verdict from the timeline file alone (see `judge_events`); a
        person's steps are also judged against their time boxes."""
        if self._person is not None:
            known = {s.metric for s in slas}
            slas = [*slas, *(x for x in sla_maths.parse_all(self._person.timebox_slas(), "time box")
                             if x.metric not in known)]
        path = self.timeline_path
        from ..timeline.store import read
        self._collect_notifications()
        return judge_events(read(path) if path else [], slas, self._drill.detection_alert if self._drill else None)

    def _collect_notifications(self) -> None:
        """What the platform's notification receiver got since the fault, onto
        the timeline (time_to_notify), when gameday.yaml names the receiver."""
        spec = getattr(self.project, "notifications", None)
        d = self._drill
        if spec is None or d is None or d.fault_at is None:
            return
        from ..drill.notifications import collect
        collect(self.target, spec, d.fault_at, d.timeline, self._notified)

    def _await_load_after_work(self, within: float = 10.0) -> None:
        """Under load, let one full second of load after the last runbook
        step reach the timeline, so a short step's window is not empty."""
        d = self._drill
        if d is None or d.load is None:
            return
        timeline = d.timeline
        marks = [e.t for e in list(timeline.events) if e.kind in (Kinds.step_finished.name, Kinds.fault_injected.name)]
        if marks:
            last = max(marks)
            wait_until(lambda: any(e.kind == Kinds.load_sample.name and e.t >= last + 1.0 for e in list(timeline.events)), within)

    def check_slas(self, slas: list[sla_maths.Sla]) -> None:
        self._await_load_after_work()
        if any(s.metric == "lost_writes" for s in slas) and self._drill is not None:
            self._drill.verify_writes()  # read back every acknowledged job before judging
        self.verdict = self.judge(slas)
        if not self.verdict.passed:
            raise StepFailed(format_misses(self.verdict))

    def _fail_with_slas(self, reason: str) -> None:
        """A wait ran out: fail naming the SLAs of the scenario this misses,
        with what was measured so far."""
        if self.slas and self._drill is not None:
            self.verdict = self.judge(self.slas)
            if not self.verdict.passed:
                raise StepFailed(f"{reason}; {format_misses(self.verdict)}")
        raise StepFailed(reason)


DEFAULT_JOB = {"name": "gameday-drill-probe", "steps": 20}


def _split_request(request: str, where: str) -> tuple[str, str]:
    """'POST /jobs' -> ('POST', '/jobs'); '/health' -> ('GET', '/health')."""
    parts = request.strip().split(None, 1)
    method, path = (parts[0].upper(), parts[1].strip()) if len(parts) == 2 else ("GET", parts[0] if parts else "")
    if not path.startswith("/"):
        raise UserError(f"{where}: request {request!r} must be 'PATH' or 'METHOD PATH', e.g. 'POST /jobs'")
    return method, path


def judge_events(events: list, slas: list[sla_maths.Sla], detection_alert: str | None = None):
    """The verdict of a scenario's timeline (gameday.sla.judge_timeline)."""
    return sla_maths.judge_timeline(events, slas, detection_alert)


def format_misses(verdict) -> str:
    """`SLA missed: time_to_recover <= 120s (measured 143.20s)` for each miss."""
    parts = []
    if getattr(verdict, "not_run", None):
        parts.append(f"the drill did not run: {verdict.not_run}")
    if getattr(verdict, "aborted", None):
        parts.append(f"the drill was aborted: {verdict.aborted}")
    for r in verdict.failed:
        measured = r.measured_text if r.measured is not None else f"none: {r.reason}" if r.reason else "none"
        parts.append(f"SLA missed: {r.sla.text} (measured {measured})")
    return "; ".join(parts) or "the verdict failed"
