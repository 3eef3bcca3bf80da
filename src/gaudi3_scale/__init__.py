"""Gaudi 3 Scale: the reference ML-training platform the runbook operates.

Reached by gameday only as production is: over HTTP, the Kubernetes API,
Prometheus and PostgreSQL. Nothing in gameday imports this package."""

__version__ = "0.1.0"
