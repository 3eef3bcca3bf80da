"""Runbook check benchmark: the time `gameday runbook check` takes over the
whole seed runbook on the sandbox with the reference platform, and how many
of its command lines ran (target: under 5 minutes on 2 cores, at least 95%
of the command lines run, the rest each named with its reason).

    python bench/bench_runbook.py [--kubeconfig F] [--runbook runbook/gaudi3-scale-runbook.md]

Without --kubeconfig it uses a running sandbox ($GAMEDAY_SANDBOX_DIR or
./.gameday/sandbox) or starts one for the benchmark."""
from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path

from _target import sandbox_kubeconfig
from gameday.runbook import report
from gameday.runbook import settings as settings_mod
from gameday.runbook.check import Checker
from gameday.target import Target, default_sandbox_dir

TARGET_S = 300.0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kubeconfig")
    ap.add_argument("--runbook", default="runbook/gaudi3-scale-runbook.md")
    args = ap.parse_args()
    runbook = Path(args.runbook)
    ctx = contextlib.nullcontext(Path(args.kubeconfig)) if args.kubeconfig else sandbox_kubeconfig(default_sandbox_dir())
    with ctx as kubeconfig, tempfile.TemporaryDirectory(prefix="bench-runbook-") as tmp:
        checker = Checker(runbook, settings_mod.load(runbook, Path("gameday.yaml")), Target.connect(kubeconfig),
                          Path(tmp) / "runbook")
        try:
            result = checker.run()
        finally:
            checker.close()
    commands = [l for l in result.lines if not l.text.startswith(("(expected output)", "(afterwards)"))
                and l.verdict != "manual"]
    ran = [l for l in commands if l.verdict in ("passed", "failed", "interactive", "unmet")]
    share = len(ran) / len(commands) if commands else 0.0
    print(f"runbook check: {result.duration_s:.1f} s for {len(result.procedures)} procedures "
          f"(target < {TARGET_S:.0f} s): {'ok' if result.duration_s < TARGET_S else 'MISSED'}")
    print(f"command lines run: {len(ran)}/{len(commands)} ({share:.0%}, target >= 95%); {report.totals_line(result)}")
    for l in commands:
        if l not in ran:
            print(f"  not run: line {l.line}: {l.verdict}: {l.reason[:100]}")
    for l in result.lines:
        if l.verdict in ("failed", "unmet"):
            print(f"  {l.verdict}: line {l.line}: {l.text.splitlines()[0][:60]}: {l.reason[:110]}")
    return 0 if result.duration_s < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
