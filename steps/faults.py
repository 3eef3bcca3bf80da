"""When: a fault breaks the platform the way the incident starts."""
from pytest_bdd import parsers, when


@when(parsers.parse('the fault "{fault}" is injected'))
def fault_is_injected(gameday_run, fault, datatable=None):
    """Inject a named fault of the drill engine (`gameday.chaos` faults) and
    register its rollback, which runs when the scenario ends whatever
    happened. Optional parameters as a table: | parameter | value |."""
    gameday_run.inject(fault, gameday_run.params_from_table(datatable))


@when(parsers.parse('pods labelled "{selector}" in namespace "{namespace}" are killed'))
def pods_are_killed(gameday_run, selector, namespace):
    """Inject the fault kind `pod-kill` inline: every running pod with these
    labels is deleted with no grace (a crash); their controller replaces them."""
    gameday_run.kill_pods(selector, namespace)


@when(parsers.parse('the service "{service}" is slowed by {ms:d}ms'))
def service_is_slowed(gameday_run, service, ms):
    """Inject the fault kind `network-delay` inline on a service of
    gameday.yaml (`services:`); rolled back when the scenario ends."""
    gameday_run.slow_service(service, ms)
