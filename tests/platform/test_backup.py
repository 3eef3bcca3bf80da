"""backup-automation against a real PostgreSQL server."""
from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys

import psycopg
import pytest

from gaudi3_scale import jobs
from gaudi3_scale.db import Database


def tool(env, *args):
    return subprocess.run([sys.executable, "-m", "gaudi3_scale.backup", *args], env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def env(postgres, tmp_path):
    url = postgres.create_database("backup_test")
    return dict(os.environ, DATABASE_URL=url, BACKUP_DIR=str(tmp_path / "backup")), url


def test_backup_health_check_and_restore(env):
    env, url = env
    db = Database(url)
    jobs.ensure_schema(db)
    kept = [jobs.create(db, jobs.NewJob(f"job-{i}", steps=10))["id"] for i in range(3)]

    out = tool(env, "backup")
    assert out.returncode == 0, out.stderr
    path = out.stdout.split("backup written: ")[1].split(" (")[0]
    # The runbook's layout and format: /backup/database/postgres-YYYYmmdd-HHMMSS.sql.gz
    assert re.search(r"/database/postgres-\d{8}-\d{6}\.sql\.gz$", path), path
    with gzip.open(path, "rb") as fh:
        sql = fh.read()
    assert b"COPY public.training_jobs" in sql and b"\n-- PostgreSQL database dump complete\n" in sql

    check = tool(env, "health-check")
    assert check.returncode == 0 and "backup OK" in check.stdout, check.stderr

    # Lose data after the backup; the restore brings the backed-up rows back.
    lost = jobs.create(db, jobs.NewJob("after-backup", steps=10))["id"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM training_jobs WHERE id = %s", (kept[0],))
    out = tool(env, "restore-db", "latest")
    assert out.returncode == 0, out.stderr
    with psycopg.connect(url) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM training_jobs ORDER BY id")]
    assert ids == kept and lost not in ids
    db.close()


def test_bad_input_is_one_line_and_exit_2(env, tmp_path):
    env, _ = env
    out = tool(env, "health-check")
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "run `backup-automation backup` first" in out.stderr
    out = tool(env, "restore-db", str(tmp_path / "nope.sql.gz"))
    assert out.returncode == 2 and "no such backup file" in out.stderr and "Traceback" not in out.stderr


def test_damaged_dump_fails_health_check_and_is_not_restored(env):
    env, url = env
    jobs.ensure_schema(Database(url))
    assert tool(env, "backup").returncode == 0
    listing = tool(env, "list").stdout.split()[0]
    whole = open(listing, "rb").read()
    for damaged in (whole[:40], whole[:-12], gzip.compress(gzip.decompress(whole)[:-200])):  # cut, bad CRC, cut SQL
        with open(listing, "wb") as fh:
            fh.write(damaged)
        check = tool(env, "health-check")
        assert check.returncode == 1 and "failed to read back" in check.stderr, check.stderr
        restored = tool(env, "restore-db", "latest")
        assert restored.returncode == 1 and "failed to read back" in restored.stderr, restored.stderr


FLOOD = """#!{python}
import sys
sys.stdin.close()
sys.stderr.write("{name}: noise " * 20000)  # about 250 KiB: several pipes' worth
sys.stderr.write("\\n{name}: error: the last word\\n")
sys.exit(1)
"""


@pytest.mark.parametrize("name", ["pg_dump", "psql"])
def test_a_child_writing_more_than_a_pipe_of_errors_fails_promptly_with_its_last_line(tmp_path, name):
    """stderr is read as it comes: a pg_dump or psql with more errors than a
    pipe holds (64 KiB) cannot block until the tool's hour-long bound."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / name
    fake.write_text(FLOOD.format(python=sys.executable, name=name))
    fake.chmod(0o755)
    backup_dir = tmp_path / "backup"
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", BACKUP_DIR=str(backup_dir),
               DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    if name == "psql":  # a whole dump to restore: the tool checks it before psql starts
        (backup_dir / "database").mkdir(parents=True)
        with gzip.open(backup_dir / "database" / "postgres-20240101-000000.sql.gz", "wb") as fh:
            fh.write(b"SELECT 1;\n" * 10000 + b"\n-- PostgreSQL database dump complete\n")
    out = subprocess.run([sys.executable, "-m", "gaudi3_scale.backup", "backup" if name == "pg_dump" else "restore-db",
                          *([] if name == "pg_dump" else ["latest"])], env=env, capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 1, out.stderr
    assert out.stderr.strip().splitlines() == [
        f"backup-automation: error: {'pg_dump' if name == 'pg_dump' else 'restore of postgres-20240101-000000.sql.gz'}"
        f" failed: {name}: error: the last word"]
    left = [p.name for p in (backup_dir / "database").iterdir()]  # nothing half-written left behind
    assert left == ([] if name == "pg_dump" else ["postgres-20240101-000000.sql.gz"])
