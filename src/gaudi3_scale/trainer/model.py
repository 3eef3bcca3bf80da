"""A small real model: a two-layer tanh MLP fitted by SGD to a synthetic
regression task, in numpy. Pure functions; the batch of step N depends only
on (seed, N), so a run resumed from a checkpoint follows exactly the path an
uninterrupted run would."""
from __future__ import annotations

import numpy as np

INPUTS, HIDDEN, BATCH = 16, 32, 128
LEARNING_RATE = 0.05


def init(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, 0])
    return {
        "w1": rng.normal(0, 1 / np.sqrt(INPUTS), (INPUTS, HIDDEN)),
        "b1": np.zeros(HIDDEN),
        "w2": rng.normal(0, 1 / np.sqrt(HIDDEN), (HIDDEN, 1)),
        "b2": np.zeros(1),
        # The task itself, fixed per job: targets come from a hidden teacher.
        "teacher": np.random.default_rng([seed, 1]).normal(0, 1 / np.sqrt(INPUTS), (INPUTS, 1)),
    }


def batch(state: dict[str, np.ndarray], seed: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, 2, step])
    x = rng.normal(0, 1, (BATCH, INPUTS))
    y = np.sin(x @ state["teacher"]) + rng.normal(0, 0.05, (BATCH, 1))
    return x, y


def train_step(state: dict[str, np.ndarray], seed: int, step: int) -> float:
    """One SGD step in place; returns the batch's mean squared error."""
    x, y = batch(state, seed, step)
    h = np.tanh(x @ state["w1"] + state["b1"])
    pred = h @ state["w2"] + state["b2"]
    err = pred - y
    loss = float(np.mean(err**2))
    grad_pred = 2 * err / len(x)
    grad_w2 = h.T @ grad_pred
    grad_b2 = grad_pred.sum(axis=0)
    grad_h = grad_pred @ state["w2"].T * (1 - h**2)
    state["w1"] -= LEARNING_RATE * (x.T @ grad_h)
    state["b1"] -= LEARNING_RATE * grad_h.sum(axis=0)
    state["w2"] -= LEARNING_RATE * grad_w2
    state["b2"] -= LEARNING_RATE * grad_b2
    return loss
