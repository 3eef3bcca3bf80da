"""python -m gaudi3_scale.alerts render [--profile P] [--deploy DIR] [--check]"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .profiles import PROFILES
from .render import render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gaudi3_scale.alerts")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("render", help="write the Prometheus/Alertmanager files of each profile")
    cmd.add_argument("--profile", choices=sorted(PROFILES), action="append", help="default: every profile")
    cmd.add_argument("--deploy", default="deploy", help="the deploy/ folder (default ./deploy)")
    cmd.add_argument("--check", action="store_true", help="only compare; exit 1 if a file differs")
    args = parser.parse_args(argv)
    root = Path(args.deploy)
    stale = []
    for name in args.profile or sorted(PROFILES):
        for rel, text in render(PROFILES[name]).items():
            path = root / rel
            current = path.read_text() if path.exists() else None
            if current == text:
                continue
            if args.check:
                stale.append(str(path))
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
                print(f"wrote {path}")
    if stale:
        print("out of date (run `python -m gaudi3_scale.alerts render`): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
