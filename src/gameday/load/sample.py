"""One second of load as the Locust process reports it."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LoadSample:
    t: float
    requests: int          # in this second
    failures: int          # in this second
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    users: int
    total_requests: int
    total_failures: int
    hist: dict[int, int] = field(default_factory=dict)   # rounded ms -> count, this second
    acked: list[str] = field(default_factory=list)       # job ids acknowledged this second

    @classmethod
    def from_json(cls, obj: dict) -> "LoadSample":
        return cls(
            t=float(obj["t"]), requests=int(obj["requests"]), failures=int(obj["failures"]),
            rps=float(obj["rps"]), p50_ms=float(obj["p50_ms"]), p95_ms=float(obj["p95_ms"]),
            p99_ms=float(obj["p99_ms"]), users=int(obj["users"]),
            total_requests=int(obj.get("total_requests", 0)), total_failures=int(obj.get("total_failures", 0)),
            hist={int(k): int(v) for k, v in (obj.get("hist") or {}).items()},
            acked=[str(i) for i in obj.get("acked") or []],
        )

    def timeline_fields(self) -> dict:
        return {"rps": self.rps, "requests": self.requests, "failures": self.failures, "p50_ms": self.p50_ms,
                "p95_ms": self.p95_ms, "p99_ms": self.p99_ms, "users": self.users,
                "total_requests": self.total_requests, "total_failures": self.total_failures,
                "hist": {str(k): v for k, v in self.hist.items()}}
