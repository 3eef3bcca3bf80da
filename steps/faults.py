"""When: a fault breaks the platform the way the incident starts."""
from pytest_bdd import parsers, when


@when(parsers.parse('the fault "{fault}" is injected'))
def fault_is_injected(gameday_run, fault, datatable=None):
    """Inject a named fault of the drill engine (`gameday.chaos` faults) and
    register its rollback, which runs when the scenario ends whatever
    happened. Optional parameters as a table: | parameter | value |."""
    gameday_run.inject(fault, gameday_run.params_from_table(datatable))
