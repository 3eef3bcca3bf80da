"""The sandbox's Ingress controller, end to end: a request with the Ingress
host (SNI and Host header) reaches the backend Service over TLS, with the
certificate of the Ingress's TLS Secret verifying; host and path routing;
the address published in status.loadBalancer; kubectl get/describe."""
from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import ssl
from pathlib import Path

import pytest

from gameday.sandbox.apiserver.tls import ensure_serving_cert
from gameday.sandbox.ingress import Backend, PathRule, host_matches, path_matches, route

from .helpers import WAIT, eventually, kubectl

NS = "sbtest"
HOST = "web.gameday.test"


# -- routing rules: pure ------------------------------------------------------------
def test_path_and_host_matching_follow_the_ingress_spec():
    assert path_matches("Prefix", "/foo", "/foo/bar") and path_matches("Prefix", "/foo/", "/foo")
    assert not path_matches("Prefix", "/foo", "/foobar")
    assert path_matches("Exact", "/foo", "/foo") and not path_matches("Exact", "/foo", "/foo/")
    assert host_matches("*.example.com", "a.example.com") and not host_matches("*.example.com", "a.b.example.com")
    assert not host_matches("*.example.com", "example.com")
    a, b, c, d = (Backend(NS, n, 80) for n in "abcd")
    rules = [PathRule("", "/", "Prefix", a, "x"), PathRule("h.test", "/api", "Prefix", b, "x"),
             PathRule("h.test", "/api/v1", "Prefix", c, "x"), PathRule("h.test", "/api", "Exact", d, "x")]
    assert route(rules, [], "h.test", "/api/v1/x?q=1") == c
    assert route(rules, [], "h.test", "/api") == d
    assert route(rules, [], "h.test", "/apix") == a
    assert route(rules, [], "other.test", "/api") == a
    assert route(rules[1:], [], "other.test", "/api") is None


# -- end to end ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def ingress(bare_sandbox, tmp_path_factory):
    sb = bare_sandbox
    certs = ensure_serving_cert(tmp_path_factory.mktemp("ingress-cert"), (HOST,))
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
              "metadata": {"name": "web-tls", "namespace": NS},
              "data": {"tls.crt": base64.b64encode(Path(certs.cert_file).read_bytes()).decode(),
                       "tls.key": base64.b64encode(Path(certs.key_file).read_bytes()).decode()}}
    ing = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web", "namespace": NS},
           "spec": {"tls": [{"hosts": [HOST], "secretName": "web-tls"}],
                    "rules": [{"host": HOST, "http": {"paths": [
                        {"path": "/", "pathType": "Prefix",
                         "backend": {"service": {"name": "web", "port": {"name": "http"}}}},
                        {"path": "/missing", "pathType": "Exact",
                         "backend": {"service": {"name": "no-such-service", "port": {"number": 80}}}}]}}]}}
    env = dict(os.environ, KUBECONFIG=str(sb.kubeconfig))
    for obj in (secret, ing):
        p = subprocess.run(["kubectl", "apply", "-f", "-"], input=json.dumps(obj), env=env, capture_output=True,
                           text=True, timeout=120)
        assert p.returncode == 0, p.stderr

    def published():
        got = json.loads(kubectl(sb, "get", "ingress", "web", "-n", NS, "-o", "json").stdout)
        lb = (got.get("status") or {}).get("loadBalancer", {}).get("ingress") or []
        return lb and lb[0]["ip"] == "127.0.0.1" and lb[0]["ports"][0]["port"]
    port = eventually(published, what="the Ingress's address in status.loadBalancer")
    try:
        yield sb, port, certs.ca_pem
    finally:
        kubectl(sb, "delete", "ingress", "web", "-n", NS, check=False)
        kubectl(sb, "delete", "secret", "web-tls", "-n", NS, check=False)


def _request(port: int, host: str, path: str, ca_pem: bytes | None, sni: str | None) -> tuple[int, bytes, dict]:
    raw = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    peer = {}
    if ca_pem is not None:
        ctx = ssl.create_default_context(cadata=ca_pem.decode())
        ctx.check_hostname = sni is not None
        conn = ctx.wrap_socket(raw, server_hostname=sni)
        peer = conn.getpeercert()
    else:
        conn = raw
    with conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body, peer


def test_tls_request_with_the_ingress_host_reaches_the_backend(ingress):
    _, port, ca = ingress
    code, body, peer = eventually(lambda: (lambda r: r if r[0] == 200 else None)(_request(port, HOST, "/", ca, HOST)),
                                  what="200 from the web backend through the Ingress")
    assert b"Directory listing" in body  # python -m http.server, the test image's web server
    assert ("DNS", HOST) in peer["subjectAltName"]  # the Secret's certificate, verified against its CA


def test_routing_by_host_and_path_over_plain_http(ingress):
    _, port, _ = ingress
    assert _request(port, HOST, "/", None, None)[0] == 200
    assert _request(port, f"{HOST}:{port}", "/", None, None)[0] == 200  # a Host header with its port
    code, body, _ = _request(port, "other.test", "/", None, None)
    assert code == 404 and b"default backend" in body
    assert _request(port, HOST, "/missing", None, None)[0] == 503


def test_kubectl_get_and_describe_ingress(ingress):
    sb, port, _ = ingress
    got = kubectl(sb, "get", "ingress", "-n", NS).stdout
    assert "web" in got and HOST in got and "127.0.0.1" in got and "80, 443" in got
    described = kubectl(sb, "describe", "ingress", "-n", NS).stdout
    assert "127.0.0.1" in described
    assert "web-tls terminates " + HOST in described
    backend = next(line for line in described.splitlines() if "web:http" in line)
    assert "error" not in backend and ":8080" in backend  # the backend's endpoints, from its EndpointSlices


def test_an_ingress_without_path_type_is_refused(bare_sandbox):
    env = dict(os.environ, KUBECONFIG=str(bare_sandbox.kubeconfig))
    bad = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "bad", "namespace": NS},
           "spec": {"rules": [{"host": HOST, "http": {"paths": [
               {"path": "/", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}
    p = subprocess.run(["kubectl", "apply", "-f", "-"], input=json.dumps(bad), env=env, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode != 0
    assert "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified" in p.stderr


def test_an_ingress_of_another_controllers_class_is_left_alone(ingress):
    sb, port, _ = ingress
    env = dict(os.environ, KUBECONFIG=str(sb.kubeconfig))
    cls = {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "other"},
           "spec": {"controller": "example.com/other-controller"}}
    ing = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "elsewhere", "namespace": NS},
           "spec": {"ingressClassName": "other", "rules": [{"host": "elsewhere.test", "http": {"paths": [
               {"path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}
    # Made after the other: once it answers, the controller has read both.
    probe = json.loads(json.dumps(ing))
    probe["metadata"]["name"] = "probe"
    probe["spec"].pop("ingressClassName")
    probe["spec"]["rules"][0]["host"] = "probe.test"
    for obj in (cls, ing, probe):
        p = subprocess.run(["kubectl", "apply", "-f", "-"], input=json.dumps(obj), env=env, capture_output=True,
                           text=True, timeout=120)
        assert p.returncode == 0, p.stderr
    try:
        eventually(lambda: _request(port, "probe.test", "/", None, None)[0] == 200, what="the probe Ingress served")
        assert _request(port, "elsewhere.test", "/", None, None)[0] == 404
        got = json.loads(kubectl(sb, "get", "ingress", "elsewhere", "-n", NS, "-o", "json").stdout)
        assert not (got.get("status") or {}).get("loadBalancer")
    finally:
        kubectl(sb, "delete", "ingress", "elsewhere", "probe", "-n", NS, check=False)
        kubectl(sb, "delete", "ingressclass", "other", check=False)
