"""The alert rules the runbook answers, written once; durations come from
the profile. Pod-level alerts read kube-state-metrics series, as in real
clusters."""
from __future__ import annotations

from .profiles import Profile

NS = "gaudi3-scale"
PLATFORM_NAMESPACES = "gaudi3-scale|database|monitoring"
LATENCY_THRESHOLD_SECONDS = 0.5
HPU_MEMORY_THRESHOLD = 0.85
RUNBOOK = "https://github.com/gaudi3-scale/runbook/blob/main/gaudi3-scale-runbook.md"
API = f'namespace="{NS}", app_kubernetes_io_component="api"'


def _rule(name, expr, for_, severity, summary, description, anchor, component):
    rule = {"alert": name, "expr": expr}
    if for_ not in ("0s", "0", ""):
        rule["for"] = for_
    rule["labels"] = {"severity": severity, "component": component}
    rule["annotations"] = {"summary": summary, "description": description, "runbook_url": f"{RUNBOOK}#{anchor}"}
    return rule


def _api_down(p: Profile) -> str:
    # `or vector(0)`: no target at all (scaled to zero) counts as down.
    up = f"(sum(up{{{API}}}) or vector(0))"
    if p.outage_window:
        # Any moment of the window with no API target up, counted only once
        # Prometheus has scraped results for the whole window: before its
        # first scrapes there is no API series either, and no outage.
        window = f"[{p.outage_window}:{p.evaluation_interval}]"
        return (f"min_over_time({up}{window}) == 0"
                f" and on() min_over_time((count(up) or vector(0)){window}) > 0")
    return f"{up} == 0"


def _database_down(p: Profile) -> str:
    series = f'gaudi3_scale_database_up{{namespace="{NS}"}}'
    if p.outage_window:
        # Every reporting pod saw the database down at least once in the window.
        return f"max(min_over_time({series}[{p.outage_window}])) == 0"
    return f"max({series}) == 0"


def rule_groups(p: Profile) -> dict:
    rules = [
        _rule("ApiDown",
              _api_down(p),
              p.api_down_for, "critical", "Gaudi 3 Scale API is down",
              "No API pod of namespace gaudi3-scale answers its scrape: the API process is down.",
              "p0---critical-incident-response", "api"),
        _rule("HighApiLatency",
              "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{"
              f'{API}, route!~"/metrics|/health"}}[{p.latency_window}]))) > {LATENCY_THRESHOLD_SECONDS}',
              p.latency_for, "warning", "API p95 latency above 500 ms",
              "The 95th percentile of API request latency is {{ $value | humanizeDuration }}.",
              "high-api-latency-alert", "api"),
        _rule("DatabaseDown",
              _database_down(p),
              p.database_down_for, "critical", "PostgreSQL does not answer",
              "Every platform pod that checks the database reports it unreachable.",
              "database-recovery", "database"),
        _rule("HpuMemoryHigh",
              f"max by (node) (hpu_memory_used_bytes / hpu_memory_total_bytes) > {HPU_MEMORY_THRESHOLD}",
              p.hpu_memory_for, "warning", "HPU memory above 85% on {{ $labels.node }}",
              "Accelerator memory use on node {{ $labels.node }} is {{ $value | humanizePercentage }}.",
              "hpu-memory-high-alert", "trainer"),
        # A batch training Job (kube-state-metrics: the Job's failed pods; every
        # Job of the namespace is a training Job) or an attempt of a job the
        # trainer Deployment runs (the platform's own counter).
        _rule("TrainingJobFailed",
              f'(max by (namespace, job_name) (kube_job_status_failed{{namespace="{NS}"}}) > 0)'
              f" or (max(increase(training_job_failures_total{{namespace=\"{NS}\"}}[{p.job_failed_window}])) > 0)",
              "0s", "warning", "A training job failed",
              "{{ with $labels.job_name }}Training Job {{ . }} has failed pods."
              f"{{{{ else }}}}Training job attempts failed in the last {p.job_failed_window}.{{{{ end }}}}",
              "training-job-failed-alert", "trainer"),
        _rule("PodCrashLooping",
              f'(max by (namespace, pod, container) (max_over_time(kube_pod_container_status_waiting_reason{{reason="CrashLoopBackOff", namespace=~"{PLATFORM_NAMESPACES}"}}[{p.crashloop_window}])) >= 1)'
              f' or (max by (namespace, pod, container) (increase(kube_pod_container_status_restarts_total{{namespace=~"{PLATFORM_NAMESPACES}"}}[{p.crashloop_window}])) >= 3)',
              p.crashloop_for, "warning", "Pod {{ $labels.namespace }}/{{ $labels.pod }} is crash-looping",
              "Container {{ $labels.container }} keeps restarting.",
              "pod-crashloopbackoff", "kubernetes"),
        _rule("PodsNotReady",
              f'max by (namespace, pod) (kube_pod_status_ready{{condition="false", namespace=~"{PLATFORM_NAMESPACES}"}}) == 1',
              p.not_ready_for, "warning", "Pod {{ $labels.namespace }}/{{ $labels.pod }} is not ready",
              "The pod has not been ready for " + p.not_ready_for + ".",
              "pod-stuck-in-pending", "kubernetes"),
    ]
    return {"groups": [{"name": "gaudi3-scale", "interval": p.evaluation_interval, "rules": rules}]}
