"""`gameday` command line. Each noun's module registers its own subcommands
(`register(subparsers)`) and gives each a `func(args) -> int`."""
from __future__ import annotations

import argparse
import importlib
import sys

from .errors import TargetError, UserError

# (module, attribute): each module owns its subcommands.
_COMMANDS = (
    "gameday.sandbox.cli",
    "gameday.drill.cli",
    "gameday.bdd.cli",
    "gameday.runbook.cli",
    "gameday.human.shell",
    "gameday.project.cli",      # init
    "gameday.faults.cli",
    "gameday.drill.recover",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gameday", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"gameday {__import__('gameday').__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that part of gameday is not built yet
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (UserError, TargetError) as exc:
        print(f"gameday: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("gameday: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
