"""JUnit XML view of a verdict: one test case per SLA, the measured figures
in properties and system-out (CI dashboards show them)."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ..sla import Verdict


def _fmt(value) -> str:
    if value is None:
        return "not measured"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def junit_tree(suite: str, verdict: Verdict, timeline: str | None = None) -> ET.ElementTree:
    m = verdict.measurements
    failures = sum(1 for r in verdict.results if not r.passed or verdict.not_run or verdict.aborted)
    root = ET.Element("testsuites")
    ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(verdict.results)), failures=str(failures),
                       errors="0", skipped="0")
    props = ET.SubElement(ts, "properties")
    figures = {k: v for k, v in m.as_dict().items()}
    for key, value in figures.items():
        ET.SubElement(props, "property", name=key, value=_fmt(value))
    if timeline:
        ET.SubElement(props, "property", name="timeline", value=timeline)
    summary = "\n".join(f"{k} = {_fmt(v)}" for k, v in figures.items())
    for r in verdict.results:
        tc = ET.SubElement(ts, "testcase", classname=f"gameday.{suite}", name=r.sla.text, time="0")
        tprops = ET.SubElement(tc, "properties")
        ET.SubElement(tprops, "property", name="metric", value=r.sla.metric)
        ET.SubElement(tprops, "property", name="limit", value=r.sla.limit_text)
        ET.SubElement(tprops, "property", name="measured", value=r.measured_text)
        ET.SubElement(tprops, "property", name="measured_base_unit", value=_fmt(r.measured))
        if verdict.not_run:
            ET.SubElement(tc, "failure", message=f"not run: {verdict.not_run}", type="NotRun")
        elif verdict.aborted:
            ET.SubElement(tc, "failure", message=f"aborted: {verdict.aborted}", type="Aborted")
        elif not r.passed:
            ET.SubElement(tc, "failure", message=f"{r.sla.text}: {r.reason}", type="SlaMissed").text = \
                f"measured {r.measured_text}, limit {r.sla.limit_text}"
        out = ET.SubElement(tc, "system-out")
        out.text = f"{r.sla.metric}: measured {r.measured_text}, limit {r.sla.limit_text}\n{summary}\n"
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(path: str | Path, suite: str, verdict: Verdict, timeline: str | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    junit_tree(suite, verdict, timeline).write(path, encoding="utf-8", xml_declaration=True)
    return path
