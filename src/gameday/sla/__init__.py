"""SLA expressions and the verdict maths: pure functions, no I/O.

    slas = parse_all(["time_to_detect <= 30s", "error_rate <= 5%"], source="x.json")
    results = judge(slas, measure(events))
"""
from .expr import METRICS, Sla, parse, parse_all
from .judge import SlaResult, Verdict, judge, verdict
from .measure import Measurements, measure, percentile_from_hist, training_steps_lost
from .timeline import incident_start, judge_timeline

__all__ = ["METRICS", "Sla", "parse", "parse_all", "SlaResult", "Verdict", "judge", "verdict",
           "Measurements", "measure", "percentile_from_hist", "training_steps_lost", "incident_start", "judge_timeline"]
