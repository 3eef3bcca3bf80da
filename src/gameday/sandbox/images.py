"""The image catalog: what stands in for a container image in the sandbox.

A catalog is a YAML mapping from an image repository (optionally with
`:tag`; a tagged entry wins over an untagged one) to how to run it::

    postgres:
      entrypoint: ["{python}", "-m", "gameday.sandbox.kubelet.entrypoints.postgres"]
      cmd: ["postgres"]          # the image's CMD; a container's `command`
                                 # replaces entrypoint (and drops cmd), `args` replace cmd
      env: {PGDATA: /var/lib/postgresql/data}   # the image's ENV
      path: ["{pg_bindir}"]      # directories put first on PATH
      dirs: [/var/lib/postgresql/data]          # the image's own writable directories:
                                 # each maps to a private directory of the container
      bind_args: []              # appended after the arguments: how the program
                                 # listens on the pod IP instead of every address
      workdir: ""                # the image's WORKDIR (default: the container's directory)
      stop_signal: SIGTERM       # the image's STOPSIGNAL, sent to the main process on stop

Placeholders: `{python}` (the sandbox's interpreter), `{python_bindir}` (its
directory: the console scripts installed with it), `{pg_bindir}`
(PostgreSQL's server binaries), `{pod_ip}`, `{pod_name}`, `{namespace}`,
`{run_dir}` (a short directory for sockets: the sandbox's own, never /tmp;
in an isolated pod, the pod's own /run),
and `{catalog_dir}` (the directory of the catalog file itself, filled when it
is read: how a project's catalog names programs it ships, e.g. its own venv).
The registry (`docker.io/`, `library/`) and a digest are ignored when matching.
An image not in any catalog cannot be "pulled": its container waits with
ErrImagePull / ImagePullBackOff, as on a cluster where the image is missing."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from ..errors import UserError


@dataclass(frozen=True)
class Image:
    name: str
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: dict = field(default_factory=dict)
    path: tuple[str, ...] = ()
    dirs: tuple[str, ...] = ()
    bind_args: tuple[str, ...] = ()
    workdir: str = ""
    stop_signal: int = signal.SIGTERM


BUILTIN: dict[str, dict] = {
    "postgres": {
        "entrypoint": ["{python}", "-m", "gameday.sandbox.kubelet.entrypoints.postgres"],
        "cmd": ["postgres"],
        # The socket lives in a short path (a unix socket path is limited to 107 bytes,
        # the pod's directories are deeper); PGHOST points the pod's own clients at it.
        "env": {"PGDATA": "/var/lib/postgresql/data", "POSTGRES_INITDB_DIR": "/docker-entrypoint-initdb.d",
                "PG_SOCKET_DIR": "{run_dir}/pg-{pod_ip}", "PGHOST": "{run_dir}/pg-{pod_ip}",
                "PG_LISTEN": "{pod_ip}", "LANG": "C.UTF-8"},
        "path": ["{pg_bindir}"],
        "dirs": ["/var/lib/postgresql/data", "/docker-entrypoint-initdb.d", "/var/run/postgresql"],
        "stop_signal": "SIGINT",  # the official image's STOPSIGNAL: a fast shutdown
    },
    "prom/prometheus": {
        "entrypoint": ["prometheus"],
        "cmd": ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"],
        "dirs": ["/prometheus", "/etc/prometheus"],
        "bind_args": ["--web.listen-address={pod_ip}:9090"],
    },
    "prom/alertmanager": {
        "entrypoint": ["prometheus-alertmanager"],
        "cmd": ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"],
        "dirs": ["/alertmanager", "/etc/alertmanager"],
        # No gossip: a single Alertmanager, and no port shared between sandboxes.
        "bind_args": ["--web.listen-address={pod_ip}:9093", "--cluster.listen-address="],
    },
    # Debian's busybox: its applets through the one binary (the image has no
    # ENTRYPOINT; `kubectl run --image=busybox -- wget ...` passes args, so
    # `busybox wget ...` runs them). A `command` runs the host's programs.
    "busybox": {"entrypoint": ["busybox"], "cmd": ["sh"]},
    "alpine": {"cmd": ["sh"]},
    "curlimages/curl": {"entrypoint": ["curl"], "cmd": ["--help"]},
    "python": {"entrypoint": [], "cmd": ["{python}"], "env": {"PYTHONUNBUFFERED": "1"}},
}
BUILTIN["quay.io/prometheus/prometheus"] = BUILTIN["prom/prometheus"]
BUILTIN["quay.io/prometheus/alertmanager"] = BUILTIN["prom/alertmanager"]


def normalize(image: str) -> tuple[str, str]:
    """(repository, tag) of an image reference, without registry and digest."""
    ref = image.split("@", 1)[0]
    repo, tag = ref, ""
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = ref.rsplit(":", 1)
    for prefix in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        if repo.startswith(prefix):
            repo = repo[len(prefix):]
    if repo.startswith("library/"):
        repo = repo[len("library/"):]
    return repo, tag


@lru_cache(maxsize=1)
def pg_bindir() -> str:
    """PostgreSQL's server binaries: pg_config's answer, else Debian's layout."""
    exe = shutil.which("pg_config")
    if exe:
        try:
            out = subprocess.run([exe, "--bindir"], capture_output=True, text=True, timeout=10).stdout.strip()
            if out and Path(out, "initdb").exists():
                return out
        except (OSError, subprocess.SubprocessError):
            pass
    base = Path("/usr/lib/postgresql")
    if base.is_dir():
        for version in sorted(base.iterdir(), key=lambda p: p.name, reverse=True):
            if (version / "bin" / "initdb").exists():
                return str(version / "bin")
    return ""


def _entry(name: str, spec: dict, source: str) -> Image:
    if not isinstance(spec, dict):
        raise UserError(f"{source}: image {name!r} must map to entrypoint/cmd/env/path; fix the image catalog")
    known = {"entrypoint", "cmd", "env", "path", "dirs", "bind_args", "workdir", "stop_signal"}
    extra = set(spec) - known
    if extra:
        raise UserError(f"{source}: image {name!r} has unknown key(s) {', '.join(sorted(extra))} "
                        f"(allowed: {', '.join(sorted(known))}); fix the image catalog")

    def strings(key: str) -> tuple[str, ...]:
        value = spec.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise UserError(f"{source}: image {name!r}: {key} must be a list of strings; fix the image catalog")
        return tuple(str(v) for v in value)

    env = spec.get("env") or {}
    if not isinstance(env, dict):
        raise UserError(f"{source}: image {name!r}: env must be a mapping; fix the image catalog")
    stop = str(spec.get("stop_signal") or "SIGTERM").upper()
    try:
        stop_signal = int(signal.Signals[stop if stop.startswith("SIG") else "SIG" + stop])
    except KeyError:
        raise UserError(f"{source}: image {name!r}: unknown stop_signal {spec.get('stop_signal')!r} "
                        "(e.g. SIGTERM, SIGINT, SIGQUIT); fix the image catalog") from None
    return Image(name=name, entrypoint=strings("entrypoint"), cmd=strings("cmd"),
                 env={str(k): str(v) for k, v in env.items()}, path=strings("path"), dirs=strings("dirs"),
                 bind_args=strings("bind_args"), workdir=str(spec.get("workdir") or ""), stop_signal=stop_signal)


class Catalog:
    def __init__(self, entries: dict[str, Image]) -> None:
        self.entries = entries

    @classmethod
    def load(cls, paths=(), extra: dict | None = None) -> "Catalog":
        """The built-in catalog, then each file in order, then `extra` (tests)."""
        entries = {name: _entry(name, spec, "built-in catalog") for name, spec in BUILTIN.items()}
        for path in paths:
            path = Path(path)
            try:
                text = path.read_text().replace("{catalog_dir}", str(path.resolve().parent))
                data = yaml.safe_load(text) or {}
            except OSError as exc:
                raise UserError(f"{path}: cannot read the image catalog ({exc.strerror}); "
                                "fix `catalogs` in the sandbox config") from None
            except yaml.YAMLError:
                raise UserError(f"{path}: the image catalog is not valid YAML; fix its syntax") from None
            if isinstance(data, dict) and isinstance(data.get("images"), dict):
                data = data["images"]
            if not isinstance(data, dict):
                raise UserError(f"{path}: an image catalog maps image names to how to run them; "
                                "see gameday/sandbox/images.py")
            for name, spec in data.items():
                entries[str(name)] = _entry(str(name), spec, str(path))
        for name, spec in (extra or {}).items():
            entries[name] = _entry(name, spec, "extra catalog")
        return cls(entries)

    def resolve(self, image: str) -> Image | None:
        repo, tag = normalize(image)
        if tag and f"{repo}:{tag}" in self.entries:
            return self.entries[f"{repo}:{tag}"]
        return self.entries.get(repo)


def placeholders(pod_ip: str = "", pod_name: str = "", namespace: str = "", run_dir: str = "") -> dict[str, str]:
    return {"python": sys.executable, "python_bindir": os.path.dirname(sys.executable),
            "pg_bindir": pg_bindir(), "pod_ip": pod_ip,
            "pod_name": pod_name, "namespace": namespace, "run_dir": run_dir}


def fill(text: str, values: dict[str, str]) -> str:
    """Replace the catalog's {placeholders}; other braces are left alone."""
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def command_line(image: Image, command: list[str] | None, args: list[str] | None) -> list[str]:
    """Kubernetes' rule: command replaces ENTRYPOINT (and drops CMD); args replace CMD."""
    if command:
        argv = list(command) + list(args or [])
    else:
        argv = list(image.entrypoint) + (list(args) if args else list(image.cmd))
    return argv + list(image.bind_args)


def default_path() -> str:
    return os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
