"""Checkpoints are atomic and a resumed run matches an uninterrupted one."""
from __future__ import annotations

import numpy as np

from gaudi3_scale.trainer import checkpoint, model


def run(seed: int, start_state, start: int, stop: int):
    state = {k: v.copy() for k, v in start_state.items()}
    losses = [model.train_step(state, seed, step) for step in range(start + 1, stop + 1)]
    return state, losses


def test_model_learns():
    state, losses = run(7, model.init(7), 0, 200)
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:20])


def test_resume_from_checkpoint_matches_uninterrupted(tmp_path):
    straight, _ = run(3, model.init(3), 0, 50)
    half, _ = run(3, model.init(3), 0, 20)
    checkpoint.save(tmp_path, 3, 20, half)
    saved = checkpoint.latest(tmp_path, 3)
    assert saved.step == 20
    resumed, _ = run(3, saved.state, saved.step, 50)
    for key in straight:
        np.testing.assert_array_equal(straight[key], resumed[key])


def test_torn_temp_file_and_corrupt_checkpoint_are_never_loaded(tmp_path):
    state = model.init(1)
    checkpoint.save(tmp_path, 1, 10, state)
    directory = checkpoint.job_dir(tmp_path, 1)
    # A process killed mid-write leaves its temporary file behind...
    good = (directory / "step-00000010.npz").read_bytes()
    (directory / ".step-00000020.npz.99999.tmp").write_bytes(good[: len(good) // 2])
    assert checkpoint.latest(tmp_path, 1).step == 10
    # ...and a final file that does not read back whole is skipped too.
    (directory / "step-00000030.npz").write_bytes(good[: len(good) // 3])
    assert checkpoint.latest(tmp_path, 1).step == 10
    # A file whose header disagrees with its name is not trusted.
    (directory / "step-00000040.npz").write_bytes(good)
    assert checkpoint.latest(tmp_path, 1).step == 10


def test_save_keeps_the_last_two_and_cleans_dead_temp_files(tmp_path):
    state = model.init(2)
    directory = checkpoint.job_dir(tmp_path, 2)
    directory.mkdir(parents=True)
    (directory / ".step-00000005.npz.1.tmp").write_bytes(b"torn")
    for step in (10, 20, 30):
        checkpoint.save(tmp_path, 2, step, state)
    names = sorted(p.name for p in directory.iterdir())
    assert names == ["step-00000020.npz", "step-00000030.npz"]
    checkpoint.remove(tmp_path, 2)
    assert checkpoint.latest(tmp_path, 2) is None
