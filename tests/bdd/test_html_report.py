"""The HTML report is self-contained and draws a timeline chart per
scenario; a headless Chromium renders it (skipped where Chromium is missing)."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gameday.bdd.results import ScenarioResult, StepResult
from gameday.reports import html

T0 = 1_700_000_000.0


def _timeline(path: Path, fault_at: float, detect_at: float, recover_at: float, seconds: int = 40) -> None:
    """A synthetic drill: load each second, a fault, an alert, a runbook step, recovery."""
    events = [{"t": T0, "kind": "drill_started", "drill": path.stem}]
    for i in range(1, seconds + 1):
        bad = fault_at <= i < recover_at
        events.append({"t": T0 + i, "kind": "load_sample", "rps": 20.0, "requests": 20, "failures": 8 if bad else 0,
                       "p50_ms": 12.0, "p95_ms": 400.0 if bad else 30.0, "p99_ms": 60.0, "users": 4})
    events += [
        {"t": T0 + fault_at, "kind": "fault_injected", "fault": "kill-all-api-pods"},
        {"t": T0 + detect_at, "kind": "alert_firing", "alert": "ApiDown"},
        {"t": T0 + detect_at + 1, "kind": "step_started", "step": "restart-api"},
        {"t": T0 + detect_at + 3, "kind": "step_finished", "step": "restart-api", "ok": True},
        {"t": T0 + recover_at + 3, "kind": "steady_state_restored", "since": T0 + recover_at, "settle_s": 3.0},
    ]
    path.write_text("".join(json.dumps(e) + "\n" for e in sorted(events, key=lambda e: e["t"])))


@pytest.fixture
def report(tmp_path) -> Path:
    results = []
    for i, (name, outcome) in enumerate((("P0 outage", "passed"), ("DB cut off", "failed"))):
        tl = tmp_path / "scenarios" / f"s{i}" / "t.timeline.jsonl"
        tl.parent.mkdir(parents=True)
        _timeline(tl, fault_at=10 + i, detect_at=15 + i, recover_at=25 + 5 * i)
        results.append(ScenarioResult(
            key=f"f.feature::{name}", file="features/f.feature", line=3 + i, name=name, feature="F",
            sections=["emergency-response"], outcome=outcome, time_to_detect=5.0, time_to_recover=15.0 + 5 * i,
            error_rate=0.1, slas=[{"text": "time_to_recover <= 16s", "measured": f"{15 + 5 * i}.00s", "passed": i == 0}],
            timeline=str(tl.relative_to(tmp_path)), message="" if i == 0 else "SLA missed: time_to_recover <= 16s",
            steps=[StepResult("Given", "the platform is at steady state", 4, "passed", 2.0)]))
    return html.write_report(tmp_path / "report.html", results, tmp_path)


def test_chart_data_marks_fault_detection_steps_and_recovery(tmp_path):
    tl = tmp_path / "t.jsonl"
    _timeline(tl, fault_at=10, detect_at=14, recover_at=22)
    from gameday.timeline.store import read
    data = html.chart_data(read(tl))
    assert len(data["samples"]) == 40
    marks = {m["cls"]: m["t"] for m in data["marks"]}
    assert marks == {"fault": 10.0, "alert": 14.0, "recovered": 22.0}  # recovery: when it began to hold
    assert data["bands"] == [{"name": "restart-api", "start": 15.0, "end": 17.0, "ok": True}]


def test_report_is_self_contained(report):
    text = report.read_text()
    assert not re.search(r"""(src|href)=["']https?:""", text)
    assert "<link" not in text and "@import" not in text
    assert text.count('class="chart"') == 2
    assert "SLA missed: time_to_recover &lt;= 16s" in text


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(_chromium() is None, reason="Chromium is not installed (apt-get install chromium)")
def test_report_renders_a_chart_per_scenario_in_headless_chromium(report, tmp_path):
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
           report.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    dom = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'data-charts="2"' in dom  # set by the page's script once every chart is drawn
    charts = re.findall(r'<div class="chart" id="chart-(\d)" data-index="\d" data-drawn="true"><svg(.*?)</svg>', dom, re.S)
    assert [c[0] for c in charts] == ["0", "1"]
    for _, svg in charts:
        assert 'class="series-rps"' in svg and 'class="series-failures"' in svg and 'class="series-latency"' in svg
        assert "mark mark-fault" in svg and "mark mark-alert" in svg and "mark mark-recovered" in svg
        assert 'class="step-band"' in svg and ">restart-api<" in svg
        points = re.search(r'class="series-rps" points="([^"]+)"', svg).group(1).split()
        assert len(points) == 40
