"""Checkpoints on the trainer's persistent volume (/app/models): torch files,
one directory per job, and `latest.ckpt` at the top, the newest checkpoint of
any job (`torch.load('/app/models/latest.ckpt')` is what the runbook checks).

Written atomically: a temporary file is written, fsynced and renamed into
place (and the directory fsynced), so a process killed mid-write leaves only a
`.tmp` file that is never loaded. `latest.ckpt` is a hard link to the newest
file, swapped in by rename, so it stays whole when the job's directory is
cleaned. Loading skips a file that does not read back whole (a disk that
lied), falling back to the previous one."""
from __future__ import annotations

import contextlib
import logging
import os
import pickle
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

log = logging.getLogger(__name__)
_NAME = re.compile(r"^step-(\d{8})\.ckpt$")
LATEST = "latest.ckpt"
KEEP = 2
FORMAT = 1


@dataclass
class Checkpoint:
    job_id: int
    step: int
    state: dict           # model_state_dict, optimizer_state_dict, teacher
    path: Path
    loss: float | None = None


def job_dir(root: str | os.PathLike, job_id: int) -> Path:
    return Path(root) / "jobs" / str(int(job_id))


def save(root: str | os.PathLike, job_id: int, step: int, state: dict, loss: float | None = None) -> Path:
    directory = job_dir(root, job_id)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"step-{step:08d}.ckpt"
    tmp = directory / f".step-{step:08d}.ckpt.{os.getpid()}.tmp"
    payload = {"format": FORMAT, "job_id": int(job_id), "step": int(step),
               "loss": None if loss is None or loss != loss else float(loss), **state}
    with open(tmp, "wb") as fh:
        torch.save(payload, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.rename(tmp, final)
    _fsync_dir(directory)
    _point_latest(Path(root), final)
    _prune(directory)
    return final


def _point_latest(root: Path, target: Path) -> None:
    tmp = root / f".{LATEST}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        os.link(target, tmp)
    except OSError:  # a filesystem without hard links: a copy, still renamed into place
        shutil.copyfile(target, tmp)
    os.rename(tmp, root / LATEST)
    _fsync_dir(root)


def read(path: str | os.PathLike) -> dict | None:
    """A checkpoint file's contents, or None when it does not read back whole."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(data, dict) or "step" not in data or "job_id" not in data:
            raise ValueError("not a trainer checkpoint")
        return data
    except (OSError, ValueError, KeyError, RuntimeError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError) as exc:
        log.error("skipping unreadable checkpoint %s: %s", path, exc)
        return None


def latest(root: str | os.PathLike, job_id: int) -> Checkpoint | None:
    """The job's newest readable checkpoint: latest.ckpt when it is this
    job's (a restarted trainer resumes from it), else the job's directory."""
    found: list[tuple[int, Path]] = []
    top = Path(root) / LATEST
    if top.exists():
        found.append((-1, top))
    directory = job_dir(root, job_id)
    if directory.is_dir():
        found += sorted(((int(m.group(1)), p) for p in directory.iterdir() if (m := _NAME.match(p.name))), reverse=True)
    best: Checkpoint | None = None
    for step, path in found:
        data = read(path)
        if data is None or int(data["job_id"]) != int(job_id):
            continue
        if step >= 0 and int(data["step"]) != step:
            log.error("skipping checkpoint %s: its step %s does not match its name", path, data["step"])
            continue
        if best is None or int(data["step"]) > best.step:
            state = {k: v for k, v in data.items() if k not in ("format", "job_id", "step", "loss")}
            best = Checkpoint(int(job_id), int(data["step"]), state, path, data.get("loss"))
        if step >= 0:
            break  # the newest readable file of the directory
    return best


def remove(root: str | os.PathLike, job_id: int) -> None:
    """The job's directory (a completed job); latest.ckpt keeps its final state."""
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
