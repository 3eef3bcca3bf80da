"""Where a platform process listens: the pod's address (what the manifests
pass, so several sandbox pods can share one host's network), plus the pod's
own loopback when the pod has a network of its own, so `curl
http://localhost:PORT/...` run in the pod (the runbook's checks) reaches it,
as a container listening on every address would answer."""
from __future__ import annotations

import ipaddress
import os

# "true"/"false" force the loopback listener on or off (a sandbox whose pods
# have their own network namespace but loopback pod addresses sets "true").
LOOPBACK_ENV = "GAUDI3_LISTEN_LOOPBACK"


def listen_hosts(host: str) -> list[str]:
    forced = os.environ.get(LOOPBACK_ENV, "auto").strip().lower()
    if host in ("", "0.0.0.0", "::"):
        return [host or "0.0.0.0"]
    if forced in ("true", "1", "yes"):
        return [host] if host == "127.0.0.1" else [host, "127.0.0.1"]
    if forced in ("false", "0", "no"):
        return [host]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return [host]
    # A loopback pod address means the pod shares the host's loopback (the
    # sandbox without network namespaces): 127.0.0.1 there is not the pod's.
    if ip.is_loopback:
        return [host]
    return [host, "127.0.0.1"]
