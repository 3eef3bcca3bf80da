"""The runbook's backup and restore verbs against PostgreSQL run by
testcontainers (the official postgres:15 image), where a Docker engine is
available. Without one this module is skipped, with the reason."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.docker


def _docker_available() -> str | None:
    try:
        import docker

        docker.from_env(timeout=5).ping()
        return None
    except Exception as exc:  # any failure means: no usable engine here
        return f"no Docker engine reachable ({type(exc).__name__})"


@pytest.fixture(scope="module")
def postgres_url():
    why = _docker_available()
    if why:
        pytest.skip(why)
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:15", driver=None) as pg:
        yield pg.get_connection_url()


def _tool(args, env):
    return subprocess.run([sys.executable, "-m", "gaudi3_scale.backup", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def test_backup_then_restore_brings_rows_back(postgres_url, tmp_path):
    import psycopg

    env = dict(os.environ, DATABASE_URL=postgres_url, BACKUP_DIR=str(tmp_path))
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS training_jobs (id serial PRIMARY KEY, name text)")
        conn.execute("INSERT INTO training_jobs (name) SELECT 'job-' || g FROM generate_series(1, 25) g")
    made = _tool(["backup"], env)
    assert made.returncode == 0, made.stderr
    checked = _tool(["health-check"], env)
    assert checked.returncode == 0, checked.stderr
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DELETE FROM training_jobs")
    restored = _tool(["restore-db", "latest"], env)
    assert restored.returncode == 0, restored.stderr
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM training_jobs").fetchone()[0] == 25
