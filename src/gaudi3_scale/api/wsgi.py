"""The API as a WSGI application (Flask), served by gunicorn
(`gunicorn -c python:gaudi3_scale.api.gunicorn_conf gaudi3_scale.api.wsgi:app`).

Loaded in each gunicorn worker after the fork, so the database monitor's
thread runs in the process that serves."""
from __future__ import annotations

import json
import logging
import os
import time
from http import HTTPStatus

from flask import Flask, Response as FlaskResponse, request
from prometheus_client import CollectorRegistry, ProcessCollector, disable_created_metrics

from ..db import Database
from ..dbmonitor import DatabaseMonitor
from ..liveconfig import LiveConfig
from . import drain
from .app import Api, Response
from .routes import MAX_BODY, UNSLOWED, Metrics, dispatch, route_of

log = logging.getLogger("gaudi3_scale.api")
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


def create_app(database_url: str, config_dir: str | None = None, trainer_url: str | None = None,
               default_steps: int = 60, start_monitor: bool = True) -> Flask:
    disable_created_metrics()  # fewer series for a 1 s scrape
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    db = Database(database_url)
    monitor = DatabaseMonitor(db, registry, manage_schema=True)
    api = Api(db=db, monitor=monitor, config=LiveConfig(config_dir), trainer_url=trainer_url, default_steps=default_steps)
    metrics = Metrics(registry)
    if start_monitor:
        monitor.start()

    app = Flask("gaudi3_scale.api")
    app.config["MAX_CONTENT_LENGTH"] = None  # the 413 below answers in the API's JSON shape

    @app.route("/", defaults={"path": ""}, methods=METHODS)
    @app.route("/<path:path>", methods=METHODS)
    def serve(path: str):
        start = time.monotonic()
        url_path = "/" + path
        route = route_of(url_path)
        try:
            if (request.content_length or 0) > MAX_BODY:
                response = Response(413, {"error": "too_large", "message": f"body over {MAX_BODY} bytes"})
            else:
                delay = api.config.number("api_latency_ms") / 1000.0
                metrics.injected.set(delay)
                if delay > 0 and route not in UNSLOWED:
                    time.sleep(min(delay, 60.0))
                query = {k: request.args.getlist(k) for k in request.args}
                response = dispatch(api, metrics, registry, request.method, url_path, query, request.get_data())
        except Exception:  # a bug answers 500 and is logged; the worker keeps serving
            log.exception("error handling %s %s", request.method, request.full_path)
            response = Response(500, {"error": "internal", "message": "internal error, see the API logs"})
        metrics.requests.labels(request.method, route, str(response.status)).inc()
        metrics.duration.labels(request.method, route).observe(time.monotonic() - start)
        return to_flask(response)

    app.extensions["gaudi3_scale"] = {"api": api, "monitor": monitor}
    return app


def to_flask(response: Response) -> FlaskResponse:
    payload = response.body if isinstance(response.body, bytes) else json.dumps(response.body).encode()
    out = FlaskResponse(payload, status=f"{response.status} {HTTPStatus(response.status).phrase}",
                        content_type=response.content_type, headers=response.headers)
    if drain.draining():
        # Keep-alive clients reconnect (to another replica) instead of
        # finding their connection gone when this process exits.
        out.headers["Connection"] = "close"
    return out


def from_env() -> Flask:
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("gaudi3-scale-api: error: $DATABASE_URL is not set; point it at PostgreSQL "
                         "(postgresql://user:pass@host:5432/db)")
    return create_app(url, os.environ.get("GAUDI3_CONFIG_DIR"), os.environ.get("TRAINER_URL"),
                      int(os.environ.get("GAUDI3_DEFAULT_JOB_STEPS", "60")))


def __getattr__(name: str):
    # `gaudi3_scale.api.wsgi:app` for gunicorn, built on first access (in the worker).
    if name == "app":
        globals()["app"] = from_env()
        return globals()["app"]
    raise AttributeError(name)
