"""pytest helpers: session-wide sandboxes for the test suite.

`tests/conftest.py` (and any other conftest) imports the fixtures::

    from gameday.sandbox.testing import bare_sandbox, sandbox  # noqa: F401

- `sandbox`: the reference platform (deploy/sandbox/sandbox.yaml); skipped
  with a reason while that file does not exist. Sets KUBECONFIG for the
  session (the harness's default target) and restores it afterwards.
- `bare_sandbox`: no platform, only the small manifests of
  tests/sandbox/manifests/ and its test images (TEST_CONFIG).

Each has a state directory of its own (see `state_dir`), removed afterwards.
Both yield a started `Sandbox` (`.kubeconfig`, `.service_url(...)`) and fail
loudly, with the sandbox's logs in the message, when it cannot start or get
ready in time: they never hang."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from .cluster import Sandbox, SandboxError

ROOT = Path(__file__).resolve().parents[3]
PLATFORM_CONFIG = ROOT / "deploy" / "sandbox" / "sandbox.yaml"
TEST_MANIFESTS = ROOT / "tests" / "sandbox" / "manifests"
READY_TIMEOUT = float(os.environ.get("GAMEDAY_SANDBOX_READY_TIMEOUT", "240"))

# The bare sandbox's config: test manifests and test images (gameday-test/web, /crash, /shell).
TEST_CONFIG = TEST_MANIFESTS / "sandbox" / "sandbox.yaml"


def start(state_dir: Path, timeout: float = READY_TIMEOUT, **kwargs) -> Sandbox:
    """A started and ready Sandbox, or pytest.fail with why (and its logs)."""
    sb = Sandbox(state_dir, **kwargs)
    try:
        sb.start()
    except Exception as exc:
        logs = ""
        try:
            logs = sb.log_file.read_text()[-4000:]
        except OSError:
            pass
        sb.stop()
        pytest.fail(f"the sandbox did not start: {exc}\n{logs}", pytrace=False)
    try:
        sb.wait_ready(timeout)
    except SandboxError as exc:
        sb.stop()
        pytest.fail(str(exc), pytrace=False)
    return sb


def state_dir(name: str) -> Path:
    """A state directory of its own in the system's temporary directory.

    Not under pytest's basetemp: every pytest session (and xdist worker) of
    the same user resets pytest-of-<user>/ to mode 0700 when it starts, and
    pods running as an unprivileged user would lose their way to their
    directories whenever a concurrent session starts."""
    return Path(tempfile.mkdtemp(prefix=f"gameday-{name}-"))


# Session sandboxes still running, by fixture name: `release` stops one
# before the session ends (the suite's conftest does, after its last user).
_LIVE: dict[str, tuple[Sandbox, Path]] = {}


def release(name: str) -> bool:
    """Stop the session sandbox of fixture `name` now and remove its state
    directory (the fixture's own teardown then has nothing left to do).
    True when one was running."""
    live = _LIVE.pop(name, None)
    if live is None:
        return False
    sb, path = live
    sb.stop()
    shutil.rmtree(path, ignore_errors=True)
    return True


def _start_or_remove(path: Path, config: Path) -> Sandbox:
    """`start`, and the state directory removed when it fails (nothing left in /tmp)."""
    try:
        return start(path, config=config)
    except BaseException:  # pytest.fail's outcome too
        shutil.rmtree(path, ignore_errors=True)
        raise


@pytest.fixture(scope="session")
def bare_sandbox():
    path = state_dir("bare-sandbox")
    sb = _start_or_remove(path, TEST_CONFIG)
    _LIVE["bare_sandbox"] = (sb, path)
    try:
        yield sb
    finally:
        release("bare_sandbox")


@pytest.fixture(scope="session")
def sandbox():
    if not PLATFORM_CONFIG.exists():
        pytest.skip(f"{PLATFORM_CONFIG.relative_to(ROOT)} does not exist yet: no reference platform to deploy")
    path = state_dir("sandbox")
    sb = _start_or_remove(path, PLATFORM_CONFIG)
    _LIVE["sandbox"] = (sb, path)
    before = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = str(sb.kubeconfig)
    try:
        yield sb
    finally:
        if before is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = before
        release("sandbox")
