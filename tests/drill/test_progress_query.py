"""progress as a Prometheus query (`progress.query` of gameday.yaml): the
instant query's answer read per series, a project file that asks for it
without Prometheus refused in one line, and on the platform sandbox the
trainer's step seen rising through Prometheus."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gameday.drill.watchers import query_progress

ROOT = Path(__file__).resolve().parents[2]


def test_an_instant_query_answer_is_read_per_series():
    vector = {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"job": "trainer", "pod": "t-1"}, "value": [1.0, "41"]},
        {"metric": {}, "value": [1.0, "7.9"]},
        {"metric": {"pod": "bad"}, "value": [1.0, "NaN"]}]}}
    assert query_progress(json.dumps(vector)) == {'{job="trainer",pod="t-1"}': 41, "{}": 7}
    assert query_progress(json.dumps({"status": "success", "data": {"resultType": "scalar",
                                                                    "result": [1.0, "12"]}})) == {"{}": 12}
    assert query_progress(json.dumps({"status": "error", "error": "parse error"})) == {}
    assert query_progress("<html>") == {}


def test_a_query_without_prometheus_is_one_line_naming_the_file(tmp_path):
    text = (ROOT / "gameday.yaml").read_text()
    start = text.index("progress:")
    end = text.index("\n\n", start)
    text = text[:start] + 'progress: {query: "max(training_job_step)"}' + text[end:]
    text = text.replace("  prometheus: {service: prometheus, namespace: monitoring}\n", "")
    (tmp_path / "gameday.yaml").write_text(text)
    proc = subprocess.run([sys.executable, "-m", "gameday.cli", "faults", "--project", str(tmp_path / "gameday.yaml")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "gameday.yaml:" in lines[0] and "monitoring.prometheus" in lines[0], proc.stderr


@pytest.mark.sandbox
def test_the_trainers_progress_is_seen_through_prometheus(sandbox, tmp_path):
    from gameday.drill import Drill
    from gameday.project import load
    from gameday.project.model import Progress
    from gameday.target import Target
    from tests.sandbox.helpers import eventually

    from gameday.bdd.library import DEFAULT_JOB
    from gameday.httpcheck import request

    # The trainer's own counter of steps run: it keeps rising whichever job it trains
    # (a job's step drops back at each new job of the queue earlier tests filled).
    project = dataclasses.replace(load(ROOT / "gameday.yaml"), progress=Progress(query="sum(training_steps_total)"))
    target = Target.connect(sandbox.kubeconfig)
    # A training job, so that the trainer's step moves.
    answer = request("POST", target.service_url("gaudi3-scale-api", "gaudi3-scale") + "/jobs",
                     json.dumps(DEFAULT_JOB).encode())
    assert answer.status == 201, answer
    with Drill(target, "progress-query", tmp_path, project=project, handle_signals=False) as drill:
        drill.watch_training()

        def steps():
            return [e.get("step") for e in list(drill.timeline.events) if e.kind == "training_progress"]
        eventually(lambda: len(set(steps())) >= 3, 180, 0.5, "three progress values through Prometheus",
                   detail=lambda: f"seen {steps()}; watcher: {drill._training.last_error}")
    seen = steps()
    assert max(seen) > seen[0], seen
