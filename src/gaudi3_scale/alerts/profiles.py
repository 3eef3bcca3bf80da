"""What differs between a real cluster and the sandbox: durations and discovery."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    scrape_interval: str
    evaluation_interval: str
    scrape_timeout: str
    # `for:` of each alert and the windows its expression looks back over.
    api_down_for: str
    # Sandbox only: also count an outage shorter than a scrape or two, which
    # the sandbox's second-long restarts make common ("" = instant value).
    outage_window: str
    latency_window: str
    latency_for: str
    database_down_for: str
    hpu_memory_for: str
    job_failed_window: str
    crashloop_window: str
    crashloop_for: str
    not_ready_for: str
    group_wait: str
    group_interval: str
    repeat_interval: str
    discovery: str  # "kubernetes" | "http"
    # Where the overlay is written, relative to the repository's deploy/ folder.
    out_dir: str


PRODUCTION = Profile(
    name="production", scrape_interval="15s", evaluation_interval="15s", scrape_timeout="10s",
    api_down_for="1m", outage_window="", latency_window="5m", latency_for="5m", database_down_for="1m",
    hpu_memory_for="5m", job_failed_window="15m", crashloop_window="10m", crashloop_for="5m",
    not_ready_for="10m", group_wait="30s", group_interval="5m", repeat_interval="4h",
    discovery="kubernetes", out_dir="monitoring",
)

# The sandbox restarts a killed pod within seconds, so outages there are
# short: ApiDown and DatabaseDown fire on the first evaluation that sees them,
# and look back over `outage_window` for one that fell between evaluations.
SANDBOX = Profile(
    name="sandbox", scrape_interval="1s", evaluation_interval="1s", scrape_timeout="1s",
    api_down_for="0s", outage_window="5s", latency_window="10s", latency_for="3s", database_down_for="0s",
    hpu_memory_for="2s", job_failed_window="2m", crashloop_window="1m", crashloop_for="0s",
    not_ready_for="10s", group_wait="1s", group_interval="5s", repeat_interval="1m",
    discovery="http", out_dir="sandbox/overlay",
)

PROFILES = {p.name: p for p in (PRODUCTION, SANDBOX)}
