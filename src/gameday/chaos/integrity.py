"""Data integrity: every write the platform acknowledged can still be read
back (`GET /jobs/{id}` answers 200 in the reference project; the request and
the answer come from `load.readback` of gameday.yaml). The ids come from the
load run (a file with one id per line, written by `gameday run`); under
stock `chaos run` without that file there is nothing to check and the probe
passes with zero checked."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from ..httpcheck import request
from .kube import service_url


def read_ids(path: str | None) -> list[str]:
    if not path or not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def missing_writes(base_url: str, ids: list[str], path: str, method: str = "GET", expect: int = 200,
                   timeout: float = 5.0, retries: int = 3) -> list[str]:
    """Ids whose read-back (`path` with `{id}` filled) does not answer `expect`
    (a 404 at once, any other failure after `retries`)."""
    def check(ident: str) -> str | None:
        for _ in range(retries):
            answer = request(method, base_url + path.replace("{id}", ident), timeout=timeout)
            if answer.status == expect:
                return None
            if answer.status == 404:
                return ident
        return ident
    with ThreadPoolExecutor(8) as pool:
        return [i for i in pool.map(check, ids) if i is not None]


def acknowledged_writes_readable(service: str, ns: str, path: str, expect: int = 200, ids_file: str | None = None,
                                 configuration=None, secrets=None) -> bool:
    """Probe: every acknowledged id (from `ids_file`, or the drill's) reads back."""
    ids = read_ids(ids_file or (configuration or {}).get("acked_ids_file"))
    if not ids:
        return True
    return not missing_writes(service_url(service, ns, configuration, secrets), ids, path, expect=expect)
