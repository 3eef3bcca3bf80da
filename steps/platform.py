"""Given: the platform's state before anything breaks."""
from pytest_bdd import given, parsers


@given("the platform is at steady state")
def platform_at_steady_state(gameday_run):
    """Wait (bounded) until the drill's steady-state checks hold: the API
    healthy and ready, no alert firing. No load is started."""
    gameday_run.steady_state(users=0)


@given(parsers.parse("the platform is at steady state under a load of {users:d} users"))
def platform_at_steady_state_under_load(gameday_run, users):
    """Start Locust with `users` users against the API (its own processes,
    one sample a second on the timeline), then wait for the steady state."""
    gameday_run.steady_state(users=users)


@given(parsers.parse('"{placeholder}" names a {kind:w} labelled "{selector}" in namespace "{namespace}"'))
def placeholder_names_object(gameday_run, placeholder, kind, selector, namespace):
    """Bind a runbook placeholder such as <pod-name> to a pod or job with
    these labels. It is resolved each time a command uses it, preferring the
    one in trouble (not ready, failed), so it still names the right pod after
    a fault replaced it."""
    gameday_run.bind(placeholder, kind, selector, namespace)


@given(parsers.parse('"{placeholder}" names a node'))
def placeholder_names_node(gameday_run, placeholder):
    """Bind a runbook placeholder such as <node-name> to a node of the target:
    when a command uses it, the one in trouble first (cordoned or not Ready)."""
    gameday_run.bind(placeholder, "node")


@given(parsers.parse('the steady state includes {kind:w} "{name}" in namespace "{namespace}"'))
def steady_state_includes(gameday_run, kind, name, namespace):
    """Add a deployment or statefulset to the steady state (by default the
    API, the database and the API's /health/ready): recovery then also waits
    for it to be fully ready."""
    gameday_run.require({kind: name, "ns": namespace})


@given(parsers.parse('the steady state requires "{path}" of service "{service}" in namespace "{namespace}" to answer within {ms:d}ms'))
def steady_state_requires_latency(gameday_run, path, service, namespace, ms):
    """Add an HTTP check with a latency bound to the steady state, so that
    recovery from a slowdown means answers are fast again. Put it before
    'the platform is at steady state'."""
    gameday_run.require({"http": {"service": service, "ns": namespace, "path": path, "max_latency_ms": ms}})


@given(parsers.parse('the alert "{alert}" is not firing'))
def alert_is_not_firing(gameday_run, alert):
    """Wait (bounded) until the alert is quiet before the fault, so that the
    drill's own fault is what makes it fire (an alert still firing from an
    earlier incident would hide the detection). Recovery does not wait for it."""
    gameday_run.await_alert_quiet(alert)


@given(parsers.parse('pods labelled "{selector}" in namespace "{namespace}" have their own PID namespace'))
def pods_have_their_own_pid_namespace(gameday_run, selector, namespace):
    """Before any runbook line signals PID 1 (`kill -USR1 1`): reads
    /proc/1/cmdline in each such pod through `kubectl exec` and requires the
    container's entrypoint there, not this machine's init; the scenario is
    skipped otherwise, so nothing outside the pod is ever signalled."""
    gameday_run.require_own_pid_namespace(selector, namespace)


@given(parsers.parse('the runbook\'s "{heading}" has a time box of {value}'))
def runbook_step_time_box(gameday_run, heading, value):
    """A game day's own time box for a runbook procedure a person carries
    out (`0-10 minutes`), instead of the one its heading states; judged as
    `phase:<step>`."""
    gameday_run.set_timebox(heading, value)
