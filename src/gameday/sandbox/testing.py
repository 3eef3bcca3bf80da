"""pytest helpers: session-wide sandboxes for the test suite.

`tests/conftest.py` (and any other conftest) imports the fixtures::

    from gameday.sandbox.testing import bare_sandbox, sandbox  # noqa: F401

- `sandbox`: the reference platform (deploy/sandbox/sandbox.yaml); skipped
  with a reason while that file does not exist. Sets KUBECONFIG for the
  session (the harness's default target) and restores it afterwards.
- `bare_sandbox`: no platform, only the small manifests of
  tests/sandbox/manifests/ and the test images of TEST_IMAGES.

Both yield a started `Sandbox` (`.kubeconfig`, `.service_url(...)`) and fail
loudly, with the sandbox's logs in the message, when it cannot start or get
ready in time: they never hang."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from .cluster import Sandbox, SandboxError

ROOT = Path(__file__).resolve().parents[3]
PLATFORM_CONFIG = ROOT / "deploy" / "sandbox" / "sandbox.yaml"
TEST_MANIFESTS = ROOT / "tests" / "sandbox" / "manifests"
READY_TIMEOUT = float(os.environ.get("GAMEDAY_SANDBOX_READY_TIMEOUT", "240"))

# Test images: small local programs standing in for container images.
TEST_IMAGES = {
    # An HTTP server on the pod IP, port 8080 unless args say otherwise.
    "gameday-test/web": {"entrypoint": ["{python}", "-m", "http.server"], "cmd": ["8080"],
                         "bind_args": ["--bind", "{pod_ip}"]},
    # Exits 1 at once: CrashLoopBackOff material.
    "gameday-test/crash": {"entrypoint": ["sh", "-c", "echo crashing; exit 1"]},
    # Runs a shell command given as args (Jobs, StatefulSets).
    "gameday-test/shell": {"entrypoint": ["sh", "-c"], "cmd": ["sleep 3600"]},
}


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


@pytest.fixture(scope="session")
def bare_sandbox(tmp_path_factory):
    sb = start(tmp_path_factory.mktemp("bare-sandbox"), config=None, apply_default=False,
               manifests=[TEST_MANIFESTS], extra_images=TEST_IMAGES)
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    if not PLATFORM_CONFIG.exists():
        pytest.skip(f"{PLATFORM_CONFIG.relative_to(ROOT)} does not exist yet: no reference platform to deploy")
    sb = start(tmp_path_factory.mktemp("sandbox"), config=PLATFORM_CONFIG)
    before = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = str(sb.kubeconfig)
    try:
        yield sb
    finally:
        if before is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = before
        sb.stop()
