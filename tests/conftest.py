"""Fixtures shared by the whole test suite: one sandbox per test session
(`sandbox` with the reference platform, `bare_sandbox` with only the small
test manifests), each in its own state directory."""
from __future__ import annotations

import pytest

from gameday.sandbox.testing import bare_sandbox, sandbox  # noqa: F401  (fixtures)


@pytest.fixture(scope="session")
def bare_kubeconfig(bare_sandbox):
    """The bare sandbox's kubeconfig path."""
    return bare_sandbox.kubeconfig


@pytest.fixture(scope="session")
def sandbox_kubeconfig(sandbox):
    """The platform sandbox's kubeconfig path."""
    return sandbox.kubeconfig
