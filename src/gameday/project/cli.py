"""`gameday init` (write a gameday.yaml for the cluster the target sees) and
`gameday faults` (the fault kinds, their parameters and rollbacks, and the
project's presets)."""
from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from .loader import FILENAME


def register(subparsers) -> None:
    p = subparsers.add_parser("init", help="write a commented gameday.yaml for the cluster the target sees",
                              description=__doc__.splitlines()[0])
    p.add_argument("--output", default=FILENAME, help=f"where to write it (default: ./{FILENAME})")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p.add_argument("--name", default=None, help="the platform's name (default: the folder's name)")
    p.add_argument("--kubeconfig", default=None, help="kubeconfig of the target (default: the sandbox)")
    p.add_argument("--context", default=None, help="context in the kubeconfig")
    p.set_defaults(func=cmd_init)



def cmd_init(args) -> int:
    out = Path(args.output)
    if out.exists() and not args.force:
        raise UserError(f"{out}: already exists; pass --force to replace it, or --output another file")
    from ..bdd.targets import resolve
    from .init import observe, render
    from .loader import parse
    allow = [args.context] if args.context else []
    target, stop = resolve(args.kubeconfig, args.context, allow)
    try:
        seen = observe(target, out.resolve().parent)
    finally:
        if stop is not None:
            stop()
    text = render(seen, args.name or out.resolve().parent.name)
    parse(text, out)  # what init writes must load
    out.write_text(text)
    print(f"wrote {out}: {len(seen.namespaces)} namespaces, {len(seen.deployments) + len(seen.statefulsets)} workloads, "
          f"{len(seen.services)} services from context {seen.context!r}")
    return 0
