"""`backup-automation`: the runbook's database backups, with pg_dump/pg_restore.

    backup-automation backup              # compressed dump into $BACKUP_DIR/database/
    backup-automation health-check        # the newest dump reads back (pg_restore --list)
    backup-automation restore-db FILE     # restore a dump (FILE, or `latest`)
    backup-automation list                # the dumps, newest last

Connects with $DATABASE_URL when set, else libpq's PG* variables (inside
the postgres pod). Exit codes: 0 done, 1 the tool or the database failed,
2 bad input (unknown file, no backup yet)."""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SUFFIX = ".dump"
PREFIX = "postgres-"


class BackupError(Exception):
    exit_code = 1


class BadInput(BackupError):
    exit_code = 2


@dataclass(frozen=True)
class Settings:
    backup_dir: Path
    database_url: str | None
    keep: int

    @classmethod
    def from_env(cls) -> "Settings":
        try:
            keep = int(os.environ.get("BACKUP_KEEP", "7"))
        except ValueError:
            raise BadInput(f"$BACKUP_KEEP must be a whole number, got {os.environ['BACKUP_KEEP']!r}") from None
        return cls(Path(os.environ.get("BACKUP_DIR", "/backup")), os.environ.get("DATABASE_URL") or None, max(1, keep))

    @property
    def dumps_dir(self) -> Path:
        return self.backup_dir / "database"


def tool(name: str) -> str:
    """A PostgreSQL client program: on PATH, else beside the server binaries."""
    found = shutil.which(name)
    if found:
        return found
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip()
        if bindir and Path(bindir, name).exists():
            return str(Path(bindir, name))
    raise BackupError(f"{name} is not installed (PostgreSQL client programs are needed)")


def _conn_args(settings: Settings) -> list[str]:
    return ["--dbname", settings.database_url] if settings.database_url else []


def _run(argv: list[str], what: str, timeout: float = 3600) -> subprocess.CompletedProcess:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BackupError(f"{what} did not finish within {timeout:.0f}s") from None
    if out.returncode != 0:
        detail = (out.stderr or out.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {detail[-1] if detail else f'exit {out.returncode}'}")
    return out


def dumps(settings: Settings) -> list[Path]:
    if not settings.dumps_dir.is_dir():
        return []
    return sorted(p for p in settings.dumps_dir.iterdir() if p.name.startswith(PREFIX) and p.name.endswith(SUFFIX))


def backup(settings: Settings) -> Path:
    settings.dumps_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    final = settings.dumps_dir / f"{PREFIX}{stamp}{SUFFIX}"
    n = 1
    while final.exists():  # two backups in one second
        final = settings.dumps_dir / f"{PREFIX}{stamp}-{n}{SUFFIX}"
        n += 1
    tmp = final.with_name("." + final.name + ".partial")
    try:
        # Custom format, compressed: what pg_restore reads, table by table.
        _run([tool("pg_dump"), "--format=custom", "--compress=6", "--no-owner", "--file", str(tmp), *_conn_args(settings)],
             "pg_dump")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.rename(tmp, final)  # a half-written dump never carries a final name
    finally:
        tmp.unlink(missing_ok=True)
    for old in dumps(settings)[:-settings.keep]:
        old.unlink(missing_ok=True)
    return final


def contents(path: Path) -> list[str]:
    return _run([tool("pg_restore"), "--list", str(path)], f"pg_restore --list {path.name}", 600).stdout.splitlines()


def health_check(settings: Settings) -> str:
    found = dumps(settings)
    if not found:
        raise BadInput(f"no backup in {settings.dumps_dir}: run `backup-automation backup` first")
    newest = found[-1]
    listing = contents(newest)
    if not any("TABLE DATA" in line and "training_jobs" in line for line in listing):
        raise BackupError(f"{newest.name} has no data of table training_jobs")
    age = time.time() - newest.stat().st_mtime
    return f"backup OK: {newest} ({newest.stat().st_size} bytes, {len(listing)} entries, {age / 3600:.1f} h old)"


def resolve(settings: Settings, name: str) -> Path:
    if name == "latest":
        found = dumps(settings)
        if not found:
            raise BadInput(f"no backup in {settings.dumps_dir} to restore: run `backup-automation backup` first")
        return found[-1]
    path = Path(name)
    if not path.is_absolute() and not path.exists():
        path = settings.dumps_dir / name
    if not path.is_file():
        raise BadInput(f"{name}: no such backup file; give a path from `backup-automation list` or `latest`")
    return path


def restore(settings: Settings, name: str) -> Path:
    path = resolve(settings, name)
    contents(path)  # refuse a damaged dump before touching the database
    # One transaction: the database ends up as the dump, or as it was.
    _run([tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
          "--exit-on-error", *(_conn_args(settings) or ["--dbname", os.environ.get("PGDATABASE", "postgres")]),
          str(path)], f"pg_restore of {path.name}")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="backup-automation", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="verb", required=True)
    sub.add_parser("backup", help="dump the database into $BACKUP_DIR/database/")
    sub.add_parser("health-check", help="check that the newest dump reads back")
    sub.add_parser("list", help="list the dumps")
    restore_cmd = sub.add_parser("restore-db", help="restore a dump (a file, or `latest`)")
    restore_cmd.add_argument("file")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.verb == "backup":
            path = backup(settings)
            print(f"backup written: {path} ({path.stat().st_size} bytes)")
        elif args.verb == "health-check":
            print(health_check(settings))
        elif args.verb == "list":
            for path in dumps(settings):
                print(f"{path}\t{path.stat().st_size}")
        else:
            path = restore(settings, args.file)
            print(f"restored {path}")
    except BackupError as exc:
        print(f"backup-automation: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(f"backup-automation: error: {exc.filename or ''}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
