"""One operator session: a runbook block run verbatim by bash, in a throwaway
workspace, with every command recorded.

Isolation (bubblewrap): the block sees the machine read-only, except its
workspace, which stands in for the operator's writable places: `/tmp`,
`/var/log`, `/backup`, `$HOME` and a copy of the runbook's repository (the
working directory, so `./scripts/...` resolves). It runs in its own PID
namespace with every capability dropped, so it can signal nothing but its own
processes; the network is shared, because the target is reached over it.

Recording without changing a line: a prelude sets a DEBUG trap (with
`set -T`, so it also applies inside the sourced block) that writes, before each
simple command at the top level, its block line, the time and the
`PIPESTATUS` of the pipeline that just finished; an EXIT trap writes the last
one. A marker on the output splits what each command printed. With
`extdebug`, the trap skips lines the check must not run (mutating lines on a
real cluster) by returning non-zero: the block's text is never edited.

Hostnames: the workspace's /etc/hosts maps each runbook hostname to a
loopback address, where a TLS front (see `hosts.py`) presents a certificate
for that name signed by a per-run CA; curl, Python and OpenSSL in the
session trust that CA through CURL_CA_BUNDLE / SSL_CERT_FILE /
REQUESTS_CA_BUNDLE. The line itself is untouched."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..programs import find as find_program
from .parse import INFRA_TOOLS

MARK = "\x1egameday-mark:"
BASE_TOOLS = (
    "bash", "sh", "cat", "ls", "date", "wc", "sort", "head", "tail", "cut", "tr", "tee", "du", "df", "env", "echo",
    "printf", "mkdir", "rm", "cp", "mv", "touch", "sleep", "basename", "dirname", "stat", "id", "uname", "true",
    "false", "seq", "xargs", "uniq", "readlink", "realpath", "mktemp", "chmod", "ln", "grep", "egrep", "awk",
    "gawk", "mawk", "sed", "find", "tar", "gzip", "gunzip", "zcat", "jq", "ps", "kill", "curl", "kubectl", "psql",
    "python", "python3", "git", "timeout", "wget", "base64", "md5sum", "sha256sum", "hostname", "whoami", "yes",
)

PRELUDE = r'''
exec 9>>"$GD_TRACE"
__gd_seq=0
__gd_wd=
__gd_trap() {
  local ps="${PIPESTATUS[*]}" line="$1"
  (( BASH_SUBSHELL == 0 )) || return 0
  [[ ${BASH_SOURCE[1]} == "$GD_BLOCK" ]] || return 0
  if [[ -n $__gd_wd ]]; then kill "$__gd_wd" 2>/dev/null; wait "$__gd_wd" 2>/dev/null; __gd_wd=; fi
  __gd_seq=$((__gd_seq + 1))
  local cmd="${BASH_COMMAND//$'\n'/\\n}"
  cmd="${cmd//$'\t'/ }"
  if [[ " $GD_SKIP " == *" $line "* ]]; then
    printf 'K\t%s\t%s\t%s\t%s\t%s\n' "$__gd_seq" "$line" "$EPOCHREALTIME" "$ps" "$cmd" >&9
    return 1
  fi
  printf 'S\t%s\t%s\t%s\t%s\t%s\n' "$__gd_seq" "$line" "$EPOCHREALTIME" "$ps" "$cmd" >&9
  printf '\036gameday-mark:%s\n' "$__gd_seq"
  if [[ " $GD_BOUNDED " == *" $line "* ]]; then
    ( sleep "$GD_BOUND_S"; printf 'B\t%s\n' "$__gd_seq" >&9
      for p in $(ps -o pid= --ppid $$); do [[ $p == "$BASHPID" ]] || kill -TERM "$p" 2>/dev/null; done ) &
    __gd_wd=$!
  fi
  return 0
}
__gd_exit() {
  local ps="${PIPESTATUS[*]}"
  printf 'X\t%s\t\t%s\t%s\t\n' "$((__gd_seq + 1))" "$EPOCHREALTIME" "$ps" >&9
}
shopt -s extdebug
set -T
trap '__gd_trap "$LINENO"' DEBUG
trap '__gd_exit' EXIT
source "$GD_BLOCK"
'''


@dataclass(frozen=True)
class Record:
    kind: str          # S started, K skipped, X end of block, B bound reached
    seq: int
    line: int          # line inside the block (1-based)
    t: float
    pipestatus: tuple[int, ...]   # of the pipeline that finished just before this record
    command: str


@dataclass
class SessionResult:
    records: list[Record]
    output: str                       # everything printed, markers removed
    output_by_seq: dict[int, str]     # what was printed after each record
    bounded: set[int]                 # seqs whose watchdog fired
    exit_status: int
    timed_out: bool
    duration_s: float
    workspace: Path
    error: str = ""


@dataclass
class Workspace:
    """The operator's writable places for one procedure, under the report folder."""
    root: Path
    repo_source: Path | None = None       # the runbook's repository (copied: ./scripts/... resolves)
    kubeconfig_text: str = ""
    hosts_file: str = "127.0.0.1 localhost\n::1 localhost\n"
    ca_bundle: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    # the runbook's own folder inside the repository: the operator starts there,
    # so its relative paths (./scripts/..., ./backup-recovery/...) resolve as the
    # runbook folder's README says, and git still finds the repository above
    workdir: str = ""

    def prepare(self, programs: set[str]) -> None:
        for d in ("home/.kube", "tmp", "var-log", "backup", "bin", "repo", "etc"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        if self.kubeconfig_text:
            (self.root / "home/.kube/config").write_text(self.kubeconfig_text)
        (self.root / "etc/hosts").write_text(self.hosts_file)
        if self.ca_bundle is not None:
            # inside the workspace: the bundle's own folder may be hidden (under /tmp)
            shutil.copy2(self.ca_bundle, self.root / "ca-bundle.crt")
            self.ca_bundle = self.root / "ca-bundle.crt"
        if self.repo_source is not None:
            self._copy_repo(self.repo_source, self.root / "repo")
        self._link_tools(programs)

    def _copy_repo(self, src: Path, dst: Path) -> None:
        """A writable copy of what the runbook refers to by relative path: the
        repository's files, without its build outputs and virtualenvs (its
        .git is bound read-only so `git diff` works)."""
        skip = {".git", ".venv", "venv", "node_modules", "reports", ".gameday", "__pycache__", ".pytest_cache",
                "build", ".whl", ".gl"}
        for entry in src.iterdir():
            # .venv-platform and the like: a virtualenv (a GB with torch) copied per procedure fills the disk
            if entry.name in skip or entry.name.endswith(".egg-info") or entry.name.startswith(".venv"):
                continue
            target = dst / entry.name
            if target.exists():
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.copytree(entry, target, symlinks=True, ignore=shutil.ignore_patterns(*skip))
            elif entry.is_file():
                shutil.copy2(entry, target)
        git = src / ".git"
        if git.is_file():
            shutil.copy2(git, dst / ".git")   # a worktree's pointer to its repository (read-only through /)
        elif git.is_dir():
            (dst / ".git").mkdir(exist_ok=True)

    def _link_tools(self, programs: set[str]) -> None:
        """PATH of the session: the base tools and the programs the block
        names, except tools that act on infrastructure outside the target."""
        bindir = self.root / "bin"
        for name in set(BASE_TOOLS) | {p for p in programs if "/" not in p}:
            if (bindir / name).is_symlink() and not (bindir / name).exists():
                (bindir / name).unlink()   # a link an earlier session left dangling
            if name in INFRA_TOOLS or (bindir / name).exists():
                continue
            found = find_program(name)
            if not found:
                continue
            real = os.path.realpath(found)
            private = ("/tmp/", "/var/log/", "/backup/")   # the session has its own of these
            if real.startswith(private):
                # a program there (a checkout's virtual environment under /tmp) is
                # linked in by its inode, not by its path
                try:
                    os.link(real, bindir / name)
                except OSError:
                    shutil.copy2(real, bindir / name)
            elif found.startswith(private):
                # a link there (a checkout's venv python3 -> the Python it was made
                # from) would dangle in the session: link to the file it names
                (bindir / name).symlink_to(real)
            else:
                (bindir / name).symlink_to(found)


def bwrap_argv(ws: Workspace, cwd: Path) -> list[str]:
    """Read-only view of the machine with the workspace over the operator's
    writable places; own PID/IPC/UTS namespaces; no capabilities."""
    argv = [shutil.which("bwrap") or "bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--cap-drop", "ALL"]
    for entry in sorted(Path("/").iterdir()):
        name = entry.name
        if name in ("proc", "dev", "tmp", "backup", "sys"):
            continue
        if entry.is_symlink():
            argv += ["--symlink", os.readlink(entry), str(entry)]
        elif entry.is_dir():
            argv += ["--ro-bind", str(entry), str(entry)]
    argv += ["--proc", "/proc", "--dev", "/dev", "--ro-bind", "/sys", "/sys",
             "--bind", str(ws.root / "tmp"), "/tmp",
             "--bind", str(ws.root / "var-log"), "/var/log",
             "--bind", str(ws.root / "backup"), "/backup",
             "--ro-bind", str(ws.root / "etc/hosts"), "/etc/hosts",
             "--bind", str(ws.root), str(ws.root)]
    if ws.repo_source is not None and (ws.repo_source / ".git").is_dir():
        argv += ["--ro-bind", str(ws.repo_source / ".git"), str(ws.root / "repo/.git")]
    argv += ["--chdir", str(cwd)]
    return argv


def run_block(ws: Workspace, block_text: str, name: str, skip_lines: set[int] = frozenset(),
              bounded_lines: set[int] = frozenset(), bound_s: float = 5.0, timeout_s: float = 600.0) -> SessionResult:
    """Run `block_text` verbatim in bash inside the workspace; wait at most
    `timeout_s` (then the whole session is killed and recorded as timed out)."""
    block = ws.root / f"{name}.sh"
    prelude = ws.root / f"{name}.prelude.sh"
    trace = ws.root / f"{name}.trace"
    out_file = ws.root / f"{name}.out"
    # One line after the block's own: its DEBUG record carries the PIPESTATUS
    # of the block's last pipeline (an EXIT trap sees only the last status).
    block.write_text(block_text.rstrip("\n") + "\n: end of the runbook block\n")
    prelude.write_text(PRELUDE)
    trace.write_text("")
    home = ws.root / "home"
    env = {
        "PATH": str(ws.root / "bin"), "HOME": str(home), "USER": os.environ.get("USER", "operator"),
        "LANG": "C.UTF-8", "TERM": "dumb", "KUBECONFIG": str(home / ".kube/config"),
        "GD_TRACE": str(trace), "GD_BLOCK": str(block), "GD_SKIP": " ".join(map(str, sorted(skip_lines))),
        "GD_BOUNDED": " ".join(map(str, sorted(bounded_lines))), "GD_BOUND_S": str(bound_s),
        "TMPDIR": "/tmp",
    }
    if ws.ca_bundle is not None:
        for var in ("CURL_CA_BUNDLE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
            env[var] = str(ws.ca_bundle)
    env.update(ws.env)
    cwd = ws.root / "repo" / ws.workdir if ws.workdir else ws.root / "repo"
    argv = [*bwrap_argv(ws, cwd), "bash", "--noprofile", "--norc", str(prelude)]
    started = time.monotonic()
    timed_out = False
    error = ""
    with open(out_file, "wb") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)   # our own bwrap's session: nothing else is in it
            rc = proc.wait(timeout=30)
    duration = time.monotonic() - started
    raw = out_file.read_text(errors="replace")
    if rc != 0 and not trace.read_text().strip():
        error = raw.strip()[-500:] or f"bwrap exited {rc}"
    records = parse_trace(trace.read_text())
    output, by_seq = split_output(raw)
    bounded = {r.seq for r in records if r.kind == "B"}
    out_file.write_text(output)
    return SessionResult([r for r in records if r.kind != "B"], output, by_seq, bounded, rc, timed_out, duration,
                         ws.root, error)


def parse_trace(text: str) -> list[Record]:
    records = []
    for line in text.splitlines():
        parts = line.split("\t")
        if parts[0] == "B" and len(parts) >= 2:
            records.append(Record("B", int(parts[1]), 0, 0.0, (), ""))
            continue
        if len(parts) < 6:
            continue
        kind, seq, lineno, t, ps, cmd = parts[:6]
        records.append(Record(kind, int(seq), int(lineno or 0), float(t), tuple(int(x) for x in ps.split() if x.isdigit()),
                              cmd))
    return records


def split_output(raw: str) -> tuple[str, dict[int, str]]:
    """Remove the markers; what follows marker N (up to the next) is N's."""
    by_seq: dict[int, list[str]] = {0: []}
    current = 0
    clean: list[str] = []
    for chunk in raw.split("\x1e"):
        if chunk.startswith("gameday-mark:"):
            head, _, rest = chunk.partition("\n")
            try:
                current = int(head.split(":", 1)[1])
            except ValueError:
                pass
            by_seq.setdefault(current, [])
            chunk = rest
        by_seq.setdefault(current, []).append(chunk)
        clean.append(chunk)
    return "".join(clean), {k: "".join(v) for k, v in by_seq.items()}
