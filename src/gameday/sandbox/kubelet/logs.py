"""Container logs: one file per container instance, each line prefixed with
its RFC 3339 time (as the CRI log format does), so that `--since` and
`--timestamps` work; the current and the previous instance are kept."""
from __future__ import annotations

import datetime as _dt
import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import IO, Iterator


def stamp() -> bytes:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode()


class LogPump(threading.Thread):
    """Copies a container's output into its log file, line by line."""

    def __init__(self, source: IO[bytes], path: Path) -> None:
        super().__init__(daemon=True, name=f"logs-{path.parent.name}")
        self.source = source
        self.path = path
        self.done = threading.Event()

    def run(self) -> None:
        try:
            with open(self.path, "ab", buffering=0) as out:
                for line in iter(self.source.readline, b""):
                    if not line.endswith(b"\n"):
                        line += b"\n"
                    out.write(stamp() + b" " + line)
        except (OSError, ValueError):
            pass
        finally:
            try:
                self.source.close()
            except OSError:
                pass
            self.done.set()


def _parse(line: bytes) -> tuple[float, bytes, bytes]:
    ts, _, rest = line.partition(b" ")
    try:
        t = _dt.datetime.strptime(ts.decode()[:26] + "Z", "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=_dt.timezone.utc).timestamp()
    except ValueError:
        t = 0.0
    return t, ts, rest


def read(path: Path, *, since_seconds: float | None = None, tail_lines: int | None = None,
         timestamps: bool = False, follow: bool = False, alive=lambda: False) -> Iterator[bytes]:
    """The log's lines (whole lines), optionally following while `alive()`."""
    cutoff = time.time() - since_seconds if since_seconds else None

    def render(raw: bytes) -> bytes | None:
        t, ts, rest = _parse(raw)
        if cutoff is not None and t < cutoff:
            return None
        return (ts + b" " + rest) if timestamps else rest

    if not path.exists():
        return
    with open(path, "rb") as f:
        if tail_lines is not None and tail_lines >= 0:
            lines = deque((line for line in f if line.endswith(b"\n")), maxlen=tail_lines)
        else:
            lines = [line for line in f if line.endswith(b"\n")]
        chunk = b"".join(x for x in (render(raw) for raw in lines) if x is not None)
        if chunk:
            yield chunk
        if not follow:
            return
        pending = b""
        while True:
            data = f.read(65536)
            if data:
                pending += data
                *whole, pending = pending.split(b"\n")
                rendered = (render(w + b"\n") for w in whole)
                out = b"".join(r for r in rendered if r is not None)
                if out:
                    yield out
                continue
            if not alive():
                return
            time.sleep(0.2)  # polling the file: the bound is the caller closing us or the container ending


def keep_recent(log_dir: Path, keep: set[str]) -> None:
    """Remove the log files of container instances no longer current or previous."""
    try:
        for name in os.listdir(log_dir):
            if name not in keep:
                try:
                    os.unlink(log_dir / name)
                except OSError:
                    pass
    except OSError:
        pass
