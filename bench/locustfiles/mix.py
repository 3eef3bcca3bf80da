"""bench_api: the write mix, no think time: health and readiness reads, job
submissions (a database write each) and job reads, weighted like
loadtests/locustfile.py."""
import random
import uuid

from locust import FastHttpUser, task


class MixUser(FastHttpUser):
    def on_start(self) -> None:
        self.ids: list[int] = []

    @task(4)
    def health(self) -> None:
        self.client.get("/health", name="/health")

    @task(2)
    def ready(self) -> None:
        self.client.get("/health/ready", name="/health/ready")

    @task(2)
    def submit(self) -> None:
        with self.client.post("/jobs", json={"name": f"bench-{uuid.uuid4().hex[:10]}", "steps": 10}, name="/jobs",
                              catch_response=True) as resp:
            if resp.status_code == 201:
                self.ids.append(resp.json()["id"])
                resp.success()
            else:
                resp.failure(f"status {resp.status_code}")

    @task(2)
    def read(self) -> None:
        if self.ids:
            self.client.get(f"/jobs/{random.choice(self.ids)}", name="/jobs/{id}")
