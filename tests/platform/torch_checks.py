"""Checks of the PyTorch trainer's model and checkpoints, run by
test_trainer_checkpoint.py under the platform's interpreter (torch is the
platform's dependency, not the harness's): `python torch_checks.py NAME DIR`.
Each check raises AssertionError on failure; exit 0 means it held."""
from __future__ import annotations

import sys
from pathlib import Path

import torch

from gaudi3_scale.trainer import checkpoint, model


def run(state, start: int, stop: int) -> list[float]:
    return [model.train_step(state, step) for step in range(start + 1, stop + 1)]


def learns(tmp: Path) -> None:
    losses = run(model.init(7), 0, 200)
    first, last = sum(losses[:20]) / 20, sum(losses[-20:]) / 20
    assert last < 0.5 * first, (first, last)


def resume_matches_uninterrupted(tmp: Path) -> None:
    straight = model.init(3)
    run(straight, 0, 50)
    half = model.init(3)
    run(half, 0, 20)
    checkpoint.save(tmp, 3, 20, model.to_checkpoint(half), 0.1)
    saved = checkpoint.latest(tmp, 3)
    assert saved.step == 20 and saved.path.name == "latest.ckpt", saved
    resumed = model.from_checkpoint(3, saved.state)
    run(resumed, 20, 50)
    for (name, a), (_, b) in zip(straight.net.state_dict().items(), resumed.net.state_dict().items()):
        assert torch.equal(a, b), name
    # What the runbook prints: the checkpoint's keys.
    keys = set(torch.load(tmp / "latest.ckpt").keys())
    assert {"job_id", "step", "model_state_dict", "optimizer_state_dict"} <= keys, keys


def torn_and_corrupt_never_loaded(tmp: Path) -> None:
    state = model.init(1)
    checkpoint.save(tmp, 1, 10, model.to_checkpoint(state))
    (tmp / "latest.ckpt").unlink()  # the job's directory alone
    directory = checkpoint.job_dir(tmp, 1)
    good = (directory / "step-00000010.ckpt").read_bytes()
    # A process killed mid-write leaves its temporary file behind...
    (directory / ".step-00000020.ckpt.99999.tmp").write_bytes(good[: len(good) // 2])
    assert checkpoint.latest(tmp, 1).step == 10
    # ...and a final file that does not read back whole is skipped too.
    (directory / "step-00000030.ckpt").write_bytes(good[: len(good) // 3])
    assert checkpoint.latest(tmp, 1).step == 10
    # A file whose header disagrees with its name is not trusted.
    (directory / "step-00000040.ckpt").write_bytes(good)
    assert checkpoint.latest(tmp, 1).step == 10
    # latest.ckpt of another job is not this job's.
    checkpoint.save(tmp, 2, 50, model.to_checkpoint(model.init(2)))
    assert checkpoint.latest(tmp, 1).step == 10


def keeps_two_and_latest_survives_cleanup(tmp: Path) -> None:
    state = model.init(2)
    directory = checkpoint.job_dir(tmp, 2)
    directory.mkdir(parents=True)
    (directory / ".step-00000005.ckpt.1.tmp").write_bytes(b"torn")
    for step in (10, 20, 30):
        checkpoint.save(tmp, 2, step, model.to_checkpoint(state))
    names = sorted(p.name for p in directory.iterdir())
    assert names == ["step-00000020.ckpt", "step-00000030.ckpt"], names
    checkpoint.remove(tmp, 2)
    assert not directory.exists()
    assert torch.load(tmp / "latest.ckpt")["step"] == 30  # the final model stays


if __name__ == "__main__":
    globals()[sys.argv[1]](Path(sys.argv[2]))
    print("ok", sys.argv[1])
