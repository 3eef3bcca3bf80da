"""The target of a drill: a Kubernetes API reached through a kubeconfig and
context, checked against the allowlist before anything touches it.

The sandbox is one such target (its kubeconfig is written by the sandbox);
a real cluster is another. There is one code path for both."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import programs
from .errors import TargetError, UserError

SANDBOX_CONTEXT_PREFIX = "gameday-sandbox"
ALLOW_ENV = "GAMEDAY_ALLOW_CONTEXTS"  # comma-separated extra contexts a site trusts
SANDBOX_DIR_ENV = "GAMEDAY_SANDBOX_DIR"


def default_sandbox_dir() -> Path:
    return Path(os.environ.get(SANDBOX_DIR_ENV) or Path(".gameday") / "sandbox")


def _read_kubeconfig(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path}: kubeconfig not found; pass an existing file with --kubeconfig")
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UserError(f"{path}: not a readable kubeconfig ({exc.__class__.__name__}); check the file")
    if not isinstance(data, dict) or not isinstance(data.get("contexts"), list):
        raise UserError(f"{path}: not a kubeconfig (no 'contexts' list); pass the file kubectl uses")
    for i, ctx in enumerate(data["contexts"]):
        if not isinstance(ctx, dict) or not isinstance(ctx.get("name"), str) or not isinstance(ctx.get("context"), dict):
            raise UserError(f"{path}: contexts[{i}] must be a mapping with a name and a context; fix the kubeconfig")
    return data


def is_sandbox_context(kubeconfig: dict, context: str) -> bool:
    """A sandbox context: named by the sandbox and served on loopback."""
    if not context.startswith(SANDBOX_CONTEXT_PREFIX):
        return False
    ctx = next((c for c in kubeconfig.get("contexts", []) if c.get("name") == context), None)
    if not ctx:
        return False
    cluster_name = (ctx.get("context") or {}).get("cluster")
    cluster = next((c for c in kubeconfig.get("clusters", []) if c.get("name") == cluster_name), None)
    server = ((cluster or {}).get("cluster") or {}).get("server", "")
    host = urllib.parse.urlparse(server).hostname or ""
    return host in ("127.0.0.1", "localhost", "::1")


@dataclass
class Target:
    """A kubeconfig + context the harness may act on. Build with `connect`;
    the allowlist is checked there, once."""

    kubeconfig: Path
    context: str
    sandbox: bool = False
    service_overrides: dict[str, str] = field(default_factory=dict)  # "name.ns" -> URL
    _api: object = field(default=None, repr=False)

    # --- construction -------------------------------------------------
    @classmethod
    def connect(cls, kubeconfig: str | os.PathLike, context: str | None = None,
                allow_contexts: list[str] | tuple[str, ...] = (), service_overrides: dict[str, str] | None = None) -> "Target":
        path = Path(kubeconfig).resolve()
        data = _read_kubeconfig(path)
        names = [c.get("name") for c in data.get("contexts", [])]
        context = context or data.get("current-context")
        if not context or context not in names:
            raise UserError(f"{path}: context {context!r} not in the kubeconfig (has: {', '.join(map(str, names))}); "
                            f"pass one of them with --context")
        sandbox = is_sandbox_context(data, context)
        allowed = set(allow_contexts) | {c.strip() for c in os.environ.get(ALLOW_ENV, "").split(",") if c.strip()}
        if not sandbox and context not in allowed:
            raise UserError(f"{path}: context {context!r} is not on the allowlist; a drill breaks things on purpose, "
                            f"so name it with --allow-context {context} (or {ALLOW_ENV}) if you mean it")
        return cls(path, context, sandbox, dict(service_overrides or {}))

    def user_name(self) -> str:
        """The kubeconfig user of the context (what a refusal names)."""
        data = _read_kubeconfig(self.kubeconfig)
        ctx = next((c for c in data.get("contexts", []) if c.get("name") == self.context), {})
        return str((ctx.get("context") or {}).get("user") or "?")

    # --- API clients ----------------------------------------------------
    def api_client(self):
        """One kubernetes ApiClient per target (not the module-global config:
        several targets may live in one process)."""
        if self._api is None:
            from kubernetes import config
            try:
                self._api = config.new_client_from_config(config_file=str(self.kubeconfig), context=self.context)
            except Exception as exc:  # config errors are the user's kubeconfig
                raise UserError(f"{self.kubeconfig}: cannot use context {self.context!r}: {exc}")
        return self._api

    def core(self):
        from kubernetes import client
        return client.CoreV1Api(self.api_client())

    def apps(self):
        from kubernetes import client
        return client.AppsV1Api(self.api_client())

    def networking(self):
        from kubernetes import client
        return client.NetworkingV1Api(self.api_client())

    def check_reachable(self, timeout: float = 10.0) -> None:
        from kubernetes import client
        try:
            client.VersionApi(self.api_client()).get_code(_request_timeout=timeout)
        except UserError:
            raise
        except Exception as exc:
            raise TargetError(f"target {self.context!r} ({self.kubeconfig.name}) is unreachable: {exc.__class__.__name__}: {str(exc)[:200]}")

    # --- services -------------------------------------------------------
    def service_url(self, name: str, namespace: str, port: int | None = None) -> str:
        """http://HOST:PORT of a Service as seen from outside the cluster: an
        explicit override first, then its load-balancer ingress."""
        key = f"{name}.{namespace}"
        if key in self.service_overrides:
            return self.service_overrides[key].rstrip("/")
        try:
            svc = self.core().read_namespaced_service(name, namespace, _request_timeout=10)
        except Exception as exc:
            raise TargetError(f"service {key} not readable on {self.context!r}: {getattr(exc, 'reason', exc)}")
        for ing in (svc.status.load_balancer.ingress or []) if svc.status and svc.status.load_balancer else []:
            host = ing.ip or ing.hostname
            ports = [p.port for p in (ing.ports or []) if p.port]
            if host:
                if not ports:
                    ports = [p.port for p in svc.spec.ports or [] if port is None or p.port == port] or [port or 80]
                return f"http://{host}:{ports[0]}"
        raise TargetError(f"service {key} has no load-balancer address on {self.context!r}; "
                          f"expose it or pass its URL with --service-url {key}=URL")

    def env(self) -> dict[str, str]:
        """Environment for tools (kubectl, chaos) pointed at this target."""
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        env["KUBERNETES_CONTEXT"] = self.context
        return env

    def kubectl(self, args: list[str], timeout: float = 60.0, input: str | None = None) -> subprocess.CompletedProcess:
        """Run kubectl with this target's kubeconfig and context, as an
        argument list (never through a shell)."""
        exe = shutil.which("kubectl")
        if not exe:
            raise TargetError("kubectl is not on PATH; install it to run this step")
        cmd = [exe, "--kubeconfig", str(self.kubeconfig), "--context", self.context, *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input)

    def helm(self, args: list[str], timeout: float = 60.0) -> subprocess.CompletedProcess:
        """Run helm with this target's kubeconfig and context, as an argument
        list; its cache and config live in a folder of its own for the call."""
        exe = programs.find("helm")
        if not exe:
            raise TargetError("helm is not on PATH; install Helm 3 to run this step")
        with tempfile.TemporaryDirectory(prefix="gameday-helm-") as home:
            return subprocess.run([exe, "--kube-context", self.context, *args], capture_output=True, text=True,
                                  timeout=timeout, env=programs.helm_env(self.kubeconfig, home),
                                  stdin=subprocess.DEVNULL)

    def chaos_configuration(self) -> dict:
        """`configuration` for gameday's Chaos Toolkit providers."""
        return {"kubeconfig_path": str(self.kubeconfig), "kubernetes_context": self.context,
                **({"service_urls": dict(self.service_overrides)} if self.service_overrides else {})}
