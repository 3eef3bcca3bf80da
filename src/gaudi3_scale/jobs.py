"""The `training_jobs` table: schema and every query the API and trainer run.

Status moves queued -> running -> completed | failed. A failed attempt is
retried (with its checkpoint) until `max_attempts`; a running job whose
trainer stopped renewing its lease goes back to queued. `error` keeps the
last failure's message, also once a retry succeeded."""
from __future__ import annotations

import json
from dataclasses import dataclass

from .db import Database

STATUSES = ("queued", "running", "completed", "failed")
_SCHEMA_LOCK_KEY = 0x6A6F6273  # pg_advisory_xact_lock key: "jobs"

SCHEMA = """
CREATE TABLE IF NOT EXISTS training_jobs (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT NOT NULL,
    model         TEXT NOT NULL DEFAULT 'mlp',
    steps         INTEGER NOT NULL CHECK (steps > 0),
    params        JSONB NOT NULL DEFAULT '{}'::jsonb,
    status        TEXT NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    progress_step INTEGER NOT NULL DEFAULT 0,
    loss          DOUBLE PRECISION,
    attempts      INTEGER NOT NULL DEFAULT 0,
    failures      INTEGER NOT NULL DEFAULT 0,
    error         TEXT,
    worker        TEXT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at    TIMESTAMPTZ,
    finished_at   TIMESTAMPTZ,
    heartbeat_at  TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS training_jobs_status_idx ON training_jobs (status, id);
"""

_COLUMNS = ("id, name, model, steps, params, status, progress_step, loss, attempts, failures, "
            "error, worker, created_at, started_at, finished_at, heartbeat_at")


@dataclass(frozen=True)
class NewJob:
    name: str
    steps: int
    model: str = "mlp"
    params: dict | None = None


def ensure_schema(db: Database) -> None:
    """Create the table if missing. The advisory lock serialises replicas
    starting together (concurrent CREATE IF NOT EXISTS can still collide)."""
    with db.transaction() as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_KEY,))
        conn.execute(SCHEMA)


def create(db: Database, job: NewJob) -> dict:
    """Insert and commit; returns the row only once it is committed."""
    with db.transaction() as conn:
        row = conn.execute(
            f"INSERT INTO training_jobs (name, model, steps, params) VALUES (%s, %s, %s, %s) RETURNING {_COLUMNS}",
            (job.name, job.model, job.steps, json.dumps(job.params or {})),
        ).fetchone()
    return row


def start_batch(db: Database, job: NewJob, worker: str) -> dict:
    """A batch training run (a Kubernetes Job's pod) takes its own row, running
    at once: the unfinished row of the same batch name if there is one (a
    retried Job pod resumes it from its checkpoint), else a new one. The
    advisory lock keeps two pods of one batch from both inserting."""
    params = json.dumps({**(job.params or {}), "batch": True})
    with db.transaction() as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_SCHEMA_LOCK_KEY, job.name))
        row = conn.execute(
            f"""UPDATE training_jobs SET status = 'running', attempts = attempts + 1, worker = %s,
                       started_at = now(), finished_at = NULL, heartbeat_at = now()
                WHERE id = (SELECT id FROM training_jobs WHERE name = %s AND params @> '{{"batch": true}}'::jsonb
                            AND status <> 'completed' ORDER BY id DESC LIMIT 1 FOR UPDATE)
                RETURNING {_COLUMNS}""",
            (worker, job.name),
        ).fetchone()
        if row is None:
            row = conn.execute(
                f"""INSERT INTO training_jobs (name, model, steps, params, status, attempts, worker, started_at, heartbeat_at)
                    VALUES (%s, %s, %s, %s, 'running', 1, %s, now(), now()) RETURNING {_COLUMNS}""",
                (job.name, job.model, job.steps, params, worker),
            ).fetchone()
    return row


def get(db: Database, job_id: int) -> dict | None:
    with db.transaction() as conn:
        return conn.execute(f"SELECT {_COLUMNS} FROM training_jobs WHERE id = %s", (job_id,)).fetchone()


def list_jobs(db: Database, status: str | None = None, limit: int = 100) -> list[dict]:
    with db.transaction() as conn:
        if status:
            cur = conn.execute(
                f"SELECT {_COLUMNS} FROM training_jobs WHERE status = %s ORDER BY id DESC LIMIT %s", (status, limit))
        else:
            cur = conn.execute(f"SELECT {_COLUMNS} FROM training_jobs ORDER BY id DESC LIMIT %s", (limit,))
        return cur.fetchall()


def claim_next(db: Database, worker: str, max_attempts: int, lease_seconds: float) -> dict | None:
    """Take one job for `worker`: a failed attempt to retry first, else the
    oldest queued job. Jobs whose trainer stopped renewing the lease are put
    back in the queue first. SKIP LOCKED lets several trainers share a queue."""
    with db.transaction() as conn:
        conn.execute(
            "UPDATE training_jobs SET status = 'queued', worker = NULL "
            "WHERE status = 'running' AND heartbeat_at < now() - make_interval(secs => %s)",
            (lease_seconds,),
        )
        return conn.execute(
            f"""UPDATE training_jobs SET status = 'running', attempts = attempts + 1, worker = %s,
                       started_at = now(), finished_at = NULL, heartbeat_at = now()
                WHERE id = (
                    SELECT id FROM training_jobs
                    WHERE status = 'queued' OR (status = 'failed' AND attempts < %s)
                    ORDER BY (status = 'queued'), id
                    FOR UPDATE SKIP LOCKED LIMIT 1)
                RETURNING {_COLUMNS}""",
            (worker, max_attempts),
        ).fetchone()


def record_progress(db: Database, job_id: int, worker: str, step: int, loss: float) -> bool:
    """Renew the lease and record progress; False if the job is no longer ours."""
    with db.transaction() as conn:
        cur = conn.execute(
            "UPDATE training_jobs SET progress_step = %s, loss = %s, heartbeat_at = now() "
            "WHERE id = %s AND worker = %s AND status = 'running'",
            (step, loss, job_id, worker),
        )
        return cur.rowcount == 1


def complete(db: Database, job_id: int, worker: str, step: int, loss: float) -> None:
    with db.transaction() as conn:
        conn.execute(
            "UPDATE training_jobs SET status = 'completed', progress_step = %s, loss = %s, "
            "finished_at = now(), heartbeat_at = now() WHERE id = %s AND worker = %s",
            (step, loss, job_id, worker),
        )


def fail(db: Database, job_id: int, worker: str, error: str) -> None:
    with db.transaction() as conn:
        conn.execute(
            "UPDATE training_jobs SET status = 'failed', failures = failures + 1, error = %s, "
            "finished_at = now(), heartbeat_at = now() WHERE id = %s AND worker = %s",
            (error[:2000], job_id, worker),
        )


def release(db: Database, job_id: int, worker: str) -> None:
    """Hand a job back to the queue (graceful shutdown); its checkpoint stays."""
    with db.transaction() as conn:
        conn.execute(
            "UPDATE training_jobs SET status = 'queued', worker = NULL WHERE id = %s AND worker = %s AND status = 'running'",
            (job_id, worker),
        )


@dataclass(frozen=True)
class JobStats:
    by_status: dict
    failures_total: int


def stats(db: Database) -> JobStats:
    with db.transaction() as conn:
        rows = conn.execute("SELECT status, count(*) AS n FROM training_jobs GROUP BY status").fetchall()
        failures = conn.execute("SELECT coalesce(sum(failures), 0) AS f FROM training_jobs").fetchone()["f"]
    counts = {s: 0 for s in STATUSES}
    counts.update({r["status"]: r["n"] for r in rows})
    return JobStats(counts, int(failures))


def to_json(row: dict) -> dict:
    """A row as the API shows it (timestamps in ISO 8601)."""
    out = {}
    for key, value in row.items():
        out[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out
