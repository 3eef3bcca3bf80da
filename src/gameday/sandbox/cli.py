"""`gameday sandbox up|down|status|kubeconfig|url`.

`up` starts the sandbox as a detached process (or in the foreground with
--foreground) in a state directory ($GAMEDAY_SANDBOX_DIR or
./.gameday/sandbox); the other commands find it there and talk to it through
its Kubernetes API, as any client would."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..errors import TargetError, UserError

STATE_ENV = "GAMEDAY_SANDBOX_DIR"
PLATFORM_CONFIG = Path("deploy") / "sandbox" / "sandbox.yaml"
START_TIMEOUT = 60.0
READY_TIMEOUT = float(os.environ.get("GAMEDAY_SANDBOX_READY_TIMEOUT", "240"))
STOP_TIMEOUT = 60.0


def default_state_dir() -> Path:
    return Path(os.environ.get(STATE_ENV) or Path(".gameday") / "sandbox")


def register(subparsers) -> None:
    p = subparsers.add_parser("sandbox", help="the embedded single-node Kubernetes (pods are local processes)",
                              description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="sandbox_command", metavar="ACTION")

    def common(parser):
        parser.add_argument("--state-dir", type=Path, default=None,
                            help=f"the sandbox's state directory (default: ${STATE_ENV} or .gameday/sandbox)")

    up = sub.add_parser("up", help="start the sandbox and apply the manifests; print the kubeconfig path")
    common(up)
    up.add_argument("--wait", action="store_true", help="wait until every pod is ready")
    up.add_argument("--manifests", type=Path, action="append", metavar="DIR",
                    help="apply these manifest directories instead of the configured ones (repeatable)")
    up.add_argument("--config", type=Path, default=None,
                    help=f"sandbox config (default: target.sandbox of the project's gameday.yaml, else "
                         f"{PLATFORM_CONFIG} when it exists)")
    up.add_argument("--foreground", action="store_true", help="run in this process until Ctrl-C / SIGTERM")
    up.add_argument("--timeout", type=float, default=READY_TIMEOUT, help="seconds --wait waits (default %(default)s)")
    up.set_defaults(func=cmd_up)

    down = sub.add_parser("down", help="stop the sandbox and every process it started")
    common(down)
    down.set_defaults(func=cmd_down)

    status = sub.add_parser("status", help="nodes, pods and services of the running sandbox")
    common(status)
    status.set_defaults(func=cmd_status)

    kc = sub.add_parser("kubeconfig", help="print the running sandbox's kubeconfig path")
    common(kc)
    kc.add_argument("--as-serviceaccount", metavar="NS/NAME", default=None,
                    help="write a kubeconfig whose user is this ServiceAccount (a TokenRequest token) and print its path")
    kc.add_argument("--output", type=Path, default=None, help="where to write it (default: the state directory)")
    kc.set_defaults(func=cmd_kubeconfig)

    url = sub.add_parser("url", help="print http://127.0.0.1:PORT of a service")
    common(url)
    url.add_argument("service")
    url.add_argument("-n", "--namespace", default="default")
    url.add_argument("--port", type=int, default=None, help="the service port (default: its first)")
    url.set_defaults(func=cmd_url)

    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


# -- finding a running sandbox ----------------------------------------------------
def _state(args) -> Path:
    return (args.state_dir or default_state_dir()).resolve()


def _info(state_dir: Path) -> dict | None:
    """The running sandbox's info (sandbox.json), or None when none runs there."""
    try:
        info = json.loads((state_dir / "sandbox.json").read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and is_sandbox_process(info) else None


def is_sandbox_process(info: dict) -> bool:
    """The process sandbox.json names is alive and is the one that wrote it
    (same PID, same start time): a PID reused by another process after the
    sandbox died is never taken for it, nor signalled."""
    try:
        pid = int(info["pid"])
    except (KeyError, TypeError, ValueError):
        return False
    if pid <= 0 or not _alive(pid):
        return False
    from .cluster import process_start
    started = info.get("pid_start")
    return started is not None and process_start(pid) == started
    needle = str(Path(state_dir).resolve()).encode()
    for name in ("cmdline", "environ"):
        try:
            with open(f"/proc/{pid}/{name}", "rb") as f:
                if needle in f.read():
                    return True
        except OSError:
            continue
    return False


def _require(state_dir: Path) -> dict:
    info = _info(state_dir)
    if info is None:
        raise UserError(f"no sandbox is running in {state_dir}; start one with `gameday sandbox up` "
                        f"(or name its directory with --state-dir / ${STATE_ENV})")
    return info


def _api(kubeconfig: str):
    from kubernetes import config
    return config.new_client_from_config(config_file=str(kubeconfig))


class ApiAnswer(Exception):
    def __init__(self, status: int, text: str):
        super().__init__(f"HTTP {status}: {text[:200]}")
        self.status = status


def _get_json(client, path: str) -> dict:
    """GET a path of the API as JSON, with the kubeconfig's credentials."""
    method, url, headers, _, _ = client.param_serialize("GET", path, header_params={"Accept": "application/json"},
                                                        auth_settings=["BearerToken"])
    resp = client.call_api(method, url, header_params=headers, _request_timeout=30)
    resp.read()
    if resp.status >= 400:
        raise ApiAnswer(resp.status, resp.data.decode(errors="replace"))
    return json.loads(resp.data)


# -- up --------------------------------------------------------------------------
def _config_path(args) -> Path | None:
    if args.config is not None:
        if not args.config.exists():
            raise UserError(f"{args.config}: no such sandbox config; fix --config")
        return args.config.resolve()
    # The project's sandbox (target.sandbox of gameday.yaml), as `gameday drill` starts it.
    from ..project import current
    project = current(required=False)
    if project is not None and project.sandbox_config:
        from ..bdd.targets import sandbox_config
        return sandbox_config(project).resolve()
    return PLATFORM_CONFIG.resolve() if PLATFORM_CONFIG.exists() else None


def _validate(config: Path | None, manifests: list[Path] | None) -> None:
    """Bad input fails here, in the foreground, before anything starts."""
    from . import config as sandbox_config, manifests as manifest_files
    from .images import Catalog
    cfg = sandbox_config.load(config)
    Catalog.load(cfg.catalogs)
    manifest_files.load(manifests if manifests else cfg.manifests)


def cmd_up(args) -> int:
    state_dir = _state(args)
    config = _config_path(args)
    manifests = [m.resolve() for m in args.manifests] if args.manifests else None
    _validate(config, manifests)
    running = _info(state_dir)
    if running is not None:
        print(f"a sandbox is already running in {state_dir} (pid {running['pid']})", file=sys.stderr)
        if args.wait:
            _wait_ready(running["kubeconfig"], args.timeout)
        print(running["kubeconfig"])
        return 0
    if args.foreground:
        from .daemon import run

        def started(sb):
            if args.wait:
                sb.wait_ready(args.timeout)
            print(sb.kubeconfig, flush=True)
        try:
            return run(state_dir, config, manifests, on_started=started)
        except KeyboardInterrupt:
            return 130
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "sandbox.json").unlink(missing_ok=True)
    log_path = state_dir / "daemon.log"
    argv = [sys.executable, "-m", "gameday.sandbox.daemon", "--state-dir", str(state_dir)]
    if config is not None:
        argv += ["--config", str(config)]
    for m in manifests or []:
        argv += ["--manifests", str(m)]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True)
    info = _wait_started(proc, state_dir, log_path)
    if args.wait:
        _wait_ready(info["kubeconfig"], args.timeout)
    print(info["kubeconfig"])
    return 0


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _wait_started(proc: subprocess.Popen, state_dir: Path, log_path: Path) -> dict:
    """Until the daemon's API answers; its log in the error when it does not."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        code = proc.poll()
        if code == 2:  # bad input the API server refused (a manifest): its one-line message
            lines = [line for line in _tail(log_path).splitlines() if line.startswith("gameday: error: ")]
            if lines:
                raise UserError(lines[-1].removeprefix("gameday: error: "))
        if code is not None:
            raise TargetError(f"the sandbox exited at start (code {code}); its log ({log_path}):\n{_tail(log_path)}")
        info = _info(state_dir)
        if info is not None and info.get("pid") == proc.pid:
            try:
                _get_json(_api(info["kubeconfig"]), "/version")
                return info
            except Exception:
                pass
        time.sleep(0.1)  # polls the daemon's start; bounded by START_TIMEOUT
    proc.terminate()
    raise TargetError(f"the sandbox did not answer within {START_TIMEOUT:g}s; its log ({log_path}):\n{_tail(log_path)}")


def _wait_ready(kubeconfig: str, timeout: float) -> None:
    from .cluster import readiness_problems
    client = _api(kubeconfig)
    deadline = time.monotonic() + timeout
    problems: list[str] = []
    while time.monotonic() < deadline:
        try:
            problems = readiness_problems(_get_json(client, "/api/v1/pods")["items"],
                                          _get_json(client, "/apis/apps/v1/deployments")["items"],
                                          _get_json(client, "/apis/apps/v1/statefulsets")["items"])
        except Exception as exc:  # the API briefly unavailable: keep polling until the deadline
            problems = [f"API not answering: {exc}"]
        if not problems:
            return
        time.sleep(0.2)  # polls readiness through the API; bounded by the deadline
    raise TargetError(f"the sandbox is not ready after {timeout:g}s:\n  " + "\n  ".join(problems))


# -- down ------------------------------------------------------------------------
def leftover_processes(state_dir: Path) -> list[int]:
    """Processes whose command line or environment names the state directory."""
    needle = str(state_dir).encode()
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        for name in ("cmdline", "environ"):
            try:
                with open(f"/proc/{entry}/{name}", "rb") as f:
                    if needle in f.read():
                        found.append(int(entry))
                        break
            except OSError:
                continue
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def cmd_down(args) -> int:
    state_dir = _state(args)
    info = _require(state_dir)  # its PID is this directory's sandbox (is_sandbox_process)
    pid = int(info["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)  # the daemon stops its pods (their grace periods) then exits
    if is_sandbox_process(info):
        os.kill(pid, signal.SIGKILL)
    # The pods die with the daemon (parent-death signal); anything that escaped goes now.
    deadline = time.monotonic() + 10
    while True:
        left = [p for p in leftover_processes(state_dir) if _alive(p)]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for p in left:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    (state_dir / "sandbox.json").unlink(missing_ok=True)
    print(f"sandbox in {state_dir} stopped")
    return 0


# -- status, kubeconfig, url -----------------------------------------------------------
def cmd_kubeconfig(args) -> int:
    admin = _require(_state(args))["kubeconfig"]
    if not args.as_serviceaccount:
        print(admin)
        return 0
    ns, _, name = args.as_serviceaccount.partition("/")
    if not ns or not name or "/" in name:
        raise UserError(f"--as-serviceaccount {args.as_serviceaccount!r}: expected NAMESPACE/NAME, e.g. myapp/gameday")
    from kubernetes.client import ApiException
    from .apiserver.kubeconfig import service_account_kubeconfig
    out = args.output or _state(args) / f"kubeconfig-{ns}-{name}"
    try:
        print(service_account_kubeconfig(admin, ns, name, out))
    except ApiException as exc:
        if exc.status == 404:
            raise UserError(f'serviceaccount "{name}" not found in namespace "{ns}"; apply deploy/rbac first') from None
        raise
    return 0


def _ready_count(pod: dict) -> str:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    return f"{sum(1 for c in statuses if c.get('ready'))}/{len(pod.get('spec', {}).get('containers') or [])}"


def cmd_status(args) -> int:
    state_dir = _state(args)
    info = _require(state_dir)
    client = _api(info["kubeconfig"])
    print(f"sandbox: {info['url']} (pid {info['pid']}, pods in {info.get('block', '?')})")
    print(f"kubeconfig: {info['kubeconfig']}")
    print("\nNODE                 STATUS   SCHEDULABLE")
    for node in _get_json(client, "/api/v1/nodes")["items"]:
        ready = next((c["status"] for c in node.get("status", {}).get("conditions") or []
                      if c["type"] == "Ready"), "Unknown")
        print(f"{node['metadata']['name']:<20} {'Ready' if ready == 'True' else 'NotReady':<8} "
              f"{'no (cordoned)' if node.get('spec', {}).get('unschedulable') else 'yes'}")
    print(f"\n{'NAMESPACE':<16} {'POD':<44} {'PHASE':<10} {'READY':<6} RESTARTS")
    for pod in _get_json(client, "/api/v1/pods")["items"]:
        restarts = sum(c.get("restartCount", 0) for c in pod.get("status", {}).get("containerStatuses") or [])
        print(f"{pod['metadata']['namespace']:<16} {pod['metadata']['name']:<44} "
              f"{pod.get('status', {}).get('phase', ''):<10} {_ready_count(pod):<6} {restarts}")
    print(f"\n{'NAMESPACE':<16} {'SERVICE':<28} {'CLUSTER-IP':<16} URL")
    for svc in _get_json(client, "/api/v1/services")["items"]:
        print(f"{svc['metadata']['namespace']:<16} {svc['metadata']['name']:<28} "
              f"{svc.get('spec', {}).get('clusterIP', ''):<16} {' '.join(service_urls(svc)) or '-'}")
    return 0


def service_urls(svc: dict) -> list[str]:
    """http://IP:PORT for each published port, in the order of spec.ports."""
    urls = []
    for ingress in (svc.get("status", {}).get("loadBalancer") or {}).get("ingress") or []:
        for port in ingress.get("ports") or []:
            urls.append(f"http://{ingress.get('ip') or ingress.get('hostname')}:{port['port']}")
    return urls


def cmd_url(args) -> int:
    info = _require(_state(args))
    client = _api(info["kubeconfig"])
    try:
        svc = _get_json(client, f"/api/v1/namespaces/{args.namespace}/services/{args.service}")
    except ApiAnswer as exc:
        if exc.status == 404:
            raise UserError(f'service "{args.service}" not found in namespace "{args.namespace}"; '
                            "check the name and -n (gameday sandbox status lists them)") from None
        raise
    urls = service_urls(svc)
    ports = [int(p["port"]) for p in svc.get("spec", {}).get("ports") or []]
    if args.port is not None:
        if args.port not in ports:
            raise UserError(f"service {args.namespace}/{args.service} has no port {args.port} "
                            f"(it has {', '.join(map(str, ports)) or 'none'}); fix --port")
        index = ports.index(args.port)
        urls = urls[index:index + 1] if index < len(urls) else []
    if not urls:
        raise TargetError(f"service {args.namespace}/{args.service} has no published host port yet; "
                          "try again in a moment")
    print(urls[0])
    return 0
