"""`gameday faults`: the fault kinds, their parameters and rollbacks."""
from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser("faults", help="list the fault kinds, their parameters and rollbacks",
                              description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="as JSON")
    p.add_argument("--project", default=None, metavar="FILE", help="also list this project's presets (default: ./gameday.yaml or above)")
    p.set_defaults(func=main)


def main(args) -> int:
    from . import KINDS
    if args.json:
        print(json.dumps({k.name: {"doc": k.doc, "rollback": k.rollback_doc,
                                   "params": [{"name": p.name, "type": p.type, "required": p.required,
                                               "default": None if p.required else p.default,
                                               "choices": list(p.choices), "doc": p.doc} for p in k.params]}
                          for k in KINDS.values()}, indent=2))
        return 0
    for k in KINDS.values():
        print(f"{k.name}: {k.doc}")
        for p in k.params:
            print(f"    {p.describe()}")
        print(f"  rollback: {k.rollback_doc}")
        print()
    from ..project.loader import current
    project = current(args.project, required=False)
    if project is not None and project.presets:
        print(f"presets of {project.path}:")
        for preset in project.presets.values():
            params = ", ".join(f"{k}={v}" for k, v in preset.params.items())
            print(f"  {preset.name}: {preset.fault} ({params}){'  ' + preset.doc if preset.doc else ''}")
    return 0
