"""The runbook check: every block of every procedure run verbatim against the
target, each line judged, findings written like bug reports.

Mutating procedures (scale, patch, drain, delete) run from the steady state
and what they changed is put back afterwards with the scenarios' snapshot
machinery (`gameday.bdd.snapshot`); on a target that is not a sandbox only
read-only lines run unless the procedure is allowed by name."""
from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError
from ..target import Target
from . import fill as filling
from .parse import Procedure, Runbook, Unit, parse
from .session import Workspace, run_block
from .settings import RunbookSettings
from .verdict import LineResult, judge_unit, procedure_expectations

log = logging.getLogger(__name__)
READ_ONLY_VERBS = {"get", "describe", "logs", "top", "explain", "version", "api-resources", "api-versions",
                   "cluster-info", "auth", "events", "wait"}
# Columns renamed by newer server versions: a correction is offered only when running it succeeds.
KNOWN_RENAMES = {"mean_time": "mean_exec_time", "total_time": "total_exec_time", "min_time": "min_exec_time",
                 "max_time": "max_exec_time", "stddev_time": "stddev_exec_time", "--delete-local-data": "--delete-emptydir-data"}


def load_runbook(path: Path) -> Runbook:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: runbook not found; pass the path of a Markdown runbook") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read the runbook ({exc}); pass a UTF-8 Markdown file") from None
    from .parse import ParseError
    try:
        rb = parse(text, str(path))
    except ParseError as exc:
        raise UserError(f"{path}:{exc.line}: {exc.message}; bash would not run this block either") from None
    if not rb.procedures:
        raise UserError(f"{path}: no heading owns a ```bash block; a runbook procedure is a heading with commands under it")
    return rb


def _commands_of(unit: Unit, program: str):
    """Each simple command of the unit (those inside $(...) too) that runs `program`."""
    for p in unit.pipelines:
        for c in [*p.commands, *(s for c in p.commands for s in c.substitutions)]:
            if c.name == program:
                yield c


def kubectl_verbs(unit: Unit) -> list[str]:
    out = []
    for c in _commands_of(unit, "kubectl"):
        words = [w for w in c.words[1:] if not w.startswith("-")]
        if words:
            verb = words[0].strip("'\"")
            if verb == "rollout" and len(words) > 1 and words[1] in ("history", "status"):
                verb = "get"
            out.append(verb)
    return out


# helm subcommands that only read (the rest install, change, test or remove releases)
HELM_READ_ONLY = {"list", "ls", "history", "hist", "get", "status", "show", "inspect", "template", "version",
                  "search", "env", "lint", "help", "verify", "dependency", "dep"}


def helm_subcommands(unit: Unit) -> list[str]:
    from ..drill.permissions import helm_words
    out = []
    for c in _commands_of(unit, "helm"):
        _ns, words = helm_words([w.strip("'\"") for w in c.words])
        if words:
            out.append(words[0])
    return out


def mutates(unit: Unit) -> bool:
    return any(v not in READ_ONLY_VERBS for v in kubectl_verbs(unit)) or \
        any(v not in HELM_READ_ONLY for v in helm_subcommands(unit))


_NO_PREVIOUS = re.compile(r"previous terminated container \"[^\"]*\" in pod \"[^\"]*\" not found")


def unmet_situation(unit: Unit, res: LineResult, absent: dict, needed: str) -> None:
    """A failed line whose failure says the situation it handles is not
    present on the target (no object for its placeholder, no crashed
    container for `--previous`), or whose input an earlier line that could
    not run here would have made: "unmet", not a finding against the runbook.
    Its reason says which; a corrected line that passed keeps it a finding."""
    if res.correction and res.correction_verdict == "passed":
        return
    why = ""
    missing = [name for name in absent if name in unit.text]
    if missing:
        spec = absent[missing[0]]
        why = (f"{missing[0]} names nothing on the target ({spec}): the situation this line handles "
               "is not present here")
    elif _NO_PREVIOUS.search(res.output_head):
        why = "no container of the pod has terminated: the crash this line reads is not happening here"
    elif needed:
        why = f"its input comes from {needed}, which did not run here"
    if why:
        res.verdict, res.reason = "unmet", f"{why} ({res.reason})"


@dataclass
class ProcedureResult:
    slug: str
    title: str
    line: int
    lines: list[LineResult] = field(default_factory=list)
    duration_s: float = 0.0
    restored: list[str] = field(default_factory=list)
    workspace: str = ""

    def to_json(self) -> dict:
        return {"slug": self.slug, "title": self.title, "line": self.line, "duration_s": round(self.duration_s, 3),
                "restored": self.restored, "workspace": self.workspace, "lines": [l.to_json() for l in self.lines]}


@dataclass
class CheckResult:
    runbook: str
    target: str
    procedures: list[ProcedureResult]
    duration_s: float = 0.0

    @property
    def lines(self) -> list[LineResult]:
        return [l for p in self.procedures for l in p.lines]

    @property
    def failed(self) -> list[LineResult]:
        return [l for l in self.lines if l.failed]

    def to_json(self) -> dict:
        return {"runbook": self.runbook, "target": self.target, "duration_s": round(self.duration_s, 3),
                "procedures": [p.to_json() for p in self.procedures]}


class Checker:
    def __init__(self, runbook_path: Path, settings: RunbookSettings, target: Target, reports_dir: Path,
                 read_only: bool = False, repo: Path | None = None):
        self.runbook_path = runbook_path
        self.settings = settings
        self.target = target
        self.reports_dir = reports_dir
        self.read_only = read_only or not target.sandbox
        self.repo = repo or _repo_of(runbook_path)
        self._kubeconfig_text: str | None = None
        self.bound_values: dict[str, object] = {}   # placeholder -> callable giving its value (a scenario's bindings)
        self._hosts = None

    # --- the operator's environment ---------------------------------------
    def kubeconfig_text(self) -> str:
        if self._kubeconfig_text is None:
            proc = self.target.kubectl(["config", "view", "--flatten", "--minify", "--raw"], timeout=30)
            if proc.returncode != 0:
                raise UserError(f"{self.target.kubeconfig}: kubectl config view failed: {proc.stderr.strip()[:200]}")
            self._kubeconfig_text = proc.stdout
        return self._kubeconfig_text

    def hosts(self):
        if self._hosts is None:
            from .hosts import HostMapping
            self._hosts = HostMapping.start(self.settings.hosts, self.target, self.reports_dir / "hosts")
        return self._hosts

    def placeholder_values(self, text: str) -> dict[str, str]:
        values = {}
        for name in filling.used(text, self.bound_values):
            values[name] = str(self.bound_values[name]())
        for name in filling.used(text, self.settings.placeholders):
            if name in values:
                continue
            values[name] = self.resolve_placeholder(name, self.settings.placeholders[name])
        return values

    def resolve_placeholder(self, name: str, spec) -> str:
        if isinstance(spec, (str, int, float)):
            return str(spec)
        if not isinstance(spec, dict):
            raise UserError(f"{self.settings.source}: placeholder {name!r} must be a value or {{pod: SELECTOR, namespace: NS}}")
        kind = next((k for k in ("pod", "job", "node", "deployment", "image") if k in spec), None)
        if kind is None:
            raise UserError(f"{self.settings.source}: placeholder {name!r} names a pod, job, node, deployment or image")
        ns = spec.get("namespace", "")
        res = {"image": "pod"}.get(kind, kind)
        args = ["get", f"{res}s", "-o", "json"] + (["-n", ns] if ns and res != "node" else [])
        if spec[kind]:
            args += ["-l", str(spec[kind])]
        proc = self.target.kubectl(args, timeout=30)
        items = json.loads(proc.stdout).get("items", []) if proc.returncode == 0 else []
        items = [i for i in items if not i["metadata"].get("deletionTimestamp")]
        if not items:
            return name  # left as written: the line then fails and says so
        if kind == "image":
            return items[0]["spec"]["containers"][0]["image"]
        return sorted(i["metadata"]["name"] for i in items)[0]

    # --- running ------------------------------------------------------------
    def run(self, procedures: list[Procedure] | None = None, only: str | None = None) -> CheckResult:
        rb = load_runbook(self.runbook_path)
        procs = procedures or list(rb.procedures)
        if only:
            p = rb.procedure(only)
            if p is None:
                raise UserError(f"{self.runbook_path}: no procedure {only!r}; `gameday runbook show` lists them")
            procs = [p]
        started = time.monotonic()
        results = [self.run_procedure(p) for p in procs]
        return CheckResult(str(self.runbook_path), self.target.context, results, time.monotonic() - started)

    def run_procedure(self, proc: Procedure, unit_filter=None, restore: bool = True) -> ProcedureResult:
        out = ProcedureResult(proc.slug, proc.title, proc.line)
        t0 = time.monotonic()
        allowed = proc.slug in self.settings.allow_mutating
        mutating = any(mutates(u) for u in proc.units if u.kind == "command")
        snap = None
        namespaces = self._namespaces(proc)
        if mutating and not self.read_only and restore:
            from ..bdd import snapshot
            self.wait_steady(namespaces)
            snap = snapshot.take(self.target, namespaces)
            deleted = self._objects_deleted_by(proc)
        try:
            for bi, block in enumerate(proc.blocks):
                out.lines += self.run_block(proc, bi, block, unit_filter, allowed)
            if unit_filter is None and (not self.read_only or allowed):
                out.lines += self.afterwards(proc)
        finally:
            if snap is not None:
                from ..bdd import snapshot
                out.restored = snapshot.restore(self.target, snap, namespaces)
                out.restored += self._recreate(deleted)
                self.wait_steady(namespaces)
        exp = self.settings.expectations.get(proc.slug)
        whole = "".join(l.output_head for l in out.lines)
        extra = procedure_expectations(proc.slug, whole, exp, proc.line)
        if extra:
            out.lines.append(extra)
        out.duration_s = time.monotonic() - t0
        out.workspace = str(self.reports_dir / "workspaces" / proc.slug)
        return out

    def run_block(self, proc: Procedure, index: int, block, unit_filter, allowed: bool) -> list[LineResult]:
        units = [u for u in block.units if unit_filter is None or unit_filter(u)]
        if not units:
            return []
        text = block.text
        if unit_filter is not None:
            # part of a block: the chosen units only, at their own lines (others blank)
            keep = set()
            for u in units:
                keep.update(range(u.block_line, u.block_line + u.last_line - u.first_line + 1))
            text = "\n".join(l if i in keep else "" for i, l in enumerate(block.text.split("\n"), start=1))
        values = self.placeholder_values(text)
        filled = filling.fill(text, values)
        # a placeholder the target has nothing for stays as written (the line then says so)
        absent = {name: self.settings.placeholders.get(name) for name, v in values.items() if v == name}
        skip = set()
        if self.read_only and not allowed:
            for u in units:
                if u.kind == "command" and mutates(u):
                    skip.add(u.block_line)
        bounded = {u.block_line for u in units if u.kind == "command" and u.interactive}
        ws = self.workspace(proc.slug, {p for u in units for p in u.programs})
        n_cmd = sum(1 for u in units if u.kind == "command")
        session = run_block(ws, filled, f"block{index + 1}", skip, bounded, self.settings.interactive_bound_s,
                            timeout_s=self.settings.line_timeout_s * max(1, n_cmd))
        if session.error:
            raise UserError(f"the operator session could not start: {session.error}")
        exp = self.settings.expectations.get(proc.slug)
        results = [judge_unit(proc.slug, u, session, exp) for u in units]
        if session.timed_out:
            for r in results:
                if r.verdict == "not reached":
                    r.verdict, r.reason = "failed", "the block ran past its time bound before this line"
        needed = ""
        for u, r in zip(units, results):
            if r.verdict == "needs":
                needed = needed or f"line {r.line} needs {r.needs}"
            if r.failed:
                self.correct(proc, u, r, ws)
                unmet_situation(u, r, absent, needed)
        return results

    def afterwards(self, proc: Procedure) -> list[LineResult]:
        """The procedure's `afterwards` expectations, each run in the
        operator's session once its lines ran: what must hold now (the
        effect the runbook promises), judged by the commands' exit status."""
        from .parse import split_block
        exp = self.settings.expectations.get(proc.slug)
        out = []
        for i, (what, text) in enumerate(exp.afterwards if exp else ()):
            programs = {p for u in split_block(text.rstrip("\n") + "\n") for p in u.programs}
            ws = self.workspace(proc.slug, programs)
            session = run_block(ws, text, f"afterwards-{i + 1}", set(), set(), 1.0,
                                timeout_s=self.settings.line_timeout_s)
            shown = session.output.strip()[-300:]
            res = LineResult(proc.slug, proc.line, proc.line, f"(afterwards) {what}", "passed",
                             output_head=shown, duration_s=round(session.duration_s, 3))
            statuses = [s for r in session.records for s in r.pipestatus]
            if session.timed_out or any(statuses):   # every command of it must succeed
                res.verdict = "failed"
                res.reason = f"after the procedure's lines, this does not hold: {what}" + (f" ({shown})" if shown else "")
            out.append(res)
        return out

    def _workdir(self) -> str:
        """The runbook's folder relative to its repository ("" when it is the root)."""
        try:
            rel = self.runbook_path.resolve().parent.relative_to(Path(self.repo).resolve())
        except ValueError:
            return ""
        return "" if str(rel) == "." else str(rel)

    def workspace(self, slug: str, programs: set[str]) -> Workspace:
        root = (self.reports_dir / "workspaces" / slug).resolve()
        hosts = self.hosts()
        ws = Workspace(root, self.repo, self.kubeconfig_text(), hosts.hosts_file(), hosts.ca_bundle,
                       dict(self.settings.env), workdir=self._workdir())
        ws.prepare(programs)
        if hosts.curlrc:
            (root / "home/.curlrc").write_text(hosts.curlrc)
        return ws

    # --- corrections ----------------------------------------------------------
    def correct(self, proc: Procedure, unit: Unit, res: LineResult, ws: Workspace) -> None:
        """A corrected line where the target shows one, checked by running it:
        the object under the kind/namespace the target has it, then a column or
        flag under its name in this server's version."""
        from .parse import split_block
        text, output = unit.text, res.output_head
        for attempt in range(3):
            candidate = None
            for old, new in KNOWN_RENAMES.items():
                pattern = rf"(?<![\w-]){re.escape(old)}(?![\w-])"
                if re.search(pattern, text) and re.search(rf"{re.escape(old)}.*(does not exist|unknown)|unknown flag", output):
                    candidate = re.sub(pattern, new, text)
                    break
            if candidate is None and "NotFound" in output:
                candidate = self._other_kind_or_namespace(text)
            if candidate is None and re.search(r"release has no \d+ version", output):
                # a fixed revision the release's history no longer holds: "the previous version" is no number
                candidate = re.sub(r"(helm\s+rollback\s+[a-z0-9-]+)\s+\d+\b", r"\1", text, count=1)
                candidate = None if candidate == text else candidate
            if not candidate:
                return
            try:
                new_unit = split_block(candidate + "\n")[0]
            except Exception:
                return
            filled = filling.fill(candidate + "\n", self.placeholder_values(candidate))
            session = run_block(ws, filled, f"correction-{unit.first_line}-{attempt + 1}", set(), set(), 1.0,
                                timeout_s=self.settings.line_timeout_s)
            checked = judge_unit(proc.slug, new_unit, session)
            res.correction, res.correction_verdict = candidate, checked.verdict
            res.correction_output = checked.output_head[:300]
            if checked.verdict != "failed":
                return
            text, output = candidate, checked.output_head

    _OBJECT = re.compile(r"\b(deployment|deploy|statefulset|sts|daemonset|job|pod|service|svc|configmap|hpa)"
                         r"(?:/|\s+)([a-z0-9][a-z0-9.-]*)")

    def _other_kind_or_namespace(self, text: str) -> str | None:
        m = self._OBJECT.search(text)
        if not m:
            return None
        kind, name = m.group(1), m.group(2)
        ns_m = re.search(r"(?:-n|--namespace)[ =]([a-z0-9-]+)", text)
        proc = self.target.kubectl(["get", "deployments,statefulsets,daemonsets,services,configmaps,jobs", "-A",
                                    "-o", "json"], timeout=30)
        if proc.returncode != 0:
            return None
        kinds = {"Deployment": "deployment", "StatefulSet": "statefulset", "DaemonSet": "daemonset",
                 "Service": "service", "ConfigMap": "configmap", "Job": "job"}
        found = [(kinds.get(i["kind"], i["kind"].lower()), i["metadata"]["namespace"])
                 for i in json.loads(proc.stdout).get("items", []) if i["metadata"]["name"] == name]
        workload = [f for f in found if f[0] in ("deployment", "statefulset", "daemonset", "job")] or found
        if not workload:
            return None
        new_kind, new_ns = workload[0]
        sep = text[m.end(1):m.start(2)]
        fixed = text[:m.start(1)] + new_kind + sep + text[m.start(2):]
        if ns_m and ns_m.group(1) != new_ns:
            fixed = re.sub(r"((?:-n|--namespace)[ =])" + re.escape(ns_m.group(1)) + r"\b", r"\g<1>" + new_ns, fixed, count=1)
        return fixed if fixed != text else None

    # --- objects a line deletes ------------------------------------------------
    _DELETE = re.compile(r"kubectl\s+delete\s+([a-z.]+)[/\s]+(\S+)(?=.*(?:-n|--namespace)[ =]([a-z0-9-]+))?")

    def _objects_deleted_by(self, proc: Procedure) -> list[dict]:
        """The objects `kubectl delete KIND NAME` lines name, as they are now
        (pods are left to their controllers)."""
        saved = []
        for u in proc.units:
            text = filling.fill(u.text, self.placeholder_values(u.text))
            for m in self._DELETE.finditer(text):
                kind, name, ns = m.group(1), m.group(2).strip("'\""), m.group(3)
                if kind in ("pod", "pods", "po") or name.startswith("-"):
                    continue
                proc_ = self.target.kubectl(["get", kind, name, "-o", "json"] + (["-n", ns] if ns else []), timeout=30)
                if proc_.returncode == 0:
                    saved.append(json.loads(proc_.stdout))
        return saved

    def _recreate(self, objects: list[dict]) -> list[str]:
        done = []
        for obj in objects:
            meta = obj.get("metadata", {})
            ns, name, kind = meta.get("namespace"), meta.get("name"), obj.get("kind", "")
            args = ["get", kind.lower(), name, "-o", "name"] + (["-n", ns] if ns else [])
            if self.target.kubectl(args, timeout=30).returncode == 0:
                continue
            obj = json.loads(json.dumps(obj))
            for k in ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink"):
                obj["metadata"].pop(k, None)
            obj.pop("status", None)
            if kind == "Job":   # the Job controller sets these; a re-created Job gets its own
                obj["spec"].pop("selector", None)
                for labels in (obj["metadata"].get("labels") or {}, ((obj["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}):
                    for key in [k for k in labels if "controller-uid" in k or k == "job-name" or k.endswith("/job-name")]:
                        labels.pop(key)
            r = self.target.kubectl(["create", "-f", "-"], timeout=60, input=json.dumps(obj))
            if r.returncode == 0:
                done.append(f"{kind.lower()} {ns}/{name} re-created")
            else:
                log.error("could not re-create %s %s/%s: %s", kind, ns, name, r.stderr.strip()[:200])
                done.append(f"{kind.lower()} {ns}/{name} NOT re-created: {r.stderr.strip()[:120]}")
        return done

    # --- steady state -------------------------------------------------------
    def _namespaces(self, proc: Procedure) -> tuple[str, ...]:
        found = set(self.settings.namespaces)
        for u in proc.units:
            found.update(re.findall(r"(?:-n|--namespace)[ =]([a-z0-9-]+)", u.text))
        return tuple(sorted(found))

    def wait_steady(self, namespaces: tuple[str, ...], within: float = 180.0) -> None:
        """Every Deployment/StatefulSet of those namespaces rolled out (bounded)."""
        for ns in namespaces:
            for kind in ("deployments", "statefulsets"):
                proc = self.target.kubectl(["get", kind, "-n", ns, "-o", "name"], timeout=30)
                for name in proc.stdout.split() if proc.returncode == 0 else []:
                    r = self.target.kubectl(["rollout", "status", name, "-n", ns, f"--timeout={int(within)}s"],
                                            timeout=within + 15)
                    if r.returncode != 0:
                        log.warning("%s in %s not rolled out: %s", name, ns, r.stderr.strip()[:200])

    def close(self) -> None:
        if self._hosts is not None:
            self._hosts.stop()


def _repo_of(runbook: Path) -> Path:
    p = runbook.resolve().parent
    for cand in (p, *p.parents):
        if (cand / ".git").exists():
            return cand
    return p
