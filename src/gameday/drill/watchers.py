"""Detection watchers: background threads that turn what they see into
timeline events and keep the state the steady-state checks read.

- `WorkloadWatcher`: Kubernetes watches (not polling) on pods, deployments and
  statefulsets of the namespaces a drill cares about;
- `HttpProbeWatcher`: an HTTP health probe every 250 ms;
- `AlertWatcher`: Prometheus and Alertmanager alert state every 250 ms.

None needs the main thread (Chaos Toolkit owns it). Each check is a `Signal`:
whether it holds now and since when, as observed (the time a watch event or
probe answer arrived), so recovery is timed by observation, not by when
someone asked."""
from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Callable

from ..httpcheck import request
from ..ready import ready_condition, workload_ready
from ..timeline import TimelineWriter
from ..timeline.events import Kinds

log = logging.getLogger(__name__)
INTERVAL = 0.25
ALERT_INTERVAL = 0.1  # alert APIs are cheap; detection is the figure most SLAs are about


@dataclass
class Signal:
    """One check's state: whether it holds and since when (observed)."""

    name: str
    ok: bool = False
    since: float = 0.0
    detail: str = ""
    seen: bool = False

    def set(self, ok: bool, t: float, detail: str = "") -> bool:
        """Record an observation; True when it is worth an event (a
        transition, or a first observation that fails)."""
        self.detail = detail
        if not self.seen:
            self.seen, self.ok, self.since = True, ok, t
            return not ok
        if ok != self.ok:
            self.ok, self.since = ok, t
            return True
        return False


class _Thread:
    LOG_EVERY = 10.0  # seconds between two log lines of the same watcher's failures

    def __init__(self) -> None:
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.last_error: str | None = None   # said in the verdict when the drill does not count
        self._logged_at = 0.0

    def failed(self, exc: BaseException, what: str = "") -> None:
        """A swallowed failure: kept as the last error, logged (rate-limited)."""
        self.last_error = f"{type(self).__name__}{' ' + what if what else ''}: {exc.__class__.__name__}: {exc}"[:300]
        now = time.monotonic()
        if now - self._logged_at >= self.LOG_EVERY:
            self._logged_at = now
            log.warning("%s (retrying)", self.last_error)

    def start(self) -> None:
        self.thread = threading.Thread(target=self._guarded, name=type(self).__name__, daemon=True)
        self.thread.start()

    def _guarded(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.run()
            except Exception as exc:  # the target blipped: retry, bounded by stop()
                self.failed(exc)
                self.stop_event.wait(1.0)

    def run(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def stop(self) -> None:
        self.stop_event.set()
        if self.thread:
            self.thread.join(5)


class WorkloadWatcher(_Thread):
    """Watches pods, deployments and statefulsets in `namespaces`; writes
    `pod_status` events; evaluates workload readiness signals."""

    def __init__(self, api_client, namespaces: list[str], timeline: TimelineWriter | None,
                 on_change: Callable[[], None] = lambda: None):
        super().__init__()
        self.api_client = api_client
        self.namespaces = sorted(set(namespaces))
        self.timeline = timeline
        self.on_change = on_change
        self.lock = threading.Lock()
        self.objects: dict[tuple[str, str, str], dict] = {}  # (kind, ns, name) -> object
        self._last_pod_state: dict[tuple[str, str], tuple] = {}
        self.synced = threading.Event()
        self._threads: list[threading.Thread] = []
        self._synced_count = 0

    def start(self) -> None:
        from kubernetes import client
        core, apps = client.CoreV1Api(self.api_client), client.AppsV1Api(self.api_client)
        kinds = (("pod", core.list_namespaced_pod), ("deployment", apps.list_namespaced_deployment),
                 ("statefulset", apps.list_namespaced_stateful_set))
        self._expected = len(kinds) * len(self.namespaces)
        for ns in self.namespaces:
            for kind, fn in kinds:
                t = threading.Thread(target=self._loop, args=(kind, fn, ns), name=f"watch-{kind}-{ns}", daemon=True)
                t.start()
                self._threads.append(t)

    def stop(self) -> None:
        self.stop_event.set()
        deadline = time.monotonic() + 0.5
        for t in self._threads:  # one blocked in a watch read ends at its timeout (daemon)
            t.join(max(0.0, deadline - time.monotonic()))

    def _loop(self, kind: str, list_fn, ns: str) -> None:
        from kubernetes import watch
        first = True
        while not self.stop_event.is_set():
            try:
                resp = list_fn(ns, _preload_content=False, _request_timeout=15)
                listing = json.loads(resp.data)
                now = time.time()
                with self.lock:
                    for key in [k for k in self.objects if k[0] == kind and k[1] == ns]:
                        del self.objects[key]
                    for obj in listing.get("items") or []:
                        self.objects[(kind, ns, obj["metadata"]["name"])] = obj
                if kind == "pod":
                    for obj in listing.get("items") or []:
                        self._pod_event(obj, now, deleted=False)
                if first:
                    first = False
                    with self.lock:
                        self._synced_count += 1
                        if self._synced_count >= self._expected:
                            self.synced.set()
                self.on_change()
                w = watch.Watch()
                for event in w.stream(list_fn, ns, resource_version=listing["metadata"].get("resourceVersion"),
                                      timeout_seconds=30, deserialize=False, _request_timeout=45):
                    if self.stop_event.is_set():
                        w.stop()
                        return
                    now = time.time()
                    obj, etype = event.get("object") or {}, event.get("type")
                    if etype == "ERROR" or not isinstance(obj, dict) or "metadata" not in obj:
                        break  # e.g. 410 Gone: re-list
                    key = (kind, ns, obj["metadata"]["name"])
                    with self.lock:
                        if etype == "DELETED":
                            self.objects.pop(key, None)
                        else:
                            self.objects[key] = obj
                    if kind == "pod":
                        self._pod_event(obj, now, deleted=etype == "DELETED")
                    self.on_change()
            except Exception as exc:
                self.failed(exc, "watch")
                self.stop_event.wait(0.5)

    def _pod_event(self, pod: dict, t: float, deleted: bool) -> None:
        meta, status = pod["metadata"], pod.get("status") or {}
        ready, ready_since = ready_condition(pod)
        terminating = bool(meta.get("deletionTimestamp"))
        restarts = sum(int(c.get("restartCount") or 0) for c in status.get("containerStatuses") or [])
        reason = ""
        started_at = ""
        for c in status.get("containerStatuses") or []:
            state = c.get("state") or {}
            if "waiting" in state:
                reason = (state["waiting"] or {}).get("reason") or reason
            if "terminated" in state:
                reason = (state["terminated"] or {}).get("reason") or reason
            if "running" in state:
                started_at = (state["running"] or {}).get("startedAt") or started_at
        phase = status.get("phase") or "Pending"
        if terminating:
            reason = reason or "Terminating"
        key = (meta.get("namespace", ""), meta["name"])
        state = (phase, ready, terminating, deleted, restarts, reason)
        if self._last_pod_state.get(key) == state:
            return
        self._last_pod_state[key] = state
        if deleted:
            self._last_pod_state.pop(key, None)
        if self.timeline:
            self.timeline.emit(Kinds.pod_status, t=t, namespace=key[0], pod=key[1], phase=phase, ready=ready and not terminating,
                               restarts=restarts, reason=reason, ready_since=ready_since, started_at=started_at,
                               deleted=deleted or terminating, deleted_at=meta.get("deletionTimestamp") or "")

    # --- readiness, read from the watched objects ------------------------
    def workload_ready(self, kind: str, ns: str, name: str) -> tuple[bool, str]:
        """Readiness (gameday.ready) of a watched deployment/statefulset."""
        with self.lock:
            obj = self.objects.get((kind, ns, name))
            pods = [o for (k, n, _), o in self.objects.items() if k == "pod" and n == ns]
        return workload_ready(kind, obj, pods, ns, name)


def http_probe(url: str, timeout: float = 1.0) -> tuple[int, str, float]:
    """(status, body, seconds) of GET url; status 0 when it does not answer."""
    a = request("GET", url, timeout=timeout)
    return a.status, a.body if a.status else "", a.seconds


def _json_subset(body: str, want: dict) -> bool:
    if not want:
        return True
    try:
        got = json.loads(body)
    except ValueError:
        return False
    return isinstance(got, dict) and all(got.get(k) == v for k, v in want.items())


class HttpProbeWatcher(_Thread):
    """GET `url` every 250 ms; it holds when the status is `expect`, the JSON
    body contains `json_subset` and the answer came within `max_latency_ms`.
    Writes probe_failed / probe_ok transitions."""

    def __init__(self, name: str, url: str, timeline: TimelineWriter | None, expect: int = 200,
                 json_subset: dict | None = None, max_latency_ms: float | None = None,
                 on_change: Callable[[], None] = lambda: None, interval: float = INTERVAL):
        super().__init__()
        self.signal = Signal(name)
        self.url, self.expect, self.timeline = url, expect, timeline
        self.json_subset, self.max_latency_ms = dict(json_subset or {}), max_latency_ms
        self.on_change, self.interval = on_change, interval

    def run(self) -> None:
        timeout = max(self.interval * 4, 1.0, (self.max_latency_ms or 0) / 1000.0 * 2)
        while not self.stop_event.is_set():
            started = time.time()
            code, body, took = http_probe(self.url, timeout=timeout)
            now = time.time()
            ok = code == self.expect and _json_subset(body, self.json_subset) and \
                (self.max_latency_ms is None or took * 1000.0 <= self.max_latency_ms)
            detail = f"{self.url} -> {code or 'no answer'} in {took * 1000:.0f}ms"
            # a failure began when the request that saw it was sent
            if self.signal.set(ok, now if ok else started, detail) and self.timeline:
                self.timeline.emit(Kinds.probe_ok if ok else "probe_failed", t=now, probe=self.signal.name, detail=detail)
            self.on_change()
            self.stop_event.wait(max(0.0, self.interval - (time.time() - started)))


class AlertWatcher(_Thread):
    """Alert state in Prometheus (`/api/v1/alerts`, state firing) and
    Alertmanager (`/api/v2/alerts`), each polled every 100 ms in its own
    thread; an alert counts as firing when either says so, and the first to
    say so is recorded as the source. A source that does not answer keeps its
    last known state (a blip is not a resolution)."""

    def __init__(self, sources: dict[str, str], timeline: TimelineWriter | None,
                 on_change: Callable[[], None] = lambda: None, interval: float = ALERT_INTERVAL):
        super().__init__()
        self.sources = sources  # "prometheus"|"alertmanager" -> base URL
        self.timeline, self.on_change, self.interval = timeline, on_change, interval
        self.firing: dict[str, float] = {}
        self.by_source: dict[str, dict[str, dict]] = {}
        self.polls = 0  # successful reads: "quiet" means nothing until the alerts were read once
        self.lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for kind, base in self.sources.items():
            t = threading.Thread(target=self._loop, args=(kind, base), name=f"alerts-{kind}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self.stop_event.set()
        for t in self._threads:
            t.join(2)

    def _read(self, kind: str, base: str) -> dict[str, dict] | None:
        from ..chaos.alerts import alertmanager_firing, prometheus_firing
        try:
            return (prometheus_firing if kind == "prometheus" else alertmanager_firing)(base)
        except Exception as exc:
            self.failed(exc, f"reading {kind} at {base}")
            return None

    def _loop(self, kind: str, base: str) -> None:
        while not self.stop_event.is_set():
            started = time.time()
            got = self._read(kind, base)
            now = time.time()
            if got is not None:
                with self.lock:
                    self.polls += 1
                    self.by_source[kind] = got
                    seen: dict[str, tuple[str, dict]] = {}
                    for source, alerts in self.by_source.items():
                        for name, labels in alerts.items():
                            if name not in seen or source == kind:
                                seen[name] = (source, labels)
                    for name, (source, labels) in seen.items():
                        if name not in self.firing:
                            self.firing[name] = now
                            if self.timeline:
                                self.timeline.emit(Kinds.alert_firing, t=now, alert=name, source=source,
                                                   labels={k: str(v) for k, v in labels.items()})
                    for name in [n for n in self.firing if n not in seen]:
                        del self.firing[name]
                        if self.timeline:
                            self.timeline.emit(Kinds.alert_resolved, t=now, alert=name, source=kind)
                self.on_change()
            self.stop_event.wait(max(0.0, self.interval - (time.time() - started)))

    def is_firing(self, name: str) -> bool:
        with self.lock:
            return name in self.firing

    def firing_of_severity(self, severity: str) -> list[str]:
        """The firing alerts labelled with this severity, by name."""
        with self.lock:
            return sorted({name for alerts in self.by_source.values() for name, labels in alerts.items()
                           if name in self.firing and str((labels or {}).get("severity")) == severity})


def parse_metrics(text: str, names: set[str]) -> dict[str, float]:
    """Values of unlabelled samples in Prometheus text format."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, rest = line.partition(" ")
        if name in names:
            try:
                out[name] = float(rest.split()[0])
            except (ValueError, IndexError):
                continue
    return out


class TrainingWatcher(_Thread):
    """The progress count (`progress.metric` of gameday.yaml) on a service's
    /metrics every 250 ms; writes `training_progress` when it changes. With
    `job_metric`, the count belongs to the job that metric names (0: none).
    With `resumes_metric` and `resumed_from_metric`, a resume from a
    checkpoint (the resumes went up, or a new process already resumed) is
    written first with the count it resumed from, so the drop is on record
    even when the worker re-passed its old count before the next poll."""

    def __init__(self, url: str, timeline: TimelineWriter | None, interval: float = INTERVAL,
                 step_metric: str = "", job_metric: str = "", resumes_metric: str = "",
                 resumed_from_metric: str = ""):
        super().__init__()
        if not step_metric:
            raise ValueError("TrainingWatcher needs the metric that counts the progress")
        self.url, self.timeline, self.interval = url, timeline, interval
        self.step_metric, self.job_metric = step_metric, job_metric
        self.resumes_metric, self.resumed_from_metric = resumes_metric, resumed_from_metric
        self.names = {n for n in (step_metric, job_metric, resumes_metric, resumed_from_metric) if n}
        self.last: tuple[str, int] | None = None
        self.resumes: float | None = None

    def run(self) -> None:
        while not self.stop_event.is_set():
            started = time.time()
            try:
                with urllib.request.urlopen(self.url, timeout=1.0) as resp:
                    values = parse_metrics(resp.read().decode("utf-8", "replace"), self.names)
            except (OSError, ValueError) as exc:
                self.failed(exc, f"scraping {self.url}")
                values = {}
            # No job metric: one job, the service's (its count is the progress).
            job = int(values.get(self.job_metric, 0)) if self.job_metric else (1 if values else 0)
            resumes = values.get(self.resumes_metric) if self.resumes_metric else None
            if resumes is not None:
                resumed = (self.resumes is not None and resumes != self.resumes and resumes > 0) or \
                          (self.resumes is None and self.last is not None and resumes > 0)
                if resumed and job and self.timeline and values.get(self.resumed_from_metric, -1) >= 0:
                    self.timeline.emit(Kinds.training_progress, step=int(values[self.resumed_from_metric]), job=str(job))
                self.resumes = resumes
            elif not values:
                self.resumes = None  # the trainer is down: the next process starts its counters afresh
            if job and self.step_metric in values:
                now = (str(job), int(values[self.step_metric]))
                if now != self.last and self.timeline:
                    self.timeline.emit(Kinds.training_progress, step=now[1], job=now[0])
                self.last = now
            self.stop_event.wait(max(0.0, self.interval - (time.time() - started)))


def query_progress(body: str) -> dict[str, int]:
    """A Prometheus instant query's answer -> {series: value} (pure): each
    series named by its labels (`{}` for one without), values as integers."""
    try:
        doc = json.loads(body)
    except ValueError:
        return {}
    data = doc.get("data") if isinstance(doc, dict) and doc.get("status") == "success" else None
    if not isinstance(data, dict):
        return {}
    out: dict[str, int] = {}
    if data.get("resultType") == "scalar" and isinstance(data.get("result"), list):
        rows = [{"metric": {}, "value": data["result"]}]
    else:
        rows = data.get("result") if data.get("resultType") == "vector" else []
    for row in rows or []:
        try:
            value = float(row["value"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        if value != value or value in (float("inf"), float("-inf")):
            continue
        labels = row.get("metric") or {}
        out["{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"] = int(value)
    return out


class QueryProgressWatcher(_Thread):
    """Progress as a Prometheus query (`progress.query` of gameday.yaml): its
    value per series, every second; writes `training_progress` (job: the
    series' labels) when it changes. Coarser than a scrape of the worker
    itself: a drop that is caught up between two of Prometheus's scrapes is
    not seen."""

    def __init__(self, prometheus_url: str, query: str, timeline: TimelineWriter | None, interval: float = 1.0):
        super().__init__()
        from urllib.parse import urlencode
        self.url = prometheus_url.rstrip("/") + "/api/v1/query?" + urlencode({"query": query})
        self.timeline, self.interval = timeline, interval
        self.last: dict[str, int] = {}

    def run(self) -> None:
        while not self.stop_event.is_set():
            started = time.time()
            answer = request("GET", self.url, timeout=5)
            if answer.status != 200:
                self.failed(RuntimeError(f"answered {answer.status or 'nothing'}: {answer.body[:200]}"),
                            f"querying {self.url}")
            else:
                for series, value in query_progress(answer.body).items():
                    if self.last.get(series) != value and self.timeline:
                        self.timeline.emit(Kinds.training_progress, step=value, job=series)
                    self.last[series] = value
            self.stop_event.wait(max(0.0, self.interval - (time.time() - started)))
