"""`gaudi3-scale-api`: the platform API on port 8000, served by gunicorn.

Replaces itself with gunicorn (exec, same PID: PID 1 in the container), with
the settings of `gaudi3_scale.api.gunicorn_conf`. Extra arguments go to gunicorn."""
from __future__ import annotations

import os
import shutil
import sys


def gunicorn_argv(extra: list[str]) -> list[str]:
    exe = shutil.which("gunicorn", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    head = [exe] if exe else [sys.executable, "-m", "gunicorn"]
    return head + ["-c", "python:gaudi3_scale.api.gunicorn_conf", *extra, "gaudi3_scale.api.wsgi:app"]


def main(argv: list[str] | None = None) -> int:
    extra = list(sys.argv[1:] if argv is None else argv)
    if not os.environ.get("DATABASE_URL"):
        print("gaudi3-scale-api: error: $DATABASE_URL is not set; point it at PostgreSQL "
              "(postgresql://user:pass@host:5432/db)", file=sys.stderr)
        return 2
    argv_ = gunicorn_argv(extra)
    os.execv(argv_[0], argv_)
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main())
