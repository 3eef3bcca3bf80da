"""When: the operator carries out the runbook's commands."""
from pytest_bdd import parsers, when


@when(parsers.parse('the operator runs "{command}"'))
def operator_runs(gameday_run, command):
    """Run one of the runbook's kubectl command lines against the target (an
    argument list, never a shell). Placeholders like <pod-name> are filled
    from earlier bindings. A non-zero exit fails the step."""
    gameday_run.operator_runs(command)


@when(parsers.parse('the operator carries out "{name}":'))
def operator_carries_out(gameday_run, name, docstring):
    """A runbook step: the kubectl lines of the \"\"\" block below it, run in
    order and timed as one step called `name` (its duration is the SLA
    metric `step:<name>`). Comments and `\\` continuations as in the runbook."""
    gameday_run.carry_out(name, docstring)


@when(parsers.parse('the operator deploys a canary of "{deployment}" in namespace "{namespace}" with {replicas:d} replica'))
@when(parsers.parse('the operator deploys a canary of "{deployment}" in namespace "{namespace}" with {replicas:d} replicas'))
def operator_deploys_canary(gameday_run, deployment, namespace, replicas):
    """The runbook's canary release as Kubernetes does it: a Deployment
    `<deployment>-canary` from the stable pod template, labelled
    version=canary, behind the same Service (traffic by replica share)."""
    gameday_run.deploy_canary(deployment, namespace, replicas)


@when(parsers.parse('the operator sends "{request}" to service "{service}" in namespace "{namespace}"'))
def operator_sends(gameday_run, request, service, namespace, docstring=None):
    """An HTTP request through the Service's external address, e.g.
    'POST /jobs' with the JSON body in a \"\"\" block; it must answer 2xx."""
    gameday_run.send(service, namespace, request, docstring)
