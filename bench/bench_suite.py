"""The runbook suite's wall time against the waits it cannot avoid.

Runs `gameday drill` over the features (all of them by default) and sets
its wall time against the sum of the waits the scenarios cannot avoid:
each alert's `for:` duration plus one rule-evaluation and one scrape
interval (read from the sandbox's Prometheus configuration), each settle
window (steady state before the fault, recovery after it), the seconds of
load the steady state needs before it can be confirmed. The ratio says how
much of the suite's time is overhead (process start-up, rollouts, waits for
pods) rather than waiting the platform's own clocks out.

    python bench/bench_suite.py [FEATURES...] [-m MARKEXPR] [--kubeconfig F --context C]

Prints the figures and writes reports/bench/bench_suite.json."""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gameday.bdd import features as features_mod  # noqa: E402
from gameday.bdd import results as results_mod  # noqa: E402

PROMETHEUS_CONFIG = ROOT / "deploy" / "sandbox" / "overlay" / "prometheus-config.yaml"
SANDBOX_CONFIG = ROOT / "deploy" / "sandbox" / "sandbox.yaml"
CRASHING_FAULTS = ("failing-rollout",)  # the container must crash and be backed off before it counts as looping
STEADY_SETTLE_S = 2.0       # Drill.confirm_steady_state's settle window
LOAD_WARMUP_S = 2.0         # the load runner waits for two one-second samples
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$")


def seconds(text: str | None) -> float:
    if not text:
        return 0.0
    total = 0.0
    for num, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", str(text)):
        total += float(num) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total


def alert_waits(config_path: Path = PROMETHEUS_CONFIG) -> tuple[dict[str, float], float]:
    """({alert: for-duration + evaluation interval}, scrape interval) from
    the Prometheus ConfigMap the sandbox runs."""
    doc = next(d for d in yaml.safe_load_all(config_path.read_text()) if d and d.get("kind") == "ConfigMap")
    prom = yaml.safe_load(doc["data"]["prometheus.yml"])
    scrape = seconds(prom.get("global", {}).get("scrape_interval", "1m"))
    default_eval = seconds(prom.get("global", {}).get("evaluation_interval", "1m"))
    waits: dict[str, float] = {}
    for key, text in doc["data"].items():
        if not key.endswith((".rules.yml", ".rules.yaml")):
            continue
        for group in (yaml.safe_load(text) or {}).get("groups", []):
            interval = seconds(group.get("interval")) or default_eval
            for rule in group.get("rules", []):
                if "alert" in rule:
                    waits[rule["alert"]] = seconds(rule.get("for")) + interval
    return waits, scrape


def crashloop_base(config_path: Path = SANDBOX_CONFIG) -> float:
    try:
        return float((yaml.safe_load(config_path.read_text()) or {}).get("crashloop", {}).get("base_seconds", 10))
    except (OSError, ValueError, AttributeError):
        return 10.0


def unavoidable(scenario, alerts: dict[str, float], scrape: float, settle: float, backoff: float = 0.0) -> float:
    """The waits a scenario cannot avoid, from its steps."""
    total = 0.0
    for step in scenario.steps:
        text = step.text
        if (m := re.match(r'the fault "([^"]+)" is injected', text)) and m.group(1) in CRASHING_FAULTS:
            total += backoff
        elif text.startswith("the platform is at steady state"):
            total += STEADY_SETTLE_S + (LOAD_WARMUP_S if "under a load" in text else 0.0)
        elif m := re.match(r'the alert "([^"]+)" fires within', text):
            total += alerts.get(m.group(1), 0.0) + scrape
        elif text.startswith("the platform recovers within"):
            total += settle
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("features", nargs="*", default=["features"])
    ap.add_argument("-m", dest="markexpr")
    ap.add_argument("--kubeconfig")
    ap.add_argument("--context")
    ap.add_argument("--settle", type=float, default=3.0)
    ap.add_argument("--reports", default="reports/bench/drill")
    args = ap.parse_args()

    cmd = [sys.executable, "-m", "gameday.cli", "drill", *args.features, "--reports", args.reports,
           "--settle", str(args.settle)]
    if args.markexpr:
        cmd += ["-m", args.markexpr]
    if args.kubeconfig:
        cmd += ["--kubeconfig", args.kubeconfig] + (["--context", args.context, "--allow-context", args.context]
                                                     if args.context else [])
    t0 = time.monotonic()
    rc = subprocess.call(cmd, cwd=ROOT)
    wall = time.monotonic() - t0

    ran = {r.key: r for r in results_mod.read_results(ROOT / args.reports)}
    alerts, scrape = alert_waits()
    rows = []
    for s in features_mod.load_all([str(ROOT / f) if not Path(f).is_absolute() else f for f in args.features]):
        r = ran.get(s.key) or next((x for x in ran.values() if x.name == s.name), None)
        if r is None:
            continue
        rows.append((s.name, r.outcome, r.duration_s, unavoidable(s, alerts, scrape, args.settle, crashloop_base())))
    scenario_time = sum(r[2] for r in rows)
    waits = sum(r[3] for r in rows)
    print("\n== bench_suite: runbook suite wall time vs unavoidable waits")
    print(f"{'scenario':<70} {'verdict':<8} {'took':>7} {'waits':>7}")
    for name, outcome, took, wait in rows:
        print(f"{name[:70]:<70} {outcome:<8} {took:>6.1f}s {wait:>6.1f}s")
    ratio = wall / waits if waits else float("inf")
    print(f"\nscenarios: {len(rows)}, passed: {sum(r[1] == 'passed' for r in rows)}")
    print(f"suite wall time:          {wall:8.1f}s  (gameday drill, incl. sandbox start when it was not running)")
    print(f"time inside scenarios:    {scenario_time:8.1f}s")
    print(f"unavoidable waits (sum):  {waits:8.1f}s  (alert for: + evaluation + scrape, settle windows, load warm-up, crash back-off)")
    print(f"ratio wall / waits:       {ratio:8.2f}")
    print(f"target: the whole suite under 900s on 2 cores: {'met' if wall < 900 else 'NOT met'}")
    out = ROOT / "reports" / "bench" / "bench_suite.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"wall_s": wall, "scenario_s": scenario_time, "unavoidable_s": waits, "ratio": ratio,
                               "drill_exit_code": rc, "scenarios": [
                                   {"name": n, "outcome": o, "took_s": t, "unavoidable_s": w} for n, o, t, w in rows]},
                              indent=1))
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
