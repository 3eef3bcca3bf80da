"""`backup-automation`: the runbook's database backups, with pg_dump and psql.

    backup-automation backup              # gzipped SQL dump into $BACKUP_DIR/database/
    backup-automation health-check        # the newest dump reads back whole, with the jobs' data
    backup-automation restore-db FILE     # restore a dump (FILE, or `latest`)
    backup-automation list                # the dumps, newest last

Dumps are named as the runbook's restore line names them:
/backup/database/postgres-YYYYmmdd-HHMMSS.sql.gz (plain SQL, gzip; pg_dump
--clean --if-exists, so a restore replaces what is there).

Connects with $DATABASE_URL when set, else libpq's PG* variables (inside
the postgres pod). Exit codes: 0 done, 1 the tool or the database failed,
2 bad input (unknown file, no backup yet)."""
from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import zlib
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SUFFIX = ".sql.gz"
TIMEOUT = 3600.0  # seconds a dump or a restore may take
STDERR_KEPT = 8192  # bytes of a child's error output kept for its message (the last ones)
COMPLETE = b"-- PostgreSQL database dump complete"  # pg_dump's last comment: the dump is whole
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


class _Bound:
    """Kills the child it was given (ours) when it runs past `seconds`: a
    hung pg_dump or psql never hangs the tool."""

    def __init__(self, proc: subprocess.Popen, seconds: float):
        self.proc, self.fired = proc, False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.fired = True
        self.proc.kill()

    def __enter__(self) -> "_Bound":
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()


@contextlib.contextmanager
def _piped(argv: list[str], what: str, **streams):
    """`with _piped(argv, what, stdout=PIPE) as proc:` runs a PostgreSQL
    program while the body feeds or drains its data stream, killed past
    TIMEOUT. Its stderr is read on a thread as it comes (the last
    STDERR_KEPT bytes kept), so a child with more errors than a pipe holds
    never blocks. On leaving, BackupError naming `what` when it ran past the
    bound or failed (its last error line); a body that raises kills it."""
    try:
        proc = subprocess.Popen(argv, stderr=subprocess.PIPE, **streams)
    except OSError as exc:
        raise BackupError(f"{Path(argv[0]).name} could not start: {exc}") from None
    tail = bytearray()

    def read_stderr() -> None:
        for chunk in iter(lambda: proc.stderr.read1(1 << 16), b""):
            tail.extend(chunk)
            del tail[:-STDERR_KEPT]

    reader = threading.Thread(target=read_stderr, name=f"{Path(argv[0]).name}-stderr", daemon=True)
    reader.start()
    with _Bound(proc, TIMEOUT) as bound:
        try:
            yield proc
        except BaseException:
            proc.kill()
            raise
        finally:
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):  # a stdin psql stopped reading: its message follows
                        stream.close()
            proc.wait()
            reader.join(5)  # a grandchild may hold stderr open: the child's own end is what counts
            if not reader.is_alive():
                proc.stderr.close()
    if bound.fired:
        raise BackupError(f"{what} did not finish within {TIMEOUT:.0f}s")
    if proc.returncode != 0:
        err = tail.decode(errors="replace").strip().splitlines()
        raise BackupError(f"{what} failed: {err[-1] if err else f'exit {proc.returncode}'}")


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
        argv = [tool("pg_dump"), "--format=plain", "--clean", "--if-exists", "--no-owner", *_conn_args(settings)]
        with _piped(argv, "pg_dump", stdout=subprocess.PIPE) as proc, gzip.open(tmp, "wb", compresslevel=6) as gz:
            shutil.copyfileobj(proc.stdout, gz, 1 << 20)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.rename(tmp, final)  # a half-written dump never carries a final name
    finally:
        tmp.unlink(missing_ok=True)
    for old in dumps(settings)[:-settings.keep]:
        old.unlink(missing_ok=True)
    return final


def contents(path: Path) -> list[str]:
    """The dump's object headers (`-- Name: ...; Type: ...`); BackupError when
    it does not read back whole (a bad gzip stream, or cut before pg_dump's
    closing comment)."""
    headers, complete = [], False
    try:
        with gzip.open(path, "rb") as gz:
            for line in gz:
                if line.startswith(b"-- Name: ") or line.startswith(b"-- Data for Name: "):
                    headers.append(line.decode(errors="replace").strip())
                text = line.strip()
                if text == COMPLETE:
                    complete = True
                elif text and text != b"--" and not text.startswith(b"\\unrestrict"):
                    complete = False  # only comments and psql's \unrestrict may follow the closing line
    except (OSError, EOFError, zlib.error) as exc:
        raise BackupError(f"{path.name} failed to read back: {exc}") from None
    if not complete:
        raise BackupError(f"{path.name} failed to read back: it ends before pg_dump's closing line (cut short)")
    return headers


def health_check(settings: Settings) -> str:
    found = dumps(settings)
    if not found:
        raise BadInput(f"no backup in {settings.dumps_dir}: run `backup-automation backup` first")
    newest = found[-1]
    listing = contents(newest)
    if not any(line.startswith("-- Data for Name: training_jobs;") for line in listing):
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
    argv = [tool("psql"), "--no-psqlrc", "--quiet", "--single-transaction", "-v", "ON_ERROR_STOP=1",
            *(_conn_args(settings) or ["--dbname", os.environ.get("PGDATABASE", "postgres")])]
    with _piped(argv, f"restore of {path.name}", stdin=subprocess.PIPE, stdout=subprocess.DEVNULL) as proc:
        try:
            with gzip.open(path, "rb") as gz:
                shutil.copyfileobj(gz, proc.stdin, 1 << 20)
        except BrokenPipeError:
            pass  # psql stopped at the first error: its message follows
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
