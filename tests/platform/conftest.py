from __future__ import annotations

import pytest

from pgserver import pg_bindir, running_postgres


@pytest.fixture(scope="session")
def postgres():
    """One real PostgreSQL server shared by the platform's unit tests."""
    if pg_bindir() is None:
        pytest.skip("PostgreSQL server binaries (initdb, postgres) are not installed")
    with running_postgres() as server:
        yield server
