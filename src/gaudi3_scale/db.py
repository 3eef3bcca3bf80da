"""PostgreSQL access with bounded waits: the platform answers 503 quickly when
the database is gone and recovers by itself when it is back.

- Connecting gives up after `connect_timeout` seconds.
- A query that hangs (a database cut off by the network, where nothing ever
  answers) is ended by a watchdog that shuts the socket after `query_timeout`.
- A small pool reuses connections; after any connection failure the whole pool
  is dropped, since a restarted server has closed every one of them."""
from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field

import psycopg
from psycopg.rows import dict_row

log = logging.getLogger(__name__)

URL_ENV = "DATABASE_URL"


class DatabaseUnavailable(Exception):
    """The database did not answer (down, restarting, unreachable, too slow)."""


@dataclass
class _Watch:
    deadline: float
    conn: psycopg.Connection
    fired: bool = False


@dataclass
class Database:
    url: str
    connect_timeout: float = 2.0
    query_timeout: float = 5.0
    pool_size: int = 8
    _idle: list = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _watches: dict = field(default_factory=dict, repr=False)
    _watchdog: threading.Thread | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, **kwargs) -> "Database":
        url = os.environ.get(URL_ENV)
        if not url:
            raise SystemExit(f"${URL_ENV} is not set: point it at the PostgreSQL database (postgresql://user:pass@host:5432/db)")
        return cls(url, **kwargs)

    @contextlib.contextmanager
    def transaction(self):
        """A connection inside one transaction (committed on success), with
        dict rows. Connection-level failures become DatabaseUnavailable."""
        conn = self._checkout()
        watch = self._watch(conn)
        healthy = False
        try:
            with conn.transaction():
                yield conn
            healthy = True
        except psycopg.OperationalError as exc:
            self.reset()
            raise DatabaseUnavailable(_first_line(exc)) from exc
        finally:
            self._unwatch(watch)
            if watch.fired:
                healthy = False
            self._checkin(conn, healthy and not conn.closed)
        if watch.fired:  # pragma: no cover - the transaction would have raised
            raise DatabaseUnavailable("query timed out")

    def ping(self) -> float:
        """Seconds a trivial query took; raises DatabaseUnavailable."""
        start = time.monotonic()
        with self.transaction() as conn:
            conn.execute("SELECT 1")
        return time.monotonic() - start

    def reset(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        self.reset()

    # -- pool -------------------------------------------------------------

    def _checkout(self) -> psycopg.Connection:
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed:
                    return conn
        try:
            return psycopg.connect(
                self.url,
                connect_timeout=max(2, int(round(self.connect_timeout))),
                autocommit=True,
                row_factory=dict_row,
                application_name=os.environ.get("HOSTNAME", "gaudi3-scale"),
                # Keepalives notice a peer that vanished without closing.
                keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=2,
            )
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(_first_line(exc)) from exc

    def _checkin(self, conn: psycopg.Connection, healthy: bool) -> None:
        if healthy and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            with self._lock:
                if len(self._idle) < self.pool_size:
                    self._idle.append(conn)
                    return
        with contextlib.suppress(Exception):
            conn.close()

    # -- watchdog ---------------------------------------------------------

    def _watch(self, conn: psycopg.Connection) -> _Watch:
        watch = _Watch(time.monotonic() + self.query_timeout, conn)
        with self._lock:
            self._watches[id(watch)] = watch
            if self._watchdog is None or not self._watchdog.is_alive():
                self._watchdog = threading.Thread(target=self._watch_loop, name="db-watchdog", daemon=True)
                self._watchdog.start()
        return watch

    def _unwatch(self, watch: _Watch) -> None:
        with self._lock:
            self._watches.pop(id(watch), None)

    def _watch_loop(self) -> None:
        while True:
            time.sleep(0.2)
            now = time.monotonic()
            with self._lock:
                late = [w for w in self._watches.values() if w.deadline < now and not w.fired]
                for w in late:
                    w.fired = True
            for w in late:
                log.error("database query exceeded %.1fs: closing its connection", self.query_timeout)
                _shutdown_socket(w.conn)


def _shutdown_socket(conn: psycopg.Connection) -> None:
    # Shutting the socket makes the blocked read in the query's thread fail
    # at once; closing the connection from here would race with that thread.
    with contextlib.suppress(Exception):
        fd = conn.pgconn.socket
        dup = socket.socket(fileno=os.dup(fd))
        try:
            dup.shutdown(socket.SHUT_RDWR)
        finally:
            dup.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
