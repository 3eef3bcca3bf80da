"""Who is asking, and may they: authentication and RBAC authorization.

Authentication: the sandbox's admin token (the kubeconfig `gameday sandbox
up` writes: group system:masters, never checked further), and ServiceAccount
tokens, signed by this API server (HS256 JWTs): those TokenRequest
(`serviceaccounts/NAME/token`, `kubectl create token`) hands out, with an
expiry, and those the token controller puts in Secrets of type
`kubernetes.io/service-account-token`. A token stops working when its
ServiceAccount (or its Secret) is deleted.

Authorization: RBAC as the real authorizer evaluates it (Role, ClusterRole,
RoleBinding, ClusterRoleBinding; no aggregation), plus what the bootstrap
policy gives every authenticated user (discovery, /version, the
self-reviews). A denial is a 403 with the real message shape."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import logging
import uuid
from dataclasses import dataclass

from .. import resources as R
from ..store import ApiError, Store, now_iso

ADMIN_USER = "gameday-admin"
MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
log = logging.getLogger("gameday.sandbox.apiserver.rbac")
TOKEN_SECRET_TYPE = "kubernetes.io/service-account-token"
ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_TOKEN_SECONDS = 3600
# What the bootstrap ClusterRoles system:discovery, system:public-info-viewer
# and system:basic-user give every authenticated user.
_OPEN_PREFIXES = ("/api", "/apis", "/version", "/openapi", "/healthz", "/livez", "/readyz")
_SELF_REVIEWS = {("authorization.k8s.io", "selfsubjectaccessreviews"), ("authorization.k8s.io",
                 "selfsubjectrulesreviews"), ("authentication.k8s.io", "selfsubjectreviews")}


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""

    @property
    def is_admin(self) -> bool:
        return MASTERS in self.groups

    def info(self) -> dict:
        out: dict = {"username": self.name, "groups": list(self.groups)}
        if self.uid:
            out["uid"] = self.uid
        return out


ADMIN = User(ADMIN_USER, (MASTERS, AUTHENTICATED))


def service_account_user(namespace: str, name: str, uid: str = "") -> User:
    return User(f"system:serviceaccount:{namespace}:{name}",
                ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTHENTICATED), uid)


@dataclass(frozen=True)
class Attributes:
    """What a request does, in RBAC's terms."""
    verb: str
    group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""  # for non-resource requests
    resource_request: bool = True

    @property
    def resource_text(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


# -- tokens -------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Tokens:
    """Signs and checks ServiceAccount tokens (HS256 with this server's key)."""

    def __init__(self, key: bytes | None = None):
        self.key = key or secrets.token_bytes(32)

    def sign(self, claims: dict) -> str:
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
        sig = _b64(hmac.new(self.key, f"{head}.{body}".encode(), hashlib.sha256).digest())
        return f"{head}.{body}.{sig}"

    def verify(self, token: str) -> dict | None:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        want = _b64(hmac.new(self.key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(want, parts[2]):
            return None
        try:
            claims = json.loads(_unb64(parts[1]))
        except ValueError:
            return None
        if not isinstance(claims, dict):
            return None
        exp = claims.get("exp")
        if exp is not None and (not isinstance(exp, (int, float)) or exp < time.time()):
            return None
        return claims

    def for_service_account(self, sa: dict, seconds: int | None, audiences: list[str] | None = None,
                            secret: dict | None = None) -> tuple[str, int | None]:
        meta = sa["metadata"]
        now = int(time.time())
        k8s: dict = {"namespace": meta["namespace"], "serviceaccount": {"name": meta["name"], "uid": meta["uid"]}}
        claims: dict = {"iss": ISSUER, "sub": f"system:serviceaccount:{meta['namespace']}:{meta['name']}",
                        "iat": now, "nbf": now, "jti": str(uuid.uuid4()), "kubernetes.io": k8s,
                        "aud": audiences or [ISSUER]}
        exp = None
        if secret is not None:
            k8s["secret"] = {"name": secret["metadata"]["name"]}
        else:
            exp = now + int(seconds or DEFAULT_TOKEN_SECONDS)
            claims["exp"] = exp
        return self.sign(claims), exp


class Authenticator:
    def __init__(self, store: Store, admin_token: str, tokens: Tokens):
        self.store, self.admin_token, self.tokens = store, admin_token, tokens

    def authenticate(self, header: str) -> User | None:
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            return None
        if hmac.compare_digest(value.encode(), self.admin_token.encode()):
            return ADMIN
        claims = self.tokens.verify(value)
        if claims is None:
            return None
        k8s = claims.get("kubernetes.io") or {}
        sa_ref = k8s.get("serviceaccount") or {}
        ns, name = k8s.get("namespace"), sa_ref.get("name")
        if not isinstance(ns, str) or not isinstance(name, str):
            return None
        sa = self.store.try_get(R.SERVICEACCOUNT, ns, name)
        if sa is None or sa["metadata"].get("uid") != sa_ref.get("uid"):
            return None  # deleted (or deleted and made again): its tokens die with it
        secret_name = (k8s.get("secret") or {}).get("name")
        if secret_name and self.store.try_get(R.SECRET, ns, secret_name) is None:
            return None
        return service_account_user(ns, name, sa["metadata"]["uid"])


# -- RBAC -----------------------------------------------------------------------
def _has(values, want: str) -> bool:
    return "*" in (values or ()) or want in (values or ())


def rule_allows(rule: dict, a: Attributes) -> bool:
    if not isinstance(rule, dict) or not _has(rule.get("verbs"), a.verb):
        return False
    if not a.resource_request:
        return any(u == "*" or u == a.path or (u.endswith("*") and a.path.startswith(u[:-1]))
                   for u in rule.get("nonResourceURLs") or [])
    if not _has(rule.get("apiGroups"), a.group):
        return False
    res = rule.get("resources") or []
    wanted = a.resource_text
    if not ("*" in res or wanted in res or (a.subresource and f"*/{a.subresource}" in res)):
        return False
    names = rule.get("resourceNames") or []
    return not names or (a.name != "" and a.name in names)


def _subject_matches(subject: dict, user: User, binding_ns: str | None) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return name == user.name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or binding_ns
        return user.name == f"system:serviceaccount:{ns}:{name}"
    return False


class Authorizer:
    def __init__(self, store: Store):
        self.store = store

    def rules_for(self, user: User, namespace: str | None) -> list[dict]:
        """The rules that apply to the user in a namespace (cluster-wide ones
        included); namespace None: only the cluster-wide ones."""
        out: list[dict] = []
        for crb in self.store.list(R.CLUSTERROLEBINDING)[0]:
            if any(_subject_matches(s, user, None) for s in crb.get("subjects") or [] if isinstance(s, dict)):
                out += self._role_rules(crb.get("roleRef") or {}, None)
        if namespace:
            for rb in self.store.list(R.ROLEBINDING, namespace)[0]:
                if any(_subject_matches(s, user, namespace) for s in rb.get("subjects") or []
                       if isinstance(s, dict)):
                    out += self._role_rules(rb.get("roleRef") or {}, namespace)
        return out

    def _role_rules(self, ref: dict, namespace: str | None) -> list[dict]:
        if ref.get("kind") == "ClusterRole":
            role = self.store.try_get(R.CLUSTERROLE, None, ref.get("name") or "")
        elif ref.get("kind") == "Role" and namespace:
            role = self.store.try_get(R.ROLE, namespace, ref.get("name") or "")
        else:
            role = None
        return [r for r in (role or {}).get("rules") or [] if isinstance(r, dict)]

    def allowed(self, user: User, a: Attributes) -> bool:
        if user.is_admin:
            return True
        if AUTHENTICATED in user.groups:
            if not a.resource_request and a.verb in ("get", "head") and any(
                    a.path == p or a.path.startswith(p + "/") for p in _OPEN_PREFIXES):
                return True
            if a.resource_request and a.verb == "create" and (a.group, a.resource) in _SELF_REVIEWS:
                return True
        return any(rule_allows(r, a) for r in self.rules_for(user, a.namespace or None))

    def check(self, user: User, a: Attributes) -> None:
        if not self.allowed(user, a):
            err = forbidden(user, a)
            log.info("RBAC denied: %s", err.message)  # the sandbox's audit trail of refusals
            raise err

    def rules_review(self, user: User, namespace: str) -> dict:
        """The status of a SelfSubjectRulesReview (`kubectl auth can-i --list`)."""
        rules = self.rules_for(user, namespace)
        resource_rules = [{k: r[k] for k in ("verbs", "apiGroups", "resources", "resourceNames") if r.get(k)}
                          for r in rules if r.get("resources")]
        non_resource = [{"verbs": r.get("verbs") or [], "nonResourceURLs": r["nonResourceURLs"]}
                        for r in rules if r.get("nonResourceURLs")]
        if user.is_admin:
            resource_rules.insert(0, {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})
            non_resource.insert(0, {"verbs": ["*"], "nonResourceURLs": ["*"]})
        resource_rules.append({"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
                               "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]})
        resource_rules.append({"verbs": ["create"], "apiGroups": ["authentication.k8s.io"],
                               "resources": ["selfsubjectreviews"]})
        non_resource.append({"verbs": ["get"], "nonResourceURLs": [p + "/*" for p in _OPEN_PREFIXES]
                             + list(_OPEN_PREFIXES)})
        return {"resourceRules": resource_rules, "nonResourceRules": non_resource, "incomplete": False}


def forbidden(user: User, a: Attributes) -> ApiError:
    """403 worded as the real API server words it."""
    if not a.resource_request:
        return ApiError(403, "Forbidden", f'forbidden: User "{user.name}" cannot {a.verb} path "{a.path}"')
    what = f'{a.resource} "{a.name}"' if a.name else a.resource
    scope = f'in the namespace "{a.namespace}"' if a.namespace else "at the cluster scope"
    msg = (f'{what} is forbidden: User "{user.name}" cannot {a.verb} resource "{a.resource_text}" in API group '
           f'"{a.group}" {scope}')
    details: dict = {"kind": a.resource}
    if a.group:
        details["group"] = a.group
    if a.name:
        details["name"] = a.name
    return ApiError(403, "Forbidden", msg, details)


def review_attributes(spec: dict) -> Attributes:
    """The Attributes a SubjectAccessReview spec asks about."""
    ra, nra = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if isinstance(ra, dict):
        return Attributes(verb=str(ra.get("verb") or ""), group=str(ra.get("group") or ""),
                          resource=str(ra.get("resource") or ""), subresource=str(ra.get("subresource") or ""),
                          namespace=str(ra.get("namespace") or ""), name=str(ra.get("name") or ""))
    if isinstance(nra, dict):
        return Attributes(verb=str(nra.get("verb") or ""), path=str(nra.get("path") or ""),
                          resource_request=False)
    raise ApiError(422, "Invalid", "SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: spec."
                   "resourceAttributes: Invalid value: \"null\": exactly one of nonResourceAttributes or "
                   "resourceAttributes must be specified", {"group": "authorization.k8s.io",
                                                             "kind": "SelfSubjectAccessReview"})


def token_secret_admission(store: Store, tokens: Tokens, ca_pem: bytes):
    """The token controller's work, done as the Secret is created: a Secret of
    type kubernetes.io/service-account-token naming an existing ServiceAccount
    gets its token, ca.crt and namespace."""
    def plugin(op: str, res, obj: dict, old: dict | None) -> None:
        if res.kind != "Secret" or op != "CREATE" or obj.get("type") != TOKEN_SECRET_TYPE:
            return
        meta = obj["metadata"]
        ann = meta.setdefault("annotations", {})
        sa_name = ann.get("kubernetes.io/service-account.name")
        if not sa_name:
            raise ApiError(422, "Invalid", f'Secret "{meta.get("name", "")}" is invalid: metadata.annotations'
                           '[kubernetes.io/service-account.name]: Required value',
                           {"name": meta.get("name", ""), "kind": "Secret"})
        sa = store.try_get(R.SERVICEACCOUNT, meta.get("namespace"), sa_name)
        if sa is None:
            return  # as the real controller: the Secret waits (and never gets a token here)
        ann["kubernetes.io/service-account.uid"] = sa["metadata"]["uid"]
        token, _ = tokens.for_service_account(sa, None, secret=obj)
        data = obj.setdefault("data", {})
        data["token"] = base64.b64encode(token.encode()).decode()
        data["ca.crt"] = base64.b64encode(ca_pem).decode()
        data["namespace"] = base64.b64encode(str(meta.get("namespace")).encode()).decode()
    return plugin


def token_request(store: Store, tokens: Tokens, namespace: str, name: str, body: dict) -> dict:
    """serviceaccounts/NAME/token: a TokenRequest answered with its token."""
    sa = store.get(R.SERVICEACCOUNT, namespace, name)
    spec = body.get("spec") if isinstance(body.get("spec"), dict) else {}
    seconds = spec.get("expirationSeconds") or DEFAULT_TOKEN_SECONDS
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 600:
        raise ApiError(422, "Invalid", f'TokenRequest.authentication.k8s.io "{name}" is invalid: '
                       f"spec.expirationSeconds: Invalid value: {seconds}: may not specify a duration less than "
                       "10 minutes", {"name": name, "group": "authentication.k8s.io", "kind": "TokenRequest"})
    audiences = spec.get("audiences") if isinstance(spec.get("audiences"), list) else None
    token, exp = tokens.for_service_account(sa, seconds, audiences)
    expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp))
    return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": now_iso()},
            "spec": {"audiences": audiences or [ISSUER], "expirationSeconds": seconds,
                     "boundObjectRef": spec.get("boundObjectRef")},
            "status": {"token": token, "expirationTimestamp": expiry}}


def impersonate(authorizer: Authorizer, user: User, headers) -> User:
    """The user a request acts as: the Impersonate-User / Impersonate-Group
    headers (`kubectl --as=... --as-group=...`), when the requester may
    impersonate them (RBAC verb `impersonate` on users, groups or
    serviceaccounts); otherwise the requester itself."""
    name = headers.get("Impersonate-User") if headers is not None else None
    groups = headers.get_all("Impersonate-Group") if hasattr(headers, "get_all") and name else None
    if not name:
        return user
    prefix = "system:serviceaccount:"
    if name.startswith(prefix) and name.count(":") == 3:
        ns, sa = name[len(prefix):].split(":", 1)
        target = Attributes(verb="impersonate", resource="serviceaccounts", namespace=ns, name=sa)
    else:
        target = Attributes(verb="impersonate", resource="users", name=name)
    authorizer.check(user, target)
    for g in groups or []:
        authorizer.check(user, Attributes(verb="impersonate", resource="groups", name=g))
    if name.startswith(prefix) and name.count(":") == 3:
        ns, sa = name[len(prefix):].split(":", 1)
        base = service_account_user(ns, sa)
        return User(base.name, tuple(dict.fromkeys([*base.groups, *(groups or [])])))
    return User(name, tuple(dict.fromkeys([*(groups or []), AUTHENTICATED])))
