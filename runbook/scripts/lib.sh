# Shared by the runbook's scripts: where a platform Service answers, from the
# Kubernetes API (its LoadBalancer address), unless given in the environment.
# service_url NAME NAMESPACE  ->  http://HOST:PORT
service_url() {
    name=$1 ns=$2
    addr=$(kubectl get service "$name" -n "$ns" -o \
        jsonpath='{.status.loadBalancer.ingress[0].ip}{.status.loadBalancer.ingress[0].hostname} {.status.loadBalancer.ingress[0].ports[0].port} {.spec.ports[0].port}' 2>/dev/null) || return 1
    set -- $addr
    [ -n "${1:-}" ] || return 1
    # A LoadBalancer publishing its own port (the sandbox does), else the Service port.
    echo "http://$1:$2"
}
