"""The sandbox's kubelet: runs each pod's containers as local processes,
probes them, restarts them with CrashLoopBackOff back-off, keeps their logs
and reports their status. Imported lazily: entrypoints under this package run
inside containers and must stay light."""
from __future__ import annotations


def __getattr__(name):
    if name == "Kubelet":
        from .kubelet import Kubelet
        return Kubelet
    raise AttributeError(name)
