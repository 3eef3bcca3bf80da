"""The model the trainer fits: a two-layer tanh MLP (torch.nn) trained by
SGD with momentum on a synthetic regression task. The batch of step N depends
only on (seed, N) and is drawn on the CPU, so a run resumed from a checkpoint
follows exactly the path an uninterrupted run would, on any device."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

INPUTS, HIDDEN, BATCH = 16, 32, 128
LEARNING_RATE = 0.05
MOMENTUM = 0.9


@dataclass
class TrainState:
    seed: int
    net: nn.Module
    optimizer: torch.optim.Optimizer
    teacher: torch.Tensor   # the task itself, fixed per job: targets come from a hidden teacher
    device: torch.device


def _generator(*key: int) -> torch.Generator:
    mixed = 0
    for part in key:
        mixed = (mixed * 1_000_003 + int(part)) % (2**63 - 1)
    return torch.Generator().manual_seed(mixed)


def init(seed: int, device: torch.device | str = "cpu") -> TrainState:
    device = torch.device(device)
    torch.manual_seed(seed)  # nn.Linear's own initialisation
    net = nn.Sequential(nn.Linear(INPUTS, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, 1)).to(device)
    teacher = torch.randn(INPUTS, 1, generator=_generator(seed, 1)) / INPUTS**0.5
    optimizer = torch.optim.SGD(net.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)
    return TrainState(seed, net, optimizer, teacher.to(device), device)


def batch(state: TrainState, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = _generator(state.seed, 2, step)
    x = torch.randn(BATCH, INPUTS, generator=gen)
    noise = torch.randn(BATCH, 1, generator=gen) * 0.05
    x = x.to(state.device)
    y = torch.sin(x @ state.teacher) + noise.to(state.device)
    return x, y


def train_step(state: TrainState, step: int) -> float:
    """One optimiser step; returns the batch's mean squared error."""
    x, y = batch(state, step)
    state.optimizer.zero_grad(set_to_none=True)
    loss = nn.functional.mse_loss(state.net(x), y)
    loss.backward()
    state.optimizer.step()
    return float(loss.detach().cpu())


def to_checkpoint(state: TrainState) -> dict:
    """What a checkpoint holds besides its job and step (tensors on the CPU)."""
    return {
        "model_state_dict": {k: v.detach().cpu() for k, v in state.net.state_dict().items()},
        "optimizer_state_dict": _to_cpu(state.optimizer.state_dict()),
        "teacher": state.teacher.detach().cpu(),
    }


def from_checkpoint(seed: int, saved: dict, device: torch.device | str = "cpu") -> TrainState:
    state = init(seed, device)
    state.net.load_state_dict(saved["model_state_dict"])
    state.optimizer.load_state_dict(saved["optimizer_state_dict"])
    state.teacher = saved["teacher"].to(state.device)
    return state


def _to_cpu(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_cpu(v) for v in value]
    return value
