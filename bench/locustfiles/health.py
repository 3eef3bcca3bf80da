"""bench_api: /health reads as fast as the API answers (no think time)."""
from locust import FastHttpUser, task


class HealthReader(FastHttpUser):
    @task
    def health(self) -> None:
        self.client.get("/health", name="/health")
