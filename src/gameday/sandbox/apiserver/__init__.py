"""The sandbox's Kubernetes API server: HTTPS REST over the Store, for the
kubernetes client, kubectl and chaosk8s, unchanged.

Modules, one noun each:
  server      HTTPS (own CA, bearer token), threads, keep-alive, chunked streams; ApiServer
  dispatch    one request -> one answer (discovery, resources, subresources, metrics)
  routing     URL paths -> Route
  discovery   /version, /api, /apis, APIResourceLists
  handlers    the verbs: get, list, watch, create, update, patch, delete, deletecollection
  shapes      JSON field types (400 before anything else reads a body)
  defaults    defaulting, as the real registry strategies
  validation  field validation with the real wording (422), immutable fields
  patch       merge, strategic merge, JSON patch, apply
  tables      `as=Table` answers (the columns kubectl prints)
  subresources  scale, log, eviction (PodDisruptionBudgets honoured)
  exec_ws     pods/exec and pods/attach over WebSocket (v5/v4/v1 channel.k8s.io)
  authz       authentication (admin token, ServiceAccount tokens) and RBAC; the self-reviews
  crd         CustomResourceDefinitions and the custom resources they serve
  metrics     metrics.k8s.io from the node agent (`kubectl top`)
  namespaces  emptying Terminating namespaces
  protobuf    protobuf bodies kubectl's typed clients send (kubectl create namespace|configmap|
              secret|serviceaccount|job|deployment|service|role|rolebinding|clusterrole|
              clusterrolebinding|ingress|poddisruptionbudget|token, auth can-i|whoami)
  tls, kubeconfig, node_agent (the kubelet's side of the contract)

Every user but the admin (group system:masters) is held to RBAC.
pods/attach streams the container's log from its start, then its exit code;
input is not delivered (the node agent offers no stdin of a running
container) unless the node agent has `attach(ns, pod, container, stdin, tty)`.
Not served: pods/portforward (`kubectl port-forward`), SPDY exec and attach
(kubectl older than 1.30), RBAC aggregation, the
OpenAPI v3 documents (`kubectl explain`), aggregated discovery (kubectl falls
back to the legacy documents), protobuf bodies of other kinds (415 with a
hint to send JSON), field ownership in server-side apply."""
from .node_agent import ContainerUsage, ExecProcess, NodeAgent, NodeUsage, PodUsage, Usage
from .server import ApiServer

__all__ = ["ApiServer", "NodeAgent", "ExecProcess", "Usage", "NodeUsage", "PodUsage", "ContainerUsage"]
