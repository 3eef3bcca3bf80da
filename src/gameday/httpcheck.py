"""One HTTP request and one bounded poll: what every probe, step and
read-back of the harness uses (a status code, 0 when nothing answered)."""
from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Answer:
    method: str
    url: str
    status: int          # 0: no answer (refused, timed out, bad URL)
    body: str
    seconds: float = 0.0


def request(method: str, url: str, data: bytes | None = None, timeout: float = 10.0, limit: int = 65536) -> Answer:
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data is not None else {})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read(limit).decode("utf-8", "replace")
            return Answer(method, url, resp.status, body, time.monotonic() - started)
    except urllib.error.HTTPError as exc:
        return Answer(method, url, exc.code, exc.read(limit).decode("utf-8", "replace"), time.monotonic() - started)
    except (OSError, ValueError) as exc:  # URLError is an OSError
        return Answer(method, url, 0, f"{exc.__class__.__name__}: {exc}", time.monotonic() - started)


def status(url: str, timeout: float = 2.0) -> int:
    return request("GET", url, timeout=timeout).status


def poll(check: Callable[[], Any], within: float, interval: float = 0.25) -> Any:
    """Call `check` until it returns something truthy or `within` seconds
    pass; returns the last value (falsy on timeout)."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
