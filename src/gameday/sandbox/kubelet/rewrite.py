"""What stands in for container isolation where there is none (the sandbox
not running as root, or bwrap missing: see podnet.isolation_available; an
isolated pod has its volumes at their mountPath, cluster names in its
/etc/hosts and its own loopback, and nothing is rewritten). Without mount or
network namespaces the kubelet rewrites the strings a container sees
(command, args, env values, the files of configMap/secret volumes):

- each volume's mountPath (and each image directory) -> its host directory;
- NAME.NS.svc.cluster.local / NAME.NS.svc -> the Service's cluster IP (the
  sandbox's cluster DNS);
- localhost / 127.0.0.1 / 0.0.0.0 -> the pod's own IP (a pod's loopback and
  "every address" are its own network namespace in Kubernetes).

Pure functions."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

_SVC_RE = re.compile(r"(?<![\w.-])([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)"
                     r"\.svc(?:\.cluster\.local)?\.?(?![\w-])")
_LOCAL_RE = re.compile(r"(?<![\w.-])(localhost|127\.0\.0\.1|0\.0\.0\.0)(?![\w-]|\.\d)")
_VAR_RE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


@dataclass
class Rewriter:
    mounts: dict[str, str] = field(default_factory=dict)  # container path -> host path
    service_ip: Callable[[str, str], str | None] = lambda name, ns: None
    pod_ip: str = ""
    _mount_re: re.Pattern | None = None

    def __post_init__(self) -> None:
        paths = sorted((p.rstrip("/") or "/" for p in self.mounts if p and p != "/"), key=len, reverse=True)
        self._targets = {p.rstrip("/"): h for p, h in self.mounts.items()}
        if paths:
            self._mount_re = re.compile(r"(?<![\w.-])(" + "|".join(re.escape(p) for p in paths) +
                                        r")(?=$|[/\s\"',:;=)\]}>|])")

    def __call__(self, text: str) -> str:
        if not isinstance(text, str) or not text:
            return text
        if self._mount_re is not None:
            text = self._mount_re.sub(lambda m: self._targets[m.group(1)], text)

        def svc(m: re.Match) -> str:
            ip = self.service_ip(m.group(1), m.group(2))
            return ip if ip else m.group(0)
        text = _SVC_RE.sub(svc, text)
        if self.pod_ip:
            text = _LOCAL_RE.sub(self.pod_ip, text)
        return text


def expand_vars(text: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: defined variables are replaced, unknown
    ones left as written, $$ is a literal $."""
    def sub(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1)
        return env[name] if name in env else m.group(0)
    return _VAR_RE.sub(sub, text)
