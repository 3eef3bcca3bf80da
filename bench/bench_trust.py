"""Trust figures: `gameday run` interrupted by SIGTERM, SIGINT and SIGKILL at
points spread over its experiments' fault windows (one bare sandbox for
all), and the faults each signal left behind (counted in the cluster:
labels, restore annotations, ledgers) before and after `gameday recover`;
then the malformed inputs hypothesis tried on the loaders and the
tracebacks seen (target 0 everywhere but SIGKILL-before-recover); then the
RBAC denials checked (deploy/rbac against what the drills need)."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gameday.drill import recover as recover_mod  # noqa: E402
from gameday.sandbox.cluster import Sandbox  # noqa: E402
from tests.trust.killing import NS, gameday, run_and_kill, wait_until, write_experiments  # noqa: E402

POINTS = tuple(float(x) for x in os.environ.get("BENCH_TRUST_POINTS", "0,1.5,4").split(","))
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGKILL)


def web_ready(apps) -> bool:
    d = apps.read_namespaced_deployment("web", NS)
    return d.spec.replicas == 2 and (d.status.ready_replicas or 0) == 2 and (d.status.replicas or 0) == 2 \
        and d.spec.template.spec.containers[0].image == "gameday-test/web:1"


def signals(sb: Sandbox, work: Path) -> list[str]:
    from kubernetes import client, config
    api = config.new_client_from_config(config_file=str(sb.kubeconfig))
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    core.create_namespaced_config_map(NS, {"metadata": {"name": "trust-settings"}, "data": {"mode": "normal"}})
    cfg = {"kubeconfig_path": str(sb.kubeconfig)}
    lines = []
    experiments = write_experiments(work / "experiments")
    for sig in SIGNALS:
        runs = mid = left = left_after = 0
        for path in experiments:
            for point in POINTS:
                wait_until(lambda: web_ready(apps), 180)
                reports = work / f"{sig.name}-{runs}"
                _, injected = run_and_kill(
                    [sys.executable, "-m", "gameday.cli", "run", str(path), "--kubeconfig", str(sb.kubeconfig),
                     "--reports", str(reports)], reports / f"{path.stem}.timeline.jsonl", point, sig=sig)
                runs += 1
                mid += injected
                left += recover_mod.count_left(cfg)
                gameday("recover", "--kubeconfig", str(sb.kubeconfig))
                left_after += recover_mod.count_left(cfg)
        lines.append(f"{sig.name}: {runs} interrupted runs ({mid} mid-fault); faults left behind {left}, "
                     f"after gameday recover {left_after}")
        print(lines[-1], flush=True)
    return lines


def malformed() -> str:
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:locust", "-p", "no:logging",
                           "tests/trust/test_malformed_inputs.py"], cwd=ROOT, capture_output=True, text=True,
                          timeout=1800)
    m = re.search(r"malformed inputs tried: .*", proc.stdout)
    return m.group(0) if m else f"malformed inputs: the test did not report (exit {proc.returncode})"


def rbac() -> list[str]:
    """The least-privilege tests' own figures: needs checked by SelfSubjectAccessReview, verbs removed."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:locust", "-p", "no:logging",
                           "tests/trust/test_least_privilege.py", "tests/sandbox/test_rbac.py"], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    lines = [m.group(0) for m in re.finditer(r"RBAC: .*", proc.stdout)]
    return lines or [f"RBAC: the tests did not report (exit {proc.returncode})"]


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="gameday-bench-trust-"))
    sb = Sandbox(work / "sandbox", config=ROOT / "tests" / "sandbox" / "manifests" / "sandbox" / "sandbox.yaml")
    try:
        sb.start()
        sb.wait_ready(240)
        signals(sb, work)
    finally:
        sb.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(malformed())
    for line in rbac():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
