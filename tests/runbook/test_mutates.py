"""Which runbook lines change the target (gameday.runbook.check.mutates):
helm lines that install, change, test or remove a release do; helm lines
that only read do not. Pure."""
import pytest

from gameday.runbook.check import mutates
from gameday.runbook.parse import split_block


def unit(text):
    (u,) = [u for u in split_block(text + "\n") if u.kind == "command"]
    return u


@pytest.mark.parametrize("line", [
    "helm upgrade gaudi3-scale ./deployment/helm/gaudi3-scale -n gaudi3-scale --wait",
    "helm upgrade --install web ./chart --namespace shop --set image.tag=2",
    "helm install web ./chart",
    "helm rollback gaudi3-scale -n gaudi3-scale",
    "helm rollback gaudi3-scale 2",
    "helm test gaudi3-scale -n gaudi3-scale-staging",
    "helm uninstall web",
    "helm history web | tail -1 && helm rollback web",
    'echo "rolled back: $(helm rollback web -n shop)"',
])
def test_helm_lines_that_change_a_release_mutate(line):
    assert mutates(unit(line))


@pytest.mark.parametrize("line", [
    "helm list -n gaudi3-scale",
    "helm -n prod list",                       # a global flag's value is not the subcommand
    "helm --namespace prod history web",
    "helm ls --all-namespaces",
    "helm history gaudi3-scale -n gaudi3-scale",
    "helm get values gaudi3-scale -n gaudi3-scale",
    "helm status web",
    "helm template web ./chart | grep kind:",
    "helm list -n shop | grep web || echo 'no release'",
    "kubectl get pods -n shop",
])
def test_helm_lines_that_only_read_do_not(line):
    assert not mutates(unit(line))
