"""Then: what must be true, measured on the target and the timeline."""
from pytest_bdd import parsers, then


@then(parsers.parse('the alert "{alert}" fires within {seconds:d}s'))
def alert_fires(gameday_run, alert, seconds):
    """Wait until the alert fires in Alertmanager/Prometheus (detection),
    at most `seconds` after the fault."""
    gameday_run.expect_alert(alert, seconds)


@then(parsers.parse("the platform recovers within {seconds:d}s"))
def platform_recovers(gameday_run, seconds):
    """Wait until the steady state holds again (for the settle window), at
    most `seconds`; the miss names the scenario's SLAs it breaks."""
    gameday_run.expect_recovered(seconds)


@then("the SLA is met:")
def sla_is_met(gameday_run, datatable):
    """Judge the scenario's timeline against the table | metric | limit |
    (time_to_detect, time_to_recover, step:<name>, error_rate, p95_latency,
    p99_latency, lost_writes, training_steps_lost)."""
    gameday_run.check_slas(gameday_run.slas_from_table(datatable))


@then(parsers.parse('the output shows "{text}"'))
def output_shows(gameday_run, text):
    """The last command (or the last runbook step's commands) printed `text`."""
    gameday_run.expect_output(text)


@then(parsers.parse('deployment "{deployment}" in namespace "{namespace}" has {replicas:d} ready replicas within {seconds:d}s'))
def deployment_ready(gameday_run, deployment, namespace, replicas, seconds):
    """Wait until the Deployment reports exactly `replicas` ready replicas."""
    gameday_run.expect_ready_replicas(deployment, namespace, replicas, seconds)


@then(parsers.parse('pods labelled "{selector}" in namespace "{namespace}" are {phase:w} within {seconds:d}s'))
def pods_in_phase(gameday_run, selector, namespace, phase, seconds):
    """Wait until every pod with these labels is in `phase` (Pending, Running...)."""
    gameday_run.expect_pods_phase(selector, namespace, phase, seconds)


@then(parsers.parse('a pod labelled "{selector}" in namespace "{namespace}" is {state:w} within {seconds:d}s'))
def a_pod_is_in_state(gameday_run, selector, namespace, state, seconds):
    """Wait until some pod with these labels is in `state`: a phase
    (Pending), a container's waiting reason (CrashLoopBackOff) or its last
    termination reason (OOMKilled, Error). How an operator sees a failure
    that raises no alert."""
    gameday_run.expect_pod_state(selector, namespace, state, seconds)


@then(parsers.parse('the service "{service}" in namespace "{namespace}" answers {status:d} to "{request}" within {seconds:d}s'))
def service_answers_within(gameday_run, service, namespace, status, request, seconds, docstring=None):
    """Ask the Service (through its external address) until it answers
    `status`, at most `seconds`. `request` is 'PATH' or 'METHOD PATH'; a
    \"\"\" block is the request body."""
    gameday_run.expect_http(service, namespace, status, request, seconds, docstring)


@then(parsers.parse('the service "{service}" in namespace "{namespace}" answers {status:d} to "{request}"'))
def service_answers(gameday_run, service, namespace, status, request, docstring=None):
    """Ask the Service once (through its external address); it must answer
    `status`. `request` is 'PATH' or 'METHOD PATH'."""
    gameday_run.expect_http(service, namespace, status, request, 0, docstring)


@then(parsers.parse("training progresses within {seconds:d}s"))
def training_progresses(gameday_run, seconds):
    """Wait until the trainer's step counter (its /metrics, watched by the
    drill) moves after the last runbook step: a job is running, or was
    resumed after a restart."""
    gameday_run.expect_training_progress(seconds)


@then(parsers.parse('the last answer shows "{text}"'))
def answer_shows(gameday_run, text):
    """The body of the last HTTP answer contains `text`."""
    gameday_run.expect_answer_shows(text)
