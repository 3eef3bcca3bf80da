"""What each API route does, apart from HTTP plumbing: a request in, a
Response out. Database trouble becomes 503, bad input 400, never a crash."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import psycopg

from .. import jobs
from ..db import Database, DatabaseUnavailable
from ..dbmonitor import DatabaseMonitor
from ..liveconfig import LiveConfig

MAX_STEPS = 100_000
MAX_NAME = 200


@dataclass
class Response:
    status: int
    body: dict | bytes
    headers: dict = field(default_factory=dict)
    content_type: str = "application/json"


def _error(status: int, error: str, message: str, **extra) -> Response:
    return Response(status, {"error": error, "message": message, **extra})


class BadRequest(Exception):
    pass


@dataclass
class Api:
    db: Database
    monitor: DatabaseMonitor
    config: LiveConfig
    trainer_url: str | None = None
    default_steps: int = 60

    # -- health -----------------------------------------------------------

    def health(self) -> Response:
        return Response(200, {"status": "ok"})

    def ready(self) -> Response:
        check = self._database_check()
        if check["status"] != "up":
            return Response(503, {"status": "not ready", "database": check})
        return Response(200, {"status": "ready", "database": check})

    def detailed(self) -> Response:
        checks = {"database": self._database_check(), "trainer": self._trainer_check()}
        healthy = all(c["status"] == "up" for c in checks.values())
        body = {
            "status": "healthy" if healthy else "degraded",
            "maintenance_mode": self.config.flag("maintenance_mode"),
            "checks": checks,
        }
        return Response(200 if healthy else 503, body)

    def _database_check(self) -> dict:
        try:
            latency = self.db.ping()
        except DatabaseUnavailable as exc:
            return {"status": "down", "error": str(exc)}
        return {"status": "up", "latency_ms": round(latency * 1000, 2)}

    def _trainer_check(self) -> dict:
        if not self.trainer_url:
            return {"status": "unknown", "error": "no trainer URL configured"}
        start = time.monotonic()
        try:
            with urllib.request.urlopen(self.trainer_url.rstrip("/") + "/health", timeout=2) as resp:
                resp.read()
        except (urllib.error.URLError, OSError) as exc:
            return {"status": "down", "error": str(getattr(exc, "reason", exc))}
        return {"status": "up", "latency_ms": round((time.monotonic() - start) * 1000, 2)}

    # -- jobs -------------------------------------------------------------

    def create_job(self, body: bytes) -> Response:
        if self.config.flag("maintenance_mode"):
            return Response(
                503,
                {"error": "maintenance",
                 "message": "Gaudi 3 Scale is in maintenance mode: job submissions are paused, reads still work. Retry later."},
                {"Retry-After": "30"},
            )
        try:
            new = self._parse_job(body)
        except BadRequest as exc:
            return _error(400, "bad_request", str(exc))
        def insert():
            row = jobs.to_json(jobs.create(self.db, new))
            return Response(201, row, {"Location": f"/jobs/{row['id']}"})
        return self._with_db(insert)

    def get_job(self, raw_id: str) -> Response:
        try:
            job_id = int(raw_id)
        except ValueError:
            return _error(400, "bad_request", f"job id must be an integer, got {raw_id!r}")
        def fetch():
            row = jobs.get(self.db, job_id)
            if row is None:
                return _error(404, "not_found", f"no training job with id {job_id}")
            return Response(200, jobs.to_json(row))
        return self._with_db(fetch)

    def list_jobs(self, query: dict) -> Response:
        status = (query.get("status") or [None])[0]
        if status is not None and status not in jobs.STATUSES:
            return _error(400, "bad_request", f"status must be one of {', '.join(jobs.STATUSES)}, got {status!r}")
        try:
            limit = int((query.get("limit") or ["100"])[0])
        except ValueError:
            return _error(400, "bad_request", "limit must be an integer")
        limit = max(1, min(limit, 1000))
        def fetch():
            rows = [jobs.to_json(r) for r in jobs.list_jobs(self.db, status, limit)]
            return Response(200, {"jobs": rows, "count": len(rows)})
        return self._with_db(fetch)

    def _parse_job(self, body: bytes) -> jobs.NewJob:
        try:
            data = json.loads(body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BadRequest("body must be a JSON object, e.g. {\"name\": \"resnet\", \"steps\": 60}") from None
        if not isinstance(data, dict):
            raise BadRequest("body must be a JSON object, e.g. {\"name\": \"resnet\", \"steps\": 60}")
        name = data.get("name", "training-job")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
            raise BadRequest(f"name must be a non-empty string of at most {MAX_NAME} characters")
        steps = data.get("steps", self.default_steps)
        if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
            raise BadRequest(f"steps must be an integer from 1 to {MAX_STEPS}")
        model = data.get("model", "mlp")
        if model != "mlp":
            raise BadRequest("model must be \"mlp\" (the only model this trainer runs)")
        params = data.get("params", {})
        if not isinstance(params, dict):
            raise BadRequest("params must be a JSON object")
        return jobs.NewJob(name=name.strip(), steps=steps, model=model, params=params)

    def _with_db(self, fn) -> Response:
        try:
            try:
                return fn()
            except psycopg.errors.UndefinedTable:
                # A fresh (or restored-empty) database: create the schema, once.
                jobs.ensure_schema(self.db)
                self.monitor.schema_ready = True
                return fn()
        except DatabaseUnavailable as exc:
            return _error(503, "database_unavailable", f"the database is not answering: {exc}", retry=True)
        except psycopg.errors.UndefinedTable:
            return _error(503, "database_unavailable", "the training_jobs table could not be created", retry=True)
