"""The values passed between the HTTP layer and the verb handlers."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

from ..store import ApiError


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]  # case-insensitive (email.message.Message)
    body: bytes = b""

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name, default) or default

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("true", "1")


@dataclass
class Response:
    code: int
    body: bytes
    content_type: str = "application/json"


@dataclass
class Stream:
    """A chunked answer (watch, log follow). The iterator yields bytes to send,
    or None when idle, so the server can notice a client that went away."""
    code: int
    chunks: Iterator[bytes | None]
    content_type: str = "application/json"
    close: Callable[[], None] = lambda: None


@dataclass
class Upgrade:
    """A WebSocket upgrade: the server answers 101 and hands over the socket."""
    protocol: str
    accept_key: str
    run: Callable[[Any, Any], None]  # (rfile, wfile)
    extra_headers: dict[str, str] = field(default_factory=dict)


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def json_response(code: int, obj: Any) -> Response:
    return Response(code, dumps(obj))


def error_response(err: ApiError) -> Response:
    return Response(err.code, dumps(err.status()))


def success_status(code: int = 200, details: dict | None = None) -> dict:
    out: dict = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": code}
    if details:
        out["details"] = details
    return out
