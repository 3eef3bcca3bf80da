"""gunicorn settings of the API image (`gunicorn -c python:gaudi3_scale.api.gunicorn_conf ...`).

- Listens on $GAUDI3_API_HOST:$GAUDI3_API_PORT (the manifest passes the pod IP),
  and on the pod's loopback where the pod has its own (gaudi3_scale.netbind).
- One worker with threads by default ($GAUDI3_API_WORKERS, $GAUDI3_API_THREADS):
  the pod's /metrics then describe every request the pod served; scale out
  with replicas (the HPA), not with workers.
- Access and error logs are files under $GAUDI3_LOG_DIR (/app/logs, an
  emptyDir), which the runbook's log rotation archives and then reopens with
  the runbook's SIGUSR1 to the container's PID 1 (gunicorn's own SIGUSR1: reopen the log files). The error
  log also goes to stderr, so `kubectl logs` shows it.
- SIGTERM drains: for $GAUDI3_API_DRAIN_SECONDS (2) the workers keep
  answering, each response with `Connection: close` so keep-alive clients
  reconnect to another replica; then gunicorn's graceful stop."""
from __future__ import annotations

import logging
import os
import sys
import time

from gunicorn.glogging import Logger

from gaudi3_scale.api import drain
from gaudi3_scale.netbind import listen_hosts

_host = os.environ.get("GAUDI3_API_HOST", "0.0.0.0")
_port = os.environ.get("GAUDI3_API_PORT", "8000")
_logs = os.environ.get("GAUDI3_LOG_DIR", "/app/logs")
os.makedirs(_logs, exist_ok=True)

bind = [f"{h}:{_port}" for h in listen_hosts(_host)]
workers = int(os.environ.get("GAUDI3_API_WORKERS", "1"))
worker_class = "gthread"
threads = int(os.environ.get("GAUDI3_API_THREADS", "16"))
keepalive = 30                    # clients (Locust, proxies) hold connections open
timeout = 60                      # a worker stuck this long is restarted
graceful_timeout = 6              # drain (2) + this < terminationGracePeriodSeconds (10)
accesslog = os.path.join(_logs, "access.log")
errorlog = os.path.join(_logs, "error.log")
loglevel = "info"
proc_name = "gaudi3-scale-api"
DRAIN_SECONDS = float(os.environ.get("GAUDI3_API_DRAIN_SECONDS", "2"))


class ApiLogger(Logger):
    """gunicorn's logger, with the error log also on stderr (the container
    log). reopen_files (SIGUSR1) reopens only the file handlers."""

    def setup(self, cfg):
        super().setup(cfg)
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(logging.Formatter(self.error_fmt, self.datefmt))
        self.error_log.addHandler(stream)
        # The application's loggers (gaudi3_scale.*) write where gunicorn's do.
        app_log = logging.getLogger("gaudi3_scale")
        app_log.setLevel(logging.INFO)
        app_log.handlers = list(self.error_log.handlers)
        app_log.propagate = False


logger_class = ApiLogger


def when_ready(server):
    def handle_term():
        if drain.draining():
            return
        server.log.info("SIGTERM: draining for %.1fs (Connection: close), then shutting down", DRAIN_SECONDS)
        drain.start()
        time.sleep(DRAIN_SECONDS)  # the drain period itself: workers keep serving meanwhile
        raise StopIteration       # gunicorn's graceful stop: requests in flight finish

    server.handle_term = handle_term
    server.log.info("serving on %s, logs in %s", ", ".join(bind), _logs)


def pre_request(worker, req):
    if drain.draining():
        req.must_close = True  # gunicorn then answers `Connection: close` and closes
