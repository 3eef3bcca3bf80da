"""The official postgres image's entrypoint, for the sandbox.

If PGDATA holds no cluster: initdb as POSTGRES_USER with POSTGRES_PASSWORD
(password auth over TCP, trust on the local socket), create POSTGRES_DB, run
the *.sql / *.sh files of the init directory against a socket-only server;
then exec `postgres` listening on the pod IP (PG_LISTEN) with its socket in
the pod's directory (PG_SOCKET_DIR). Arguments after `postgres` (`-c k=v`)
pass through; any other command runs as given, as in the official image.

Started as root (the sandbox's interpreter may not be readable by others),
it hands the data directories to an unprivileged user and becomes that user
first, as the official image does with gosu: PostgreSQL refuses root."""
from __future__ import annotations

import ctypes
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

PR_SET_PDEATHSIG = 1
UNPRIVILEGED = (65534, 65534)


def _run(argv: list[str], env: dict) -> None:
    proc = subprocess.run(argv, env=env)
    if proc.returncode != 0:
        sys.exit(f"postgres entrypoint: {' '.join(argv[:2])} failed with exit code {proc.returncode}")


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _drop_privileges(dirs: list[str]) -> None:
    uid, gid = UNPRIVILEGED
    for d in dirs:
        os.makedirs(d, exist_ok=True)
        for root, subdirs, files in os.walk(d):
            for path in [root, *(os.path.join(root, f) for f in subdirs + files)]:
                os.lchown(path, uid, gid)
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    # Changing credentials cleared the parent-death signal: set it again.
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def clear_stale_lock(pgdata: str) -> bool:
    """Remove postmaster.pid when the PID it names is not a postmaster of this
    data directory. In a container the old PID is invisible (its own PID
    namespace); on the sandbox's shared PID space a killed postmaster's PID
    can be reused by any process, and PostgreSQL would refuse to start for as
    long as that process lives. True when a stale lock was removed."""
    lock = os.path.join(pgdata, "postmaster.pid")
    try:
        with open(lock) as f:
            pid = int(f.readline().strip())
    except (OSError, ValueError):
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = [part.decode(errors="replace") for part in f.read().split(b"\0") if part]
    except OSError:
        cmdline = []  # no such process: PostgreSQL itself would see the lock as stale
    ours = any(os.path.basename(a) in ("postgres", "postmaster") for a in cmdline[:1]) and \
        os.path.realpath(pgdata) in {os.path.realpath(a) for a in cmdline[1:]}
    if cmdline and not ours:
        os.unlink(lock)
        return True
    return False


def main(argv: list[str]) -> None:
    env = dict(os.environ)
    args = list(argv) or ["postgres"]
    if args[0].startswith("-"):
        args = ["postgres", *args]
    if args[0] != "postgres":
        os.execvp(args[0], args)
    pgdata = env.get("PGDATA") or os.path.join(env.get("HOME", "."), "pgdata")
    sockets = env.get("PG_SOCKET_DIR") or os.path.join(env.get("HOME", "."), "run")
    listen = env.get("PG_LISTEN") or "127.0.0.1"
    if os.geteuid() == 0:
        _drop_privileges([pgdata, sockets])
    os.makedirs(pgdata, exist_ok=True)
    os.makedirs(sockets, exist_ok=True)
    os.chmod(pgdata, 0o700)
    user = env.get("POSTGRES_USER") or "postgres"
    database = env.get("POSTGRES_DB") or user
    if not os.path.exists(os.path.join(pgdata, "PG_VERSION")):
        password = env.get("POSTGRES_PASSWORD")
        if not password and env.get("POSTGRES_HOST_AUTH_METHOD") != "trust":
            sys.exit("postgres entrypoint: the database is uninitialized and POSTGRES_PASSWORD is not set; "
                     "set it (or POSTGRES_HOST_AUTH_METHOD=trust)")
        pwfile = os.path.join(sockets, ".pwfile")
        with open(pwfile, "w") as f:
            f.write(password or "")
        try:
            _run(["initdb", "-D", pgdata, "-U", user, f"--pwfile={pwfile}", "-E", "UTF8",
                  "--auth-local=trust", "--auth-host=scram-sha-256",
                  *shlex.split(env.get("POSTGRES_INITDB_ARGS", ""))], env)
        finally:
            os.unlink(pwfile)
        method = env.get("POSTGRES_HOST_AUTH_METHOD") or "scram-sha-256"
        with open(os.path.join(pgdata, "pg_hba.conf"), "a") as f:
            f.write(f"\nhost all all all {method}\n")
        # The initializing server listens on a private socket only: nothing (a
        # readiness probe's pg_isready) may take it for the real one.
        private = tempfile.mkdtemp(prefix="gameday-pginit-")
        local = ["-h", private, "-U", user]
        opts = f"-c listen_addresses='' -c unix_socket_directories={private}"
        _run(["pg_ctl", "-D", pgdata, "-o", opts, "-w", "-t", "120", "start"], env)
        try:
            if database != "postgres":
                exists = subprocess.run(["psql", *local, "-d", "postgres", "-tAc",
                                         "SELECT 1 FROM pg_database WHERE datname = :'db'", "-v", f"db={database}"],
                                        env=env, capture_output=True, text=True)
                if exists.stdout.strip() != "1":
                    _run(["psql", *local, "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c",
                          f"CREATE DATABASE {_quote_ident(database)}"], env)
            init_dir = env.get("POSTGRES_INITDB_DIR", "")
            if init_dir and os.path.isdir(init_dir):
                for name in sorted(os.listdir(init_dir)):
                    path = os.path.join(init_dir, name)
                    if name.endswith(".sql"):
                        _run(["psql", *local, "-d", database, "-v", "ON_ERROR_STOP=1", "-f", path], env)
                    elif name.endswith(".sh"):
                        _run(["sh", path], {**env, "PGHOST": private, "PGUSER": user, "PGDATABASE": database})
        finally:
            _run(["pg_ctl", "-D", pgdata, "-m", "fast", "-w", "stop"], env)
            shutil.rmtree(private, ignore_errors=True)
    clear_stale_lock(pgdata)
    os.execvp("postgres", ["postgres", "-D", pgdata, "-c", f"listen_addresses={listen}",
                           "-c", f"unix_socket_directories={sockets}", *args[1:]])


if __name__ == "__main__":
    main(sys.argv[1:])
