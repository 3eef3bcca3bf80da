"""Checkpoints on the trainer's persistent volume, one directory per job.

Written atomically: a temporary file is written, fsynced and renamed into
place (and the directory fsynced), so a process killed mid-write leaves only a
`.tmp` file that is never loaded. Loading also skips a file that does not
read back whole (e.g. a disk that lied), falling back to the previous one."""
from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
_NAME = re.compile(r"^step-(\d{8})\.npz$")
KEEP = 2


@dataclass
class Checkpoint:
    job_id: int
    step: int
    state: dict[str, np.ndarray]
    path: Path


def job_dir(root: str | os.PathLike, job_id: int) -> Path:
    return Path(root) / "jobs" / str(int(job_id))


def save(root: str | os.PathLike, job_id: int, step: int, state: dict[str, np.ndarray]) -> Path:
    directory = job_dir(root, job_id)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"step-{step:08d}.npz"
    tmp = directory / f".step-{step:08d}.npz.{os.getpid()}.tmp"
    buffer = io.BytesIO()
    np.savez(buffer, __step__=np.array(step), __job__=np.array(job_id), **state)
    with open(tmp, "wb") as fh:
        fh.write(buffer.getvalue())
        fh.flush()
        os.fsync(fh.fileno())
    os.rename(tmp, final)
    _fsync_dir(directory)
    _prune(directory)
    return final


def latest(root: str | os.PathLike, job_id: int) -> Checkpoint | None:
    directory = job_dir(root, job_id)
    if not directory.is_dir():
        return None
    candidates = sorted((int(m.group(1)), p) for p in directory.iterdir() if (m := _NAME.match(p.name)))
    for step, path in reversed(candidates):
        try:
            with np.load(path, allow_pickle=False) as data:
                state = {k: data[k].copy() for k in data.files if not k.startswith("__")}
                if int(data["__step__"]) != step or int(data["__job__"]) != int(job_id):
                    raise ValueError("header does not match the file name")
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
            log.error("skipping unreadable checkpoint %s: %s", path, exc)
            continue
        return Checkpoint(int(job_id), step, state, path)
    return None


def remove(root: str | os.PathLike, job_id: int) -> None:
    directory = job_dir(root, job_id)
    if directory.is_dir():
        for path in directory.iterdir():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        with contextlib.suppress(OSError):
            directory.rmdir()


def _prune(directory: Path) -> None:
    steps = sorted(p for p in directory.iterdir() if _NAME.match(p.name))
    for path in steps[:-KEEP]:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    # Temporary files left by a process that died mid-write.
    for path in directory.glob(".step-*.tmp"):
        if not path.name.endswith(f".{os.getpid()}.tmp"):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
