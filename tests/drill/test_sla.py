"""SLA parsing and the verdict maths (pure, no sandbox)."""
import pytest

from gameday.errors import UserError
from gameday.sla import judge, measure, parse, parse_all, percentile_from_hist, training_steps_lost
from gameday.timeline import make


def ev(kind, t, **data):
    return make(kind, t, **data)


def sample(t, requests, failures, hist=None, p95=10.0):
    return ev("load_sample", t, rps=float(requests), requests=requests, failures=failures, p50_ms=5.0,
              p95_ms=p95, p99_ms=p95, users=10, **({"hist": hist} if hist is not None else {}))


@pytest.mark.parametrize("text,metric,op,limit", [
    ("time_to_detect <= 30s", "time_to_detect", "<=", 30.0),
    ("time_to_recover<=90s", "time_to_recover", "<=", 90.0),
    ("error_rate <= 5%", "error_rate", "<=", 0.05),
    ("error_rate < 0.1", "error_rate", "<", 0.1),
    ("p95_latency <= 800ms", "p95_latency", "<=", 0.8),
    ("p99_latency <= 2m", "p99_latency", "<=", 120.0),
    ("lost_writes == 0", "lost_writes", "==", 0.0),
    ("step:restart-api <= 60s", "step:restart-api", "<=", 60.0),
    ("training_steps_lost <= 50", "training_steps_lost", "<=", 50.0),
])
def test_parse(text, metric, op, limit):
    sla = parse(text)
    assert (sla.metric, sla.op) == (metric, op)
    assert sla.limit == pytest.approx(limit)


@pytest.mark.parametrize("text,fragment", [
    ("time_to_recover <= 90", "needs a time unit"),
    ("time_to_recover 90s", "is not 'METRIC OP LIMIT'"),
    ("uptime >= 99%", "unknown metric 'uptime'"),
    ("error_rate <= 5", "fraction"),
    ("lost_writes == 0s", "is a count"),
    ("lost_writes == 0.5", "whole number"),
    ("", "is not 'METRIC OP LIMIT'"),
])
def test_malformed_sla_is_one_line_naming_the_file(text, fragment):
    with pytest.raises(UserError) as err:
        parse(text, "experiments/x.json")
    assert err.value.message.startswith("experiments/x.json: ")
    assert fragment in err.value.message
    assert "\n" not in err.value.message


def test_parse_all_needs_a_list():
    with pytest.raises(UserError):
        parse_all("time_to_recover <= 90s", "f.json")


def test_measure_and_judge_a_passing_drill():
    events = [
        ev("drill_started", 100.0, drill="d", detection_alert="ApiDown"),
        sample(100.5, 10, 0),
        ev("fault_injected", 101.0, fault="kill-all-api-pods"),
        ev("alert_firing", 104.0, alert="SomethingElse"),
        ev("alert_firing", 108.5, alert="ApiDown"),
        ev("step_started", 110.0, step="restart-api"),
        ev("step_finished", 111.25, step="restart-api", ok=True),
        sample(102.0, 10, 5, {"10": 5, "900": 5}),
        sample(103.0, 10, 0, {"10": 9, "20": 1}),
        ev("steady_state_restored", 125.0, since=120.0),
        sample(130.0, 100, 100),  # after the window: not counted
        ev("writes_verified", 131.0, checked=20, missing=[]),
    ]
    m = measure(events)
    assert m.time_to_detect == pytest.approx(7.5)  # the expected alert, not the first one
    assert m.time_to_recover == pytest.approx(19.0)
    assert m.steps == {"restart-api": pytest.approx(1.25)}
    assert m.requests == 20 and m.failures == 5
    assert m.error_rate == pytest.approx(0.25)
    assert m.p95_latency == pytest.approx(0.9)
    assert m.p50_latency == pytest.approx(0.01)
    assert m.lost_writes == 0
    results = judge(parse_all(["time_to_detect <= 30s", "time_to_recover <= 20s", "step:restart-api <= 2s",
                               "error_rate <= 30%", "lost_writes == 0"]), m)
    assert [r.passed for r in results] == [True, True, True, True, True]


def test_verdicts_that_fail_carry_the_measured_value():
    events = [ev("fault_injected", 0.0, fault="f"), ev("steady_state_restored", 95.0, since=92.5),
              sample(1.0, 10, 3), ev("writes_verified", 96.0, checked=3, missing=["7"])]
    results = judge(parse_all(["time_to_recover <= 90s", "error_rate <= 5%", "lost_writes == 0"]), measure(events))
    assert [r.passed for r in results] == [False, False, False]
    assert results[0].measured == pytest.approx(92.5)
    assert "92.50s" in results[0].reason
    assert results[1].measured_text == "30.00%"
    assert results[2].measured == 1


def test_no_alert_ever_is_a_failure_not_a_pass():
    events = [ev("fault_injected", 0.0, fault="f"), ev("steady_state_restored", 5.0, since=4.0)]
    [r] = judge([parse("time_to_detect <= 30s")], measure(events))
    assert not r.passed and r.measured is None
    assert "no alert" in r.reason


def test_alert_already_firing_before_the_fault_does_not_count():
    events = [ev("alert_firing", 1.0, alert="ApiDown"), ev("fault_injected", 2.0, fault="f")]
    assert measure(events, "ApiDown").time_to_detect is None


def test_never_restored_and_no_fault():
    m = measure([ev("fault_injected", 0.0, fault="f"), sample(1.0, 5, 5)])
    assert m.time_to_recover is None and m.error_rate == 1.0
    empty = measure([ev("drill_started", 0.0, drill="d")])
    assert empty.fault_at is None
    assert all(not r.passed for r in judge(parse_all(["time_to_recover <= 1m", "lost_writes == 0"]), empty))


def test_error_rate_without_load_is_not_measured():
    [r] = judge([parse("error_rate <= 5%")], measure([ev("fault_injected", 0.0, fault="f")]))
    assert not r.passed and r.measured is None


def test_step_that_raised_has_no_duration():
    events = [ev("fault_injected", 0.0, fault="f"), ev("step_started", 1.0, step="s"),
              ev("step_finished", 2.0, step="s", ok=False, error="boom")]
    [r] = judge([parse("step:s <= 10s")], measure(events))
    assert not r.passed and "did not complete" in r.reason


def test_percentiles_and_training_progress():
    assert percentile_from_hist({10: 95, 1000: 5}, 0.95) == 10
    assert percentile_from_hist({10: 94, 1000: 6}, 0.95) == 1000
    assert percentile_from_hist({}, 0.5) is None
    assert training_steps_lost([0, 10, 20, 30, 20, 25, 40]) == 10
    assert training_steps_lost([5, 5, 6]) == 0
    events = [ev("fault_injected", 0.0, fault="f")] + [ev("training_progress", float(i + 1), step=s)
                                                       for i, s in enumerate([100, 150, 100, 120])]
    [r] = judge([parse("training_steps_lost <= 40")], measure(events))
    assert r.measured == 50 and not r.passed


def test_equality_and_strict_bounds():
    assert parse("lost_writes == 0").holds(0) and not parse("lost_writes == 0").holds(1)
    assert not parse("time_to_recover < 90s").holds(90.0)
    assert parse("time_to_recover <= 90s").holds(90.0)


def test_a_drill_of_runbook_steps_without_a_fault_opens_the_window_at_the_first_step():
    events = [ev("steady_state_met", 0.0), ev("step_started", 1.0, step="scale-api"),
              ev("step_finished", 1.5, step="scale-api", ok=True), sample(2.0, 10, 0),
              ev("steady_state_restored", 9.0, since=6.0)]
    m = measure(events)
    assert m.time_to_recover == pytest.approx(5.0) and m.steps["scale-api"] == pytest.approx(0.5)
    assert m.error_rate == 0.0


def test_judge_timeline_says_why_a_drill_did_not_run():
    from gameday.sla import judge_timeline
    slas = parse_all(["time_to_recover <= 90s"])
    not_run = judge_timeline([ev("steady_state_failed", 1.0, reason="deployment x: 1/2 pods ready", phase="before")], slas)
    assert not not_run.passed and "1/2 pods ready" in not_run.not_run
    ran = judge_timeline([ev("steady_state_met", 0.0), ev("fault_injected", 1.0, fault="f"),
                          ev("steady_state_failed", 50.0, reason="x", phase="after")], slas)
    assert ran.not_run is None and not ran.passed


def test_the_verdict_says_the_last_swallowed_error_when_the_drill_did_not_count():
    from gameday.sla import judge_timeline
    slas = parse_all(["time_to_recover <= 60s"], "t")
    v = judge_timeline([ev("steady_state_failed", 1.0, reason="http:api -> 0", phase="before")], slas,
                       last_error="AlertWatcher: URLError: connection refused")
    assert not v.passed and "last error: AlertWatcher: URLError" in v.not_run


def test_planned_work_opens_the_window_at_its_first_step():
    from gameday.sla import incident_start, judge_timeline
    events = [ev("steady_state_met", 0.0), ev("step_started", 2.0, step="scale"), ev("step_finished", 5.0, step="scale", ok=True)]
    assert incident_start(events).t == 2.0
    v = judge_timeline(events, parse_all(["step:scale <= 10s"], "t"))
    assert v.passed and v.measurements.steps["scale"] == 3.0
