"""Load for kvstore: health reads, item writes and item reads. Every item
the service acknowledged (201) is handed to gameday, which reads each back
after the drill (`load.readback` of gameday.yaml)."""
from __future__ import annotations

import random

from locust import HttpUser, between, task

from gameday.load.acked import acknowledge


class KvUser(HttpUser):
    wait_time = between(0.05, 0.2)

    def on_start(self) -> None:
        self.ids: list[str] = []

    @task(2)
    def health(self) -> None:
        self.client.get("/health", name="/health")

    @task(3)
    def write(self) -> None:
        with self.client.post("/items", json={"value": random.random()}, name="/items", catch_response=True) as r:
            if r.status_code == 201:
                ident = str(r.json()["id"])
                self.ids.append(ident)
                acknowledge(self.environment, ident)
                r.success()
            else:
                r.failure(f"status {r.status_code}")

    @task(3)
    def read(self) -> None:
        if self.ids:
            self.client.get(f"/items/{random.choice(self.ids)}", name="/items/{id}")
