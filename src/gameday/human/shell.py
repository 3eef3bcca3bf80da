"""`gameday shell`: the on-call engineer's shell on the drill's target.

A plain interactive bash with KUBECONFIG set to the drill's target, run under
`script` (util-linux) so programs see a real terminal and everything shown is
kept in the session's `output.log`. bash's own hooks (a DEBUG trap before
each command, PROMPT_COMMAND after it) log each command line with its start,
end and exit status; the output head is cut from output.log later. Pages
from the drill appear in the terminal as they arrive. `ack` acknowledges the
page; a bare `done` (which bash itself refuses as a syntax error, so loops
keep working) says the current runbook step is done; Ctrl-C twice at the
prompt ends the drill (every fault rolled back)."""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from ..errors import UserError
from . import session as sessions

_RC = r'''
# gameday operator shell (generated): every command is logged for the drill.
__gd_s={session}
__gd_py={python}
export KUBECONFIG={kubeconfig}
export GAMEDAY_SESSION="$__gd_s"
HISTFILE="$__gd_s/history"; HISTCONTROL=; HISTIGNORE=; HISTTIMEFORMAT=
PS1='[gameday:{context}] \w\$ '
__gd_armed=1; __gd_t0=; __gd_o0=; __gd_last=
__gd_size() {{ stat -c %s "$__gd_s/output.log" 2>/dev/null || echo 0; }}
__gd_pre() {{
  [ "$__gd_armed" = 1 ] || return 0
  __gd_armed=0; __gd_t0=$(date +%s.%N); __gd_o0=$(__gd_size)
}}
__gd_post() {{
  local rc=$?
  local num line
  num=$(history 1 | awk '{{print $1}}')
  line=$(history 1 | sed -E 's/^ *[0-9]+\*? *//')
  if [ -n "$num" ] && [ "$num" != "$__gd_last" ]; then
    __gd_last=$num
    [ -n "$__gd_t0" ] || {{ __gd_t0=$(date +%s.%N); __gd_o0=$(__gd_size); }}
    "$__gd_py" -m gameday.human.shell_log "$__gd_s" "$__gd_t0" "$(date +%s.%N)" "$rc" "$__gd_o0" "$line"
  fi
  __gd_armed=1; __gd_t0=
}}
ack() {{ "$__gd_py" -m gameday.human.shell_log --say "$__gd_s" ack; }}
gameday-done() {{ "$__gd_py" -m gameday.human.shell_log --say "$__gd_s" done; }}
__gd_int() {{
  local now; now=$(date +%s)
  if [ -n "$__gd_int_at" ] && [ $((now - __gd_int_at)) -le {abort_window} ]; then
    "$__gd_py" -m gameday.human.shell_log --say "$__gd_s" abort
  else
    __gd_int_at=$now; printf '\n(Ctrl-C again within {abort_window} s ends the drill and rolls every fault back)\n'
  fi
}}
trap '__gd_int' INT
trap '__gd_pre' DEBUG
PROMPT_COMMAND=__gd_post
( tail -n +1 --pid=$$ -f "$__gd_s/pages.jsonl" 2>/dev/null | "$__gd_py" -u -m gameday.human.shell_log --pages & )
echo "gameday shell on {context}: 'ack' acknowledges the page, 'done' ends the current runbook step, Ctrl-C twice ends the drill, 'exit' leaves."
'''


def rcfile(session: sessions.Session, python: str = sys.executable) -> str:
    info = session.info
    window = int(os.environ.get("GAMEDAY_SHELL_ABORT_WINDOW", "5"))
    return _RC.format(abort_window=window, session=shlex.quote(str(session.folder)), python=shlex.quote(python),
                      kubeconfig=shlex.quote(str(info["kubeconfig"])), context=str(info["context"]).replace("'", ""))


def check_allowed(session: sessions.Session) -> None:
    """The shell refuses a context the drill may not touch (the same
    allowlist check as any drill)."""
    from ..target import Target
    info = session.info
    if "kubeconfig" not in info or "context" not in info:
        raise UserError(f"{session.info_file}: the session names no kubeconfig/context; start the drill again")
    Target.connect(info["kubeconfig"], info["context"], allow_contexts=tuple(info.get("allow_contexts") or ()))


def command(session: sessions.Session) -> list[str]:
    """The argument list that runs the shell: bash under `script`."""
    rc = session.folder / "shell.rc"
    rc.write_text(rcfile(session))
    bash = shutil.which("bash") or "/bin/bash"
    inner = f"{shlex.quote(bash)} --noprofile --rcfile {shlex.quote(str(rc))} -i"
    script = shutil.which("script")
    if not script:
        raise UserError("`script` (util-linux) is not on PATH; install it (apt-get install -y bsdutils)")
    return [script, "-q", "-f", "-a", "-c", inner, str(session.output_file)]


def run(args) -> int:
    try:
        session = sessions.find(args.reports, args.session)
    except FileNotFoundError as exc:
        raise UserError(str(exc))
    check_allowed(session)
    env = {**os.environ, "KUBECONFIG": str(session.info["kubeconfig"]), sessions.SESSION_ENV: str(session.folder)}
    return subprocess.call(command(session), env=env)


def register(subparsers) -> None:
    p = subparsers.add_parser("shell", help="an operator shell on the running drill's target; every command is logged")
    p.add_argument("--session", help="the drill's operator session folder (default: the one in reports/)")
    p.add_argument("--reports", default="reports", help="the reports folder of the drill (default: reports, or reports/drill where `gameday drill` writes)")
    p.set_defaults(func=run)
