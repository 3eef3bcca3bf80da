"""Load for the Gaudi 3 Scale API: health reads, job submissions and job
reads, weighted like an API that is mostly read.

Works with stock Locust:
    locust -f loadtests/locustfile.py --headless --host http://127.0.0.1:PORT -u 10 -r 5
and under gameday's runner (`gameday.load`), which also collects the id of
every job the API acknowledged with 201 so a drill can check none was lost."""
from __future__ import annotations

import random
import uuid

from locust import HttpUser, between, task

from gameday.load.acked import acknowledge

class PlatformApiUser(HttpUser):
    """An API client of the platform: polls health, submits and reads jobs."""

    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.job_ids: list[str] = []

    @task(4)
    def health(self) -> None:
        self.client.get("/health", name="/health", timeout=5)

    @task(2)
    def ready(self) -> None:
        self.client.get("/health/ready", name="/health/ready", timeout=5)

    @task(2)
    def submit_job(self) -> None:
        body = {"name": f"load-{uuid.uuid4().hex[:12]}", "model": "mlp", "steps": random.choice((10, 30, 60))}
        with self.client.post("/jobs", json=body, name="/jobs", timeout=10, catch_response=True) as resp:
            if resp.status_code == 201:
                try:
                    job_id = str(resp.json()["id"])
                except (ValueError, KeyError, TypeError):
                    resp.failure("201 without a job id")
                    return
                self.job_ids.append(job_id)
                acknowledge(self.environment, job_id)
                resp.success()
            else:
                resp.failure(f"status {resp.status_code}")

    @task(3)
    def read_job(self) -> None:
        if not self.job_ids:
            return self.health()
        job_id = random.choice(self.job_ids[-50:])
        self.client.get(f"/jobs/{job_id}", name="/jobs/[id]", timeout=5)
