"""Chaos Toolkit python providers that chaosk8s lacks: faults (actions with
rollbacks) and probes. Each reaches the target through the Kubernetes API,
with the kubeconfig from `configuration` (`kubeconfig_path`,
`kubernetes_context`), `secrets` or KUBECONFIG, so the same experiment runs
under `gameday run` and under stock `chaos run`.

    database      kill the postgres pod, scale its StatefulSet, cut it off
    network       NetworkPolicy that isolates pods (create / delete)
    accelerator   hpu-hog pinned to the trainer's node (start / stop)
    settings      maintenance mode and API latency (ConfigMap keys)
    workload      pods, deployments (image, rollout undo), node drain/uncordon, waits
    alerts        Prometheus / Alertmanager alert state probes
    http          health probes through the Service's external address
    integrity     acknowledged job ids all readable
    faults        the named faults the Drill facade injects, with rollbacks
"""
