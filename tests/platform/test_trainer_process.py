"""The trainer process against a real PostgreSQL: jobs complete; out of card
memory fails the job and exits non-zero; the restarted trainer resumes from
the last checkpoint; SIGTERM checkpoints and requeues."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request

import pytest

from gaudi3_scale import jobs
from gaudi3_scale.db import Database
from gaudi3_scale.device.sim import SimDevice
from apiproc import platform_python
from pgserver import free_port

GiB = 1024**3
CAPACITY = 100 * GiB


def wait_for(fn, timeout=60.0, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Trainer:
    def __init__(self, url, root):
        self.url, self.root = url, root
        self.port = free_port()
        self.log = root / "trainer.log"
        self.proc = None

    def start(self, wait=True):
        env = dict(os.environ, DATABASE_URL=self.url, MODEL_DIR=str(self.root / "models"),
                   GAUDI3_DEVICE="sim", GAUDI3_SIM_DIR=str(self.root / "card"),
                   GAUDI3_SIM_CAPACITY_BYTES=str(CAPACITY), GAUDI3_TRAINER_HOST="127.0.0.1",
                   GAUDI3_TRAINER_PORT=str(self.port), TRAINER_STEP_SECONDS="0.02",
                   TRAINER_CHECKPOINT_EVERY="10", TRAINER_POLL_SECONDS="0.2", HOSTNAME="trainer-test")
        self.proc = subprocess.Popen([platform_python(), "-m", "gaudi3_scale.trainer.main"], env=env,
                                     stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        if wait:
            wait_for(self.healthy, 60, what="trainer /health")
        return self

    def start_expecting_exit(self, code):
        self.start(wait=False)
        assert self.proc.wait(60) == code

    def healthy(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return self.proc.poll() is not None and False

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
            return r.read().decode()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture
def setup(postgres, tmp_path):
    url = postgres.create_database("trainer_test")
    db = Database(url)
    jobs.ensure_schema(db)
    trainer = Trainer(url, tmp_path)
    yield db, trainer
    trainer.stop()
    db.close()


def test_oom_fails_job_then_restart_resumes_from_checkpoint(setup):
    db, trainer = setup
    quick = jobs.create(db, jobs.NewJob("quick", steps=15))
    trainer.start()
    wait_for(lambda: jobs.get(db, quick["id"])["status"] == "completed", 60, what="quick job completed")
    assert jobs.get(db, quick["id"])["progress_step"] == 15
    assert not (trainer.root / "models" / "jobs" / str(quick["id"])).exists()  # cleaned up
    # The runbook's checkpoint check, as written (the final model stays in latest.ckpt).
    latest = trainer.root / "models" / "latest.ckpt"
    printed = subprocess.run([platform_python(), "-c", f"import torch; print(torch.load({str(latest)!r}).keys())"],
                             capture_output=True, text=True, timeout=120)
    assert "'model_state_dict'" in printed.stdout and "'step'" in printed.stdout, printed.stderr

    long = jobs.create(db, jobs.NewJob("long", steps=100_000))
    wait_for(lambda: jobs.get(db, long["id"])["progress_step"] >= 20, 60, what="two checkpoints")

    # A neighbour takes 90% of the card: the trainer's next step cannot get
    # its activation memory, the job fails and the process exits non-zero.
    card = SimDevice(trainer.root / "card", CAPACITY)
    hog = []
    def grab():
        try:
            hog.append(card.allocate(int(CAPACITY * 0.9) // 8))
        except Exception:
            pass
        return len(hog) == 8
    wait_for(grab, 30, 0.005, what="hog allocation")
    assert trainer.proc.wait(60) == 1
    row = jobs.get(db, long["id"])
    assert row["status"] == "failed" and row["failures"] == 1 and "out of memory" in row["error"]
    log = trainer.log.read_text()
    assert re.search(r"ERROR .*SIM out of memory in job %d step \d+" % long["id"], log)
    checkpointed = row["progress_step"]
    assert checkpointed >= 20 and checkpointed % 10 == 0

    # While the memory is held the trainer cannot even load its model.
    trainer.start_expecting_exit(1)
    assert "SIM out of memory loading the model" in trainer.log.read_text()
    for allocation in hog:
        card.free(allocation)
    trainer.start()
    wait_for(lambda: "resumed job %d from checkpoint at step %d" % (long["id"], checkpointed) in trainer.log.read_text(),
             60, what="resume log line")
    assert f"training_resumed_from_step {checkpointed}.0" in trainer.metrics()
    wait_for(lambda: jobs.get(db, long["id"])["status"] == "running", 30, what="job running again")
    assert jobs.get(db, long["id"])["attempts"] == 2

    # SIGTERM: checkpoint, hand the job back, exit 0.
    wait_for(lambda: jobs.get(db, long["id"])["progress_step"] > checkpointed, 60, what="progress after resume")
    trainer.proc.terminate()
    assert trainer.proc.wait(60) == 0
    assert jobs.get(db, long["id"])["status"] == "queued"
    assert "handed back to the queue" in trainer.log.read_text()
    stats = jobs.stats(db)
    assert stats.failures_total == 1 and stats.by_status["completed"] == 1


def test_batch_mode_trains_its_run_then_exits_and_fails_when_the_card_is_full(setup):
    db, trainer = setup
    env = dict(os.environ, DATABASE_URL=trainer.url, MODEL_DIR=str(trainer.root / "models"), GAUDI3_DEVICE="sim",
               GAUDI3_SIM_DIR=str(trainer.root / "card"), GAUDI3_SIM_CAPACITY_BYTES=str(CAPACITY),
               GAUDI3_TRAINER_HOST="127.0.0.1", GAUDI3_TRAINER_PORT=str(free_port()), TRAINER_STEP_SECONDS="0.01",
               HOSTNAME="batch-pod")
    argv = [platform_python(), "-m", "gaudi3_scale.trainer.main", "--batch", "nightly:25"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [r for r in jobs.list_jobs(db) if r["name"] == "nightly"]
    assert len(rows) == 1 and rows[0]["status"] == "completed" and rows[0]["progress_step"] == 25

    # A full card: the run fails (exit 1, what fails the Kubernetes Job's pod).
    card = SimDevice(trainer.root / "card", CAPACITY)
    hog = card.allocate(int(CAPACITY * 0.99))
    try:
        failed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    finally:
        card.free(hog)
    assert failed.returncode == 1 and "out of memory" in failed.stderr

    bad = subprocess.run([platform_python(), "-m", "gaudi3_scale.trainer.main", "--batch", "nosteps"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "NAME:STEPS" in bad.stderr and "Traceback" not in bad.stderr
