"""The API resources the sandbox serves: one declaration each, read by the
API server (routing, discovery), the store and the controllers."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Resource:
    group: str  # "" is the core group
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = field(
        default=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
    )

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def key(self) -> str:
        """Unique name used by the store, e.g. 'apps/deployments' or 'pods'."""
        return f"{self.group}/{self.plural}" if self.group else self.plural


_ALL = ("all",)
RESOURCES: tuple[Resource, ...] = (
    Resource("", "v1", "namespaces", "Namespace", namespaced=False, short_names=("ns",),
             subresources=("status",)),
    Resource("", "v1", "pods", "Pod", short_names=("po",), categories=_ALL,
             subresources=("status", "log", "eviction", "exec", "attach")),
    Resource("", "v1", "configmaps", "ConfigMap", short_names=("cm",)),
    Resource("", "v1", "secrets", "Secret"),
    Resource("", "v1", "services", "Service", short_names=("svc",), categories=_ALL,
             subresources=("status",)),
    Resource("", "v1", "endpoints", "Endpoints", short_names=("ep",)),
    Resource("", "v1", "events", "Event", short_names=("ev",)),
    Resource("", "v1", "nodes", "Node", namespaced=False, short_names=("no",),
             subresources=("status",)),
    Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", short_names=("pvc",),
             subresources=("status",)),
    Resource("", "v1", "persistentvolumes", "PersistentVolume", namespaced=False, short_names=("pv",),
             subresources=("status",)),
    Resource("", "v1", "serviceaccounts", "ServiceAccount", short_names=("sa",), subresources=("token",)),
    Resource("apps", "v1", "deployments", "Deployment", short_names=("deploy",), categories=_ALL,
             subresources=("status", "scale")),
    Resource("apps", "v1", "replicasets", "ReplicaSet", short_names=("rs",), categories=_ALL,
             subresources=("status", "scale")),
    Resource("apps", "v1", "statefulsets", "StatefulSet", short_names=("sts",), categories=_ALL,
             subresources=("status", "scale")),
    Resource("apps", "v1", "daemonsets", "DaemonSet", short_names=("ds",), categories=_ALL,
             subresources=("status",)),
    Resource("apps", "v1", "controllerrevisions", "ControllerRevision"),
    Resource("batch", "v1", "jobs", "Job", categories=_ALL, subresources=("status",)),
    Resource("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler",
             short_names=("hpa",), categories=_ALL, subresources=("status",)),
    Resource("autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler",
             short_names=("hpa",), subresources=("status",)),
    Resource("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", short_names=("netpol",)),
    Resource("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", short_names=("pdb",),
             subresources=("status",)),
    Resource("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    Resource("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False),
    Resource("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding",
             namespaced=False),
    Resource("coordination.k8s.io", "v1", "leases", "Lease"),
    Resource("networking.k8s.io", "v1", "ingresses", "Ingress", short_names=("ing",), subresources=("status",)),
    Resource("networking.k8s.io", "v1", "ingressclasses", "IngressClass", namespaced=False),
    Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
    Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
             namespaced=False, short_names=("crd", "crds"), subresources=("status",)),
    # Reviews: answered, never stored (create only).
    Resource("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview",
             namespaced=False, verbs=("create",)),
    Resource("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview",
             namespaced=False, verbs=("create",)),
    Resource("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview",
             namespaced=False, verbs=("create",)),
    Resource("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview",
             namespaced=False, verbs=("create",)),
)
REVIEW_GROUPS = ("authorization.k8s.io", "authentication.k8s.io")


def lookup(group: str, version: str, plural: str) -> Resource | None:
    for res in RESOURCES:
        if res.group == group and res.version == version and res.plural == plural:
            return res
    return None


def by_kind(api_version: str, kind: str) -> Resource | None:
    """The resource for a manifest's apiVersion and kind."""
    for res in RESOURCES:
        if res.api_version == api_version and res.kind == kind:
            return res
    return None


def storage_key(res: Resource) -> str:
    """Resources served in several versions share one storage (autoscaling v1/v2)."""
    return res.key


def groups() -> dict[str, list[str]]:
    """group name -> its versions, preferred first."""
    out: dict[str, list[str]] = {}
    for res in RESOURCES:
        if res.group and res.version not in out.setdefault(res.group, []):
            out[res.group].append(res.version)
    return out


# Well-known resources the controllers use by name.
POD = lookup("", "v1", "pods")
NODE = lookup("", "v1", "nodes")
NAMESPACE = lookup("", "v1", "namespaces")
SERVICE = lookup("", "v1", "services")
ENDPOINTS = lookup("", "v1", "endpoints")
EVENT = lookup("", "v1", "events")
CONFIGMAP = lookup("", "v1", "configmaps")
SECRET = lookup("", "v1", "secrets")
PVC = lookup("", "v1", "persistentvolumeclaims")
DEPLOYMENT = lookup("apps", "v1", "deployments")
REPLICASET = lookup("apps", "v1", "replicasets")
STATEFULSET = lookup("apps", "v1", "statefulsets")
JOB = lookup("batch", "v1", "jobs")
HPA = lookup("autoscaling", "v2", "horizontalpodautoscalers")
NETWORKPOLICY = lookup("networking.k8s.io", "v1", "networkpolicies")
INGRESS = lookup("networking.k8s.io", "v1", "ingresses")
INGRESSCLASS = lookup("networking.k8s.io", "v1", "ingressclasses")
ENDPOINTSLICE = lookup("discovery.k8s.io", "v1", "endpointslices")
CRD = lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
SERVICEACCOUNT = lookup("", "v1", "serviceaccounts")
ROLE = lookup("rbac.authorization.k8s.io", "v1", "roles")
ROLEBINDING = lookup("rbac.authorization.k8s.io", "v1", "rolebindings")
CLUSTERROLE = lookup("rbac.authorization.k8s.io", "v1", "clusterroles")
CLUSTERROLEBINDING = lookup("rbac.authorization.k8s.io", "v1", "clusterrolebindings")
DAEMONSET = lookup("apps", "v1", "daemonsets")
PDB = lookup("policy", "v1", "poddisruptionbudgets")
LEASE = lookup("coordination.k8s.io", "v1", "leases")
