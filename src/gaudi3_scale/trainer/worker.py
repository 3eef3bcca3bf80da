"""The training loop (PyTorch): claim a job, resume it from its checkpoint if it has
one, step it (each step takes activation memory from the card and gives it
back), checkpoint every N steps, and mark it completed.

Out of device memory is not handled here: it propagates, the job is marked
failed and the process exits non-zero, as a real training script dies."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge

from .. import jobs
from ..db import Database, DatabaseUnavailable
from ..device import Allocation, Device, DeviceOutOfMemory
from . import checkpoint, model
from .settings import TrainerSettings

log = logging.getLogger("gaudi3_scale.trainer")


class TrainerMetrics:
    def __init__(self, registry: CollectorRegistry):
        self.steps = Counter("training_steps", "Training steps run by this process", registry=registry)
        self.loss = Gauge("training_loss", "Loss of the last training step", registry=registry)
        self.job = Gauge("training_current_job_id", "Job being trained (0 when idle)", registry=registry)
        self.job_step = Gauge("training_job_step", "Step of the job being trained", registry=registry)
        self.resumed_from = Gauge("training_resumed_from_step",
                                  "Checkpoint step the last resumed job restarted from (-1: none resumed)", registry=registry)
        self.resumed_from.set(-1)
        self.resumes = Counter("training_resumes", "Jobs resumed from a checkpoint", registry=registry)
        self.completed = Counter("training_jobs_completed", "Jobs completed by this process", registry=registry)


@dataclass
class JobInterrupted(Exception):
    job_id: int
    step: int


class Worker:
    def __init__(self, db: Database, device: Device, settings: TrainerSettings, metrics: TrainerMetrics,
                 stop: threading.Event):
        self.db, self.device, self.settings, self.metrics, self.stop = db, device, settings, metrics, stop
        self.current: dict | None = None
        self.step = 0
        total = device.total_bytes()
        self.activation_bytes = max(1, int(total * settings.activation_memory_fraction))
        self.model_bytes = max(1, int(total * settings.model_memory_fraction))
        self.weights: Allocation | None = None
        # Where the model's tensors live: the card for hpu/cuda, the CPU for
        # the simulated card (whose memory is the ledger, not the tensors).
        self.torch_device = getattr(device, "device", None) or "cpu"

    def load_weights(self) -> None:
        """Take the model's resident memory and check a step's activations
        fit too, before any job is claimed: a card that is already full fails
        the process at start (no job attempt is spent). Raises DeviceOutOfMemory."""
        self.weights = self.device.allocate(self.model_bytes)
        self.device.free(self.device.allocate(self.activation_bytes))

    def release_weights(self) -> None:
        if self.weights is not None:
            self.device.free(self.weights)
            self.weights = None

    def run(self) -> None:
        """Train jobs until stopped."""
        while not self.stop.is_set():
            try:
                job = jobs.claim_next(self.db, self.settings.worker, self.settings.max_attempts, self.settings.lease_seconds)
            except DatabaseUnavailable as exc:
                log.warning("cannot claim a job, database unavailable: %s", exc)
                job = None
            except Exception as exc:  # e.g. the table is not created yet
                log.warning("cannot claim a job: %s", exc)
                job = None
            if job is None:
                self.stop.wait(self.settings.poll_seconds)
                continue
            self.train(job)

    def train(self, job: dict) -> None:
        job_id, seed, total_steps = int(job["id"]), int(job["id"]), int(job["steps"])
        self.current = job
        saved = checkpoint.latest(self.settings.model_dir, job_id)
        if saved is not None:
            state, start = model.from_checkpoint(seed, saved.state, self.torch_device), saved.step
            log.info("resumed job %d from checkpoint at step %d (attempt %d, %s)", job_id, start, job["attempts"],
                     saved.path.name)
            self.metrics.resumed_from.set(start)
            self.metrics.resumes.inc()
        else:
            state, start = model.init(seed, self.torch_device), 0
            log.info("started job %d (%d steps, attempt %d)", job_id, total_steps, job["attempts"])
        self.step = start
        self.metrics.job_step.set(start)  # a resumed job restarts from here
        # The job id only after its step: a scrape in between must not pair
        # the new job with the previous job's step (a false step drop).
        self.metrics.job.set(job_id)
        loss = float("nan")
        try:
            for step in range(start + 1, total_steps + 1):
                if self.stop.is_set():
                    self._interrupt(job_id, step - 1, state, loss)
                    return
                activations = self.device.allocate(self.activation_bytes)
                try:
                    loss = model.train_step(state, step)
                finally:
                    self.device.free(activations)
                self.step = step
                self.metrics.steps.inc()
                self.metrics.loss.set(loss)
                self.metrics.job_step.set(step)
                if step % self.settings.checkpoint_every == 0 and step < total_steps:
                    checkpoint.save(self.settings.model_dir, job_id, step, model.to_checkpoint(state), loss)
                    self._progress(job_id, step, loss)
                self.stop.wait(self.settings.step_seconds)
            checkpoint.save(self.settings.model_dir, job_id, total_steps, model.to_checkpoint(state), loss)
            self._finish(job_id, total_steps, loss)
            checkpoint.remove(self.settings.model_dir, job_id)
            self.metrics.completed.inc()
            log.info("completed job %d at step %d, loss %.4f", job_id, total_steps, loss)
        except DeviceOutOfMemory as exc:
            log.error("%s out of memory in job %d step %d: %s", self.device.backend.upper(), job_id, self.step + 1, exc)
            self._fail(job_id, f"{self.device.backend} out of memory at step {self.step + 1}: {exc}")
            exc.reported = True
            raise
        finally:
            self.current = None
            self.metrics.job.set(0)

    def _fail(self, job_id: int, error: str) -> None:
        """Mark the job failed (bounded: if the database does not answer, the
        lease requeues the job later)."""
        try:
            jobs.fail(self.db, job_id, self.settings.worker, error)
        except Exception as exc:
            log.error("could not mark job %d failed: %s", job_id, exc)

    def _progress(self, job_id: int, step: int, loss: float) -> None:
        try:
            if not jobs.record_progress(self.db, job_id, self.settings.worker, step, loss):
                log.warning("job %d is no longer assigned to %s", job_id, self.settings.worker)
        except DatabaseUnavailable as exc:
            log.warning("could not record progress of job %d: %s", job_id, exc)

    def _finish(self, job_id: int, step: int, loss: float) -> None:
        # The work is done and checkpointed: keep trying to record it while
        # the database is away, until told to stop (then the lease requeues
        # it and the final checkpoint completes it at once).
        while True:
            try:
                jobs.complete(self.db, job_id, self.settings.worker, step, loss)
                return
            except DatabaseUnavailable as exc:
                log.warning("could not mark job %d completed: %s", job_id, exc)
                if self.stop.wait(1.0):
                    raise JobInterrupted(job_id, step) from None

    def _interrupt(self, job_id: int, step: int, state: model.TrainState, loss: float) -> None:
        if step > 0:
            checkpoint.save(self.settings.model_dir, job_id, step, model.to_checkpoint(state), loss)
        try:
            jobs.release(self.db, job_id, self.settings.worker)
            log.info("stopping: job %d checkpointed at step %d and handed back to the queue", job_id, step)
        except DatabaseUnavailable as exc:
            log.warning("stopping: job %d checkpointed at step %d; could not requeue it: %s", job_id, step, exc)
