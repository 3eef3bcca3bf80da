"""Fixtures shared by the whole test suite: one sandbox per test session
(`sandbox` with the reference platform, `bare_sandbox` with only the small
test manifests), each in its own state directory."""
from __future__ import annotations

import os

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


# --- order: one sandbox at a time on a 2-core machine -------------------------
# Tests without a sandbox first, then those that start their own, then the
# bare sandbox's (stopped after its last test), then the platform sandbox's,
# the runbook features last (they run against the platform sandbox the
# session started). Stable within a group: a module keeps its own order.
_PLATFORM = ("sandbox", "sandbox_kubeconfig", "gameday_target", "gameday_run")
_BARE = ("bare_sandbox", "bare_kubeconfig")


def _group(item) -> int:
    names = set(getattr(item, "fixturenames", ()))
    if item.nodeid.startswith("features/"):
        return 4
    if names.intersection(_PLATFORM):
        return 3
    if names.intersection(_BARE):
        return 2
    if item.get_closest_marker("sandbox"):
        return 1
    return 0


def _uses_bare(item) -> bool:
    return bool(set(getattr(item, "fixturenames", ())).intersection(_BARE))


def _order(item) -> tuple[int, int]:
    # Of the platform sandbox's tests, the platform's own first: the drills
    # after them keep Locust's load on the API, and the jobs it submits queue
    # up ahead of any job a later test submits and waits for.
    group = _group(item)
    return group, int(group == 3 and not item.nodeid.startswith("tests/platform/"))


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=_order)
    # `make test` runs the suite in two parts at once: the tests without a
    # sandbox (GAMEDAY_TEST_PART=unit) beside those with one (=sandbox),
    # which still run one sandbox at a time. Unset: everything, in order.
    part = os.environ.get("GAMEDAY_TEST_PART", "")
    if part not in ("", "unit", "sandbox"):
        raise pytest.UsageError(f"GAMEDAY_TEST_PART must be unit or sandbox, got {part!r}")
    if part:
        keep = [i for i in items if (_group(i) == 0) == (part == "unit")]
        dropped = [i for i in items if (_group(i) == 0) != (part == "unit")]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    """After the bare sandbox's last test, stop it: the platform's tests
    (and the features) then have the machine's cores to themselves."""
    if not _uses_bare(item):
        return
    rest = item.session.items[item.session.items.index(item) + 1:]
    if not any(_uses_bare(i) for i in rest):
        from gameday.sandbox import testing
        testing.release("bare_sandbox")
