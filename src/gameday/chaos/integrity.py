"""Data integrity: every job the API acknowledged with 201 can still be read.
The ids come from the load run (a file with one id per line, written by
`gameday run`); under stock `chaos run` without that file there is nothing
to check and the probe passes with zero checked."""
from __future__ import annotations

import os
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from .kube import service_url


def read_ids(path: str | None) -> list[str]:
    if not path or not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def missing_jobs(base_url: str, ids: list[str], timeout: float = 5.0, retries: int = 3) -> list[str]:
    """Ids the API does not return (404 or error after retries)."""
    def check(job_id: str) -> str | None:
        for _ in range(retries):
            try:
                with urllib.request.urlopen(f"{base_url}/jobs/{job_id}", timeout=timeout) as resp:
                    if resp.status == 200:
                        return None
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    return job_id
            except OSError:
                pass
        return job_id
    with ThreadPoolExecutor(8) as pool:
        return [i for i in pool.map(check, ids) if i is not None]


def acknowledged_jobs_readable(ids_file: str | None = None, service: str = "gaudi3-scale-api", ns: str = "gaudi3-scale",
                               configuration=None, secrets=None) -> bool:
    ids_file = ids_file or (configuration or {}).get("acked_ids_file")
    ids = read_ids(ids_file)
    if not ids:
        return True
    return not missing_jobs(service_url(service, ns, configuration, secrets), ids)
