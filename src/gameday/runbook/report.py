"""Views of a check: a table per procedure, JUnit (one test case per runbook
line), JSON for the HTML report, and findings written like bug reports."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from .check import CheckResult

SYMBOL = {"passed": "ok", "failed": "FAIL", "needs": "needs", "manual": "manual", "interactive": "interactive",
          "skipped": "skipped", "not reached": "not reached", "unmet": "unmet"}


def table(result: CheckResult) -> str:
    out = [f"Runbook check: {result.runbook} on {result.target} ({result.duration_s:.1f}s)"]
    for p in result.procedures:
        out.append(f"\n{p.title}  [{p.slug}]  {p.duration_s:.1f}s" + (f"  restored: {', '.join(p.restored)}" if p.restored else ""))
        for l in p.lines:
            first = l.text.splitlines()[0] if l.text else ""
            more = " ..." if "\n" in l.text else ""
            out.append(f"  {l.line:>4}  {SYMBOL.get(l.verdict, l.verdict):<11} {first[:70]}{more}")
            if l.reason and l.verdict != "passed":
                out.append(f"        {'':<11} {l.reason[:160]}")
            if l.correction:
                out.append(f"        {'':<11} corrected line ({l.correction_verdict}): {l.correction.splitlines()[0][:120]}")
    out.append("\n" + totals_line(result))
    return "\n".join(out)


def totals(result: CheckResult) -> dict[str, int]:
    counts: dict[str, int] = {}
    for l in result.lines:
        counts[l.verdict] = counts.get(l.verdict, 0) + 1
    return counts


def totals_line(result: CheckResult) -> str:
    c = totals(result)
    return ", ".join(f"{v} {k}" for k, v in sorted(c.items()))


def findings(result: CheckResult) -> str:
    """Each failed line as a bug report against the runbook."""
    out = []
    for p in result.procedures:
        for l in p.lines:
            if not l.failed:
                continue
            out.append(f"### {result.runbook}:{l.line} ({p.title})\n\nLine:\n\n    {l.text.replace(chr(10), chr(10) + '    ')}\n\n"
                       f"What happened: {l.reason}\n")
            if l.output_head.strip():
                out.append("Output:\n\n    " + l.output_head.strip()[:400].replace("\n", "\n    ") + "\n")
            if l.correction:
                out.append(f"Corrected line ({l.correction_verdict} when run on {result.target}):\n\n    "
                           + l.correction.replace("\n", "\n    ") + "\n")
    return "\n".join(out) if out else "No findings.\n"


def junit(result: CheckResult) -> str:
    suites = ET.Element("testsuites", name="runbook-check")
    for p in result.procedures:
        suite = ET.SubElement(suites, "testsuite", name=p.slug, tests=str(len(p.lines)),
                              failures=str(sum(l.failed for l in p.lines)),
                              skipped=str(sum(l.verdict in ("needs", "manual", "skipped", "not reached", "interactive", "unmet")
                                              for l in p.lines)),
                              time=f"{p.duration_s:.3f}")
        for l in p.lines:
            case = ET.SubElement(suite, "testcase", classname=f"runbook.{p.slug}",
                                 name=f"line {l.line}: {l.text.splitlines()[0][:100] if l.text else ''}",
                                 time=f"{l.duration_s:.3f}", file=result.runbook, line=str(l.line))
            if l.failed:
                f = ET.SubElement(case, "failure", message=l.reason[:500])
                f.text = l.output_head + (f"\ncorrected line ({l.correction_verdict}): {l.correction}" if l.correction else "")
            elif l.verdict != "passed":
                ET.SubElement(case, "skipped", message=f"{l.verdict}: {l.reason}"[:500])
    return ET.tostring(suites, encoding="unicode")


def write(result: CheckResult, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"json": folder / "runbook-check.json", "junit": folder / "runbook-check.xml",
             "findings": folder / "runbook-findings.md", "table": folder / "runbook-check.txt"}
    paths["json"].write_text(json.dumps(result.to_json(), indent=1))
    paths["junit"].write_text(junit(result))
    paths["findings"].write_text(findings(result))
    paths["table"].write_text(table(result))
    from ..reports.html import write_runbook_check
    paths["html"] = write_runbook_check(folder / "runbook-check.html", result.to_json())
    return paths
