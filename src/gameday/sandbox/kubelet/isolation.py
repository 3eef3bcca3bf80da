"""A container's namespaces, built with kept tools: `ip netns exec` (the
pod's network namespace, see podnet.py) around bubblewrap (`bwrap`: a PID
namespace whose PID 1 is the container's entrypoint, a mount namespace whose
root holds read-only binds of the host's /usr and /etc, the sandbox's Python
runtime, and each volume at its real mountPath); `setpriv` inside drops to
the container's user after the namespaces are made; `nsenter` runs `kubectl
exec` commands in a running container's namespaces.

Pure argv builders plus the pod's /etc files."""
from __future__ import annotations

import os
import site
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .process import RunAs

# The host's root, as read-only binds (`--ro-bind / /` would also expose the
# sandbox's state, other pods' volumes among them).
_ROOT_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
_ETC_OWN = {"hosts", "hostname", "resolv.conf"}
# A container runtime's default capabilities (Docker's, containerd's): bwrap
# would otherwise drop them all, and root in a container may chown, setuid...
DEFAULT_CAPS = ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
                "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE")


@dataclass(frozen=True)
class Mount:
    host: str
    path: str  # inside the container
    read_only: bool = False


@dataclass
class Layout:
    """What one container's root holds."""
    netns: str
    etc_dir: Path  # the pod's hosts, hostname, resolv.conf
    mounts: list[Mount] = field(default_factory=list)
    workdir: str = "/"
    run_as: RunAs | None = None
    programs: list[str] = field(default_factory=list)  # the image's own program folders (program_dirs)


def _outermost(candidates) -> list[str]:
    """The folders to bind: system folders (bound anyway) left out, and a
    folder inside another one of the list dropped."""
    out: list[str] = []
    for p in sorted(set(candidates), key=len):
        if p == "/" or p.startswith(("/usr/", "/etc/", "/proc/")) or p in ("/usr", "/etc"):
            continue
        if not os.path.isdir(p) or any(p == o or p.startswith(o + os.sep) for o in out):
            continue
        out.append(p)
    return out


def program_dirs(paths: list[str]) -> list[str]:
    """What an image's programs (its entrypoint, its PATH folders) need in a
    container's root: their folders; for a program in a virtual environment,
    the environment, the Python it was made from (`home` of pyvenv.cfg) and
    the source folders its .pth files name (editable installs); for a link,
    the prefix of the file it points to. Without these an image whose
    programs live in the project's own environment (the catalog's
    .venv-platform) starts only where the sandbox's import path happens to
    cover the project folder."""
    found: list[str] = []
    for p in paths:
        if not p or not os.path.isabs(p) or not os.path.exists(p):
            continue
        parts = p.split(os.sep)
        if ".." in parts:   # the kernel walks the path as written: the folder before ".." must be there
            found.append(os.sep.join(parts[:parts.index("..")]) or os.sep)
        folder = p if os.path.isdir(p) else os.path.dirname(p)
        found.append(folder)
        if not os.path.isdir(p):
            found.append(os.path.dirname(os.path.dirname(os.path.realpath(p))))  # /x/bin/python3 -> /x
        venv = os.path.dirname(os.path.realpath(folder))
        cfg = os.path.join(venv, "pyvenv.cfg")
        if not os.path.isfile(cfg):
            continue
        found.append(venv)
        try:
            for line in Path(cfg).read_text().splitlines():
                key, _, value = line.partition("=")
                if key.strip() == "home" and value.strip():
                    found.append(os.path.dirname(os.path.realpath(value.strip())))
        except OSError:
            pass
        for pth in sorted(Path(venv).glob("lib/python*/site-packages/*.pth")):
            try:
                lines = pth.read_text().splitlines()
            except OSError:
                continue
            found += [l.strip() for l in lines if l.strip().startswith("/") and os.path.isdir(l.strip())]
    return _outermost([os.path.realpath(f) for f in found] + [os.path.abspath(f) for f in found])


def runtime_dirs() -> list[str]:
    """The sandbox's Python runtime (the `{python}` of the image catalog): its
    prefixes and the import path, which may lie under /root (pyenv) or in a
    virtual environment; bound read-only so that Python pods can start."""
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix,
                  os.path.dirname(os.path.realpath(sys.executable))]
    candidates += [p for p in sys.path if p and os.path.isdir(p)]
    try:
        candidates += site.getsitepackages()
    except AttributeError:
        pass
    return _outermost([os.path.realpath(c) for c in candidates] + [os.path.abspath(c) for c in candidates])


def _etc_args(mount_paths: list[str]) -> list[str]:
    """/etc as the host's, read-only; entry by entry when a volume is mounted
    under /etc at a path the host lacks (a read-only bind has no room for its
    mount point)."""
    needs_room = any(p.startswith("/etc/") and not os.path.exists(p) for p in mount_paths)
    if not needs_room:
        return ["--ro-bind", "/etc", "/etc"]
    args = ["--dir", "/etc"]
    for name in sorted(os.listdir("/etc")):
        if name in _ETC_OWN:
            continue
        src = os.path.join("/etc", name)
        if os.path.islink(src):
            args += ["--symlink", os.readlink(src), src]
        else:
            args += ["--ro-bind", src, src]
    return args


def bwrap_argv(layout: Layout, argv: list[str]) -> list[str]:
    """`ip netns exec NS bwrap ... -- [setpriv ...] argv`: PID 1 is argv[0]."""
    paths = [m.path for m in layout.mounts]
    args = ["ip", "netns", "exec", layout.netns, "bwrap",
            "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--as-pid-1", "--die-with-parent",
            "--ro-bind", "/usr", "/usr"]
    for cap in DEFAULT_CAPS:
        args += ["--cap-add", cap]
    for link in _ROOT_LINKS:
        target = os.path.join("/", link)
        if os.path.islink(target):
            args += ["--symlink", os.readlink(target), target]
        elif os.path.isdir(target):
            args += ["--ro-bind", target, target]
    args += _etc_args(paths)
    for own in sorted(_ETC_OWN):
        args += ["--ro-bind", str(layout.etc_dir / own), f"/etc/{own}"]
    args += ["--proc", "/proc", "--dev", "/dev", "--ro-bind", "/sys", "/sys", "--dir", "/var", "--dir", "/run",
             "--symlink", "../run", "/var/run"]
    roots = ["/usr", "/etc", "/opt", "/sys", "/proc", "/dev", *_outermost(runtime_dirs() + layout.programs)]
    # A runtime that lives under a path the pod mounts over (the project checked
    # out under /tmp, where the pod gets its own /tmp) is bound after the mounts.
    mount_points = [m.path.rstrip("/") or "/" for m in layout.mounts]
    late = [d for d in roots[6:] if any(_under(d, [mp]) for mp in mount_points if mp != "/")]
    for d in roots[6:]:
        if d not in late:
            args += ["--ro-bind", d, d]
    if os.path.isdir("/opt"):
        args += ["--ro-bind", "/opt", "/opt"]
    # Longer paths after their parents, so that a volume inside another lands on top.
    made = {"/", "/var", "/run", "/proc", "/dev", "/sys", "/tmp"}
    for m in sorted(layout.mounts, key=lambda m: m.path.count("/")):
        # bwrap makes a mount point's missing parents 0700: a container's user could not pass them.
        parent = os.path.dirname(m.path.rstrip("/"))
        chain = []
        while parent not in made and not _under(parent, roots):
            chain.append(parent)
            parent = os.path.dirname(parent)
        for d in reversed(chain):
            args += ["--perms", "0755", "--dir", d]
            made.add(d)
        args += ["--ro-bind" if m.read_only else "--bind", m.host, m.path]
        made.add(m.path.rstrip("/"))
    for d in late:
        args += ["--ro-bind", d, d]
    args += ["--hostname", layout_hostname(layout), "--chdir", layout.workdir or "/", "--"]
    if layout.run_as is not None and layout.run_as.uid != 0:
        args += ["setpriv", f"--reuid={layout.run_as.uid}", f"--regid={layout.run_as.gid}", "--clear-groups",
                 "--"]
    return args + list(argv)


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r + "/") for r in roots)


def layout_hostname(layout: Layout) -> str:
    try:
        return (layout.etc_dir / "hostname").read_text().strip() or "localhost"
    except OSError:
        return "localhost"


def nsenter_argv(pid1: int, run_as: RunAs, workdir: str, argv: list[str]) -> list[str]:
    """A command in a running container's namespaces, as its user; a missing
    program answers 127 with the runtime's message."""
    user = [] if run_as.uid == 0 else [f"--setuid={run_as.uid}", f"--setgid={run_as.gid}"]
    find = ('command -v "$1" >/dev/null 2>&1 || { echo "exec: \\"$1\\": executable file not found in \\$PATH" >&2; '
            'exit 127; }; exec "$@"')
    return ["nsenter", f"--target={pid1}", "--pid", "--mount", "--net", "--uts", "--ipc", "--root",
            f"--wdns={workdir or '/'}", *user, "--", "/bin/sh", "-c", find, "sh", *argv]


def write_etc(etc_dir: Path, hostname: str, pod_ip: str, names: dict[str, str]) -> None:
    """The pod's /etc/hosts (its own name, then the cluster's Service names:
    the sandbox's cluster DNS), /etc/hostname and /etc/resolv.conf. Written
    in place: a file bound into a running container keeps its inode."""
    etc_dir.mkdir(parents=True, exist_ok=True)
    lines = ["# Kubernetes-managed hosts file (the gameday sandbox).", "127.0.0.1\tlocalhost",
             "::1\tlocalhost ip6-localhost ip6-loopback", f"{pod_ip}\t{hostname}"]
    by_ip: dict[str, list[str]] = {}
    for name, ip in sorted(names.items()):
        by_ip.setdefault(ip, []).append(name)
    lines += [f"{ip}\t{' '.join(ns)}" for ip, ns in sorted(by_ip.items())]
    _write_in_place(etc_dir / "hosts", "\n".join(lines) + "\n")
    _write_in_place(etc_dir / "hostname", hostname + "\n")
    _write_in_place(etc_dir / "resolv.conf", "# the sandbox has no DNS server: cluster names are in /etc/hosts\n"
                    "options ndots:1 timeout:1 attempts:1\n")


def _write_in_place(path: Path, text: str) -> None:
    data = text.encode()
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o644)


def service_names(services: list[dict], pods: list[dict], namespace: str,
                  service_ip) -> dict[str, str]:
    """NAME.NS.svc.cluster.local, NAME.NS.svc (and NAME in the pod's own
    namespace) -> cluster IP (a headless Service: its first endpoint), and a
    StatefulSet pod's HOSTNAME.SUBDOMAIN.NS.svc[.cluster.local] -> its IP."""
    names: dict[str, str] = {}
    for svc in services:
        meta = svc["metadata"]
        ip = svc.get("spec", {}).get("clusterIP")
        if not ip or ip == "None":
            ip = service_ip(meta["name"], meta["namespace"])
        if not ip:
            continue
        base = f"{meta['name']}.{meta['namespace']}"
        names[f"{base}.svc.cluster.local"] = ip
        names[f"{base}.svc"] = ip
        if meta["namespace"] == namespace:
            names[meta["name"]] = ip
    for pod in pods:
        spec, ip = pod.get("spec") or {}, (pod.get("status") or {}).get("podIP")
        if ip and spec.get("hostname") and spec.get("subdomain"):
            base = f"{spec['hostname']}.{spec['subdomain']}.{pod['metadata']['namespace']}"
            names[f"{base}.svc.cluster.local"] = ip
            names[f"{base}.svc"] = ip
    return names
