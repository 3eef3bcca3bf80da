"""Trainer settings, from the environment (the Deployment's env)."""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass


def _env(name: str, default, kind=float):
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        raise SystemExit(f"${name} must be a {kind.__name__}, got {raw!r}") from None


@dataclass(frozen=True)
class TrainerSettings:
    host: str = "0.0.0.0"
    port: int = 8080
    model_dir: str = "/app/models"
    worker: str = "trainer"
    node: str = "unknown"
    step_seconds: float = 0.05       # pause between steps: keeps CPU low
    checkpoint_every: int = 10
    max_attempts: int = 3
    lease_seconds: float = 30.0      # a running job not renewed this long goes back to the queue
    poll_seconds: float = 1.0
    model_memory_fraction: float = 0.05       # held while the process lives (weights)
    activation_memory_fraction: float = 0.20  # taken and freed around each step

    @classmethod
    def from_env(cls) -> "TrainerSettings":
        return cls(
            host=os.environ.get("GAUDI3_TRAINER_HOST", cls.host),
            port=_env("GAUDI3_TRAINER_PORT", cls.port, int),
            model_dir=os.environ.get("MODEL_DIR", cls.model_dir),
            worker=os.environ.get("HOSTNAME") or socket.gethostname(),
            node=os.environ.get("NODE_NAME", cls.node),
            step_seconds=_env("TRAINER_STEP_SECONDS", cls.step_seconds),
            checkpoint_every=max(1, _env("TRAINER_CHECKPOINT_EVERY", cls.checkpoint_every, int)),
            max_attempts=_env("TRAINER_MAX_ATTEMPTS", cls.max_attempts, int),
            lease_seconds=_env("TRAINER_LEASE_SECONDS", cls.lease_seconds),
            poll_seconds=_env("TRAINER_POLL_SECONDS", cls.poll_seconds),
            model_memory_fraction=_env("TRAINER_MODEL_MEMORY_FRACTION", cls.model_memory_fraction),
            activation_memory_fraction=_env("TRAINER_ACTIVATION_MEMORY_FRACTION", cls.activation_memory_fraction),
        )
