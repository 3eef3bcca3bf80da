"""The HTML drill report: one self-contained page (no network, no external
files) with, for each scenario, its verdict, SLA table, steps and a chart of
its timeline drawn by inline JavaScript as SVG: load (requests/s, failures,
p95 latency) over time with the fault, detection, remediation steps and
recovery marked. `render` is pure; `write_report` does the reading."""
from __future__ import annotations

import html
import json
import os
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Iterable

MAX_POINTS = 1500  # samples per chart; longer drills are thinned evenly

_MARK_KINDS = {
    "fault_injected": ("fault", "fault"),
    "alert_firing": ("detected", "alert"),
    "probe_failed": ("probe failed", "probe"),
    "steady_state_restored": ("recovered", "recovered"),
    "rollback_finished": ("rolled back", "rollback"),
    "abort": ("aborted", "fault"),
    "page_received": ("paged", "person"),
    "operator_acknowledged": ("acknowledged", "person"),
    "operator_command": ("ran", "command"),
}


def _event_dict(e: Any) -> dict:
    if isinstance(e, dict):
        return e
    to_json = getattr(e, "to_json", None)
    return to_json() if callable(to_json) else {"t": e.t, "kind": e.kind, **getattr(e, "data", {})}


def chart_data(events: Iterable[Any]) -> dict:
    """Series and markers of one timeline, times in seconds from its start. Pure."""
    evs = sorted((_event_dict(e) for e in events), key=lambda e: float(e.get("t", 0)))
    if not evs:
        return {"t0": None, "samples": [], "marks": [], "bands": []}
    t0 = float(evs[0]["t"])
    samples, marks, bands, open_steps = [], [], [], {}
    for e in evs:
        t, kind = round(float(e["t"]) - t0, 3), e.get("kind")
        if kind == "load_sample":
            samples.append([t, float(e.get("rps", 0)), int(e.get("failures", 0)), float(e.get("p95_ms", 0))])
        elif kind == "step_started":
            open_steps[e.get("step", "?")] = t
        elif kind == "step_finished":
            name = e.get("step", "?")
            start = open_steps.pop(name, t)
            bands.append({"name": name, "start": start, "end": t, "ok": bool(e.get("ok", True))})
        elif kind in _MARK_KINDS:
            label, cls = _MARK_KINDS[kind]
            if kind == "steady_state_restored" and isinstance(e.get("since"), (int, float)):
                t = round(float(e["since"]) - t0, 3)  # recovery is when it began to hold
            detail = e.get("alert") or e.get("fault") or e.get("probe") or e.get("reason") or ""
            if kind == "operator_command":
                detail = f"{str(e.get('line', ''))[:80]} (exit {e.get('exit_code', '?')})"
            elif kind == "operator_acknowledged":
                detail = str(e.get("source") or "")
            marks.append({"t": t, "label": f"{label}: {detail}" if detail else label, "cls": cls})
    last = round(float(evs[-1]["t"]) - t0, 3)
    for name, start in open_steps.items():  # a step the run never finished
        bands.append({"name": name, "start": start, "end": last, "ok": False})
    if len(samples) > MAX_POINTS:
        stride = len(samples) / MAX_POINTS
        samples = [samples[int(i * stride)] for i in range(MAX_POINTS)]
    return {"t0": t0, "end": last, "samples": samples, "marks": marks, "bands": bands}


def _plain(r: Any) -> dict:
    return asdict(r) if is_dataclass(r) else dict(r)


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    return f"{v * 100:.2f}%" if unit == "%" else f"{v:.1f}s" if unit == "s" else f"{v * 1000:.0f}ms"


def render(results: list[Any], timelines: dict[str, list[Any]], title: str = "gameday drill report") -> str:
    """The page for these scenario results; `timelines` maps a scenario key
    to its events. Pure."""
    scenarios = []
    rows = []
    for i, r in enumerate(results):
        d = _plain(r)
        data = chart_data(timelines.get(d["key"], []))
        scenarios.append({"index": i, "name": d["name"], "chart": data})
        verdict = d.get("outcome", "?")
        rows.append(
            f'<tr class="{html.escape(verdict)}"><td><a href="#s{i}">{html.escape(d["name"])}</a></td>'
            f'<td>{html.escape(", ".join(d.get("sections", [])))}</td><td class="verdict">{html.escape(verdict)}</td>'
            f'<td>{_fmt(d.get("time_to_detect"), "s")}</td><td>{_fmt(d.get("time_to_recover"), "s")}</td>'
            f'<td>{_fmt(d.get("error_rate"), "%")}</td></tr>')
    sections = []
    for i, r in enumerate(results):
        d = _plain(r)
        sla_rows = "".join(
            f'<tr class="{"passed" if s.get("passed") else "failed"}"><td>{html.escape(str(s.get("text")))}</td>'
            f'<td>{html.escape(str(s.get("measured")))}</td><td>{"pass" if s.get("passed") else "FAIL"}</td></tr>'
            for s in d.get("slas", []))
        steps = "".join(
            f'<li class="{html.escape(s.get("status", ""))}"><b>{html.escape(s.get("keyword", ""))}</b> '
            f'{html.escape(s.get("text", ""))} <span class="dur">{s.get("duration_s", 0):.1f}s</span>'
            + (f'<div class="msg">{html.escape(s.get("message", ""))}</div>' if s.get("message") else "") + "</li>"
            for s in d.get("steps", []))
        restored = "".join(f"<li>{html.escape(x)}</li>" for x in d.get("restored", []))
        sections.append(f'''
<section class="scenario {html.escape(d.get("outcome", ""))}" id="s{i}">
  <h2>{html.escape(d["name"])} <span class="verdict">{html.escape(d.get("outcome", ""))}</span></h2>
  <p class="where">{html.escape(d.get("file", ""))}:{d.get("line", "")} &middot; {html.escape(" ".join("@" + t for t in d.get("tags", [])))}</p>
  {f'<p class="message">{html.escape(d.get("message", ""))}</p>' if d.get("message") else ""}
  <div class="chart" id="chart-{i}" data-index="{i}"></div>
  <div class="cols">
    <div><h3>SLA</h3><table class="sla"><tr><th>SLA</th><th>measured</th><th></th></tr>{sla_rows or '<tr><td colspan="3">no SLA table</td></tr>'}</table></div>
    <div><h3>Steps</h3><ol class="steps">{steps}</ol></div>
  </div>
  {f"<h3>Put back after the scenario</h3><ul>{restored}</ul>" if restored else ""}
</section>''')
    payload = json.dumps(scenarios, separators=(",", ":")).replace("</", "<\\/")
    return _PAGE.replace("__TITLE__", html.escape(title)).replace("__ROWS__", "".join(rows)).replace(
        "__SECTIONS__", "".join(sections)).replace("__DATA__", payload).replace(
        "__COUNT__", str(len(results))).replace(
        "__PASSED__", str(sum(1 for r in results if _plain(r).get("outcome") == "passed")))


def runbook_check_section(check: dict) -> str:
    """The runbook check's results (runbook-check.json) as a section: per
    procedure, each line with its verdict, why, and a corrected line where
    the target showed one. Pure."""
    procs = check.get("procedures") or []
    lines = [l for p in procs for l in p.get("lines") or []]
    counts: dict[str, int] = {}
    for l in lines:
        counts[l.get("verdict", "?")] = counts.get(l.get("verdict", "?"), 0) + 1
    parts = [f'<section class="runbook-check" id="runbook-check"><h2>Runbook check: '
             f'{html.escape(str(check.get("runbook", "")))}</h2>'
             f'<p class="where">target {html.escape(str(check.get("target", "")))} &middot; '
             f'{len(lines)} lines in {len(procs)} procedures &middot; '
             f'{html.escape(", ".join(f"{v} {k}" for k, v in sorted(counts.items())))}</p>']
    for p in procs:
        rows = []
        for l in p.get("lines") or []:
            verdict = str(l.get("verdict", "?"))
            why = str(l.get("reason", ""))
            if l.get("correction"):
                why += f" — corrected line ({l.get('correction_verdict', '')}): {l['correction']}"
            rows.append(f'<tr class="{"failed" if verdict == "failed" else "passed" if verdict == "passed" else ""}">'
                        f'<td>{l.get("line", "")}</td><td class="verdict">{html.escape(verdict)}</td>'
                        f'<td><code>{html.escape(str(l.get("text", "")).splitlines()[0][:120] if l.get("text") else "")}'
                        f'</code></td><td>{html.escape(why[:400])}</td></tr>')
        restored = "".join(f"<li>{html.escape(str(x))}</li>" for x in p.get("restored") or [])
        parts.append(f'<h3>{html.escape(str(p.get("title", p.get("slug", ""))))} '
                     f'<span class="where">line {p.get("line", "")}</span></h3>'
                     f'<table class="sla"><tr><th>line</th><th>verdict</th><th>command</th><th>why</th></tr>'
                     f'{"".join(rows)}</table>' + (f"<p>put back:</p><ul>{restored}</ul>" if restored else ""))
    parts.append("</section>")
    return "".join(parts)


def write_report(path: str | os.PathLike, results: list[Any], reports_dir: str | os.PathLike) -> Path:
    """Read each scenario's timeline (paths relative to `reports_dir`) and
    write the page."""
    from ..timeline.store import read
    timelines: dict[str, list[Any]] = {}
    for r in results:
        d = _plain(r)
        if d.get("timeline"):
            p = Path(reports_dir) / d["timeline"]
            try:
                timelines[d["key"]] = read(p)
            except (OSError, ValueError):
                timelines[d["key"]] = []
    page = render(results, timelines)
    check = Path(reports_dir) / "runbook" / "runbook-check.json"  # `gameday runbook check --reports` the same folder
    if check.exists():
        try:
            section = runbook_check_section(json.loads(check.read_text()))
        except (OSError, ValueError):
            section = ""
        page = page.replace("</body>", section + "</body>", 1)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


def write_runbook_check(path: str | os.PathLike, check: dict) -> Path:
    """The runbook check's own page (runbook-check.html)."""
    title = f"gameday runbook check: {check.get('runbook', '')}"
    page = (_PAGE.split("<body", 1)[0] + "<body>" + f"<h1>{html.escape(title)}</h1>" + runbook_check_section(check)
            + "</body></html>").replace("__TITLE__", html.escape(title))
    out = Path(path)
    out.write_text(page, encoding="utf-8")
    return out


_PAGE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left}
tr.passed .verdict,section.passed h2 .verdict{color:#17803d}tr.failed .verdict,tr.error .verdict,section.failed h2 .verdict,section.error h2 .verdict{color:#c62828}
section.scenario{border-top:2px solid #ccc;margin-top:2em;padding-top:.5em}
.where{color:#666;font-size:12px}.message{background:#fdecea;padding:.5em;white-space:pre-wrap}
.cols{display:flex;gap:2em;flex-wrap:wrap}.steps li.failed{color:#c62828}.steps li.skipped{color:#999}
.dur{color:#888;font-size:12px}.msg{font-size:12px;color:#c62828}
tr.failed td{color:#c62828}
svg.timeline text{font-size:11px;fill:#333}
.legend span{margin-right:1em;font-size:12px}
</style></head><body>
<h1>__TITLE__</h1>
<p>__PASSED__ of __COUNT__ scenarios passed.</p>
<table class="summary"><tr><th>scenario</th><th>runbook section</th><th>verdict</th><th>time to detect</th><th>time to recover</th><th>error rate</th></tr>__ROWS__</table>
<p class="legend"><span style="color:#1565c0">&#9632; requests/s</span><span style="color:#c62828">&#9632; failures/s</span><span style="color:#8e24aa">- - p95 latency (ms, right axis)</span><span style="color:#c62828">| fault</span><span style="color:#ef6c00">| detected</span><span style="color:#2e7d32">| recovered</span><span style="color:#90caf9">&#9632; runbook step</span><span style="color:#00838f">| paged / acknowledged</span><span style="color:#546e7a">| command the person ran</span></p>
__SECTIONS__
<script id="gameday-data" type="application/json">__DATA__</script>
<script>
(function () {
  var NS = "http://www.w3.org/2000/svg";
  var data = JSON.parse(document.getElementById("gameday-data").textContent);
  var COLORS = {fault: "#c62828", alert: "#ef6c00", probe: "#f9a825", recovered: "#2e7d32", rollback: "#6d4c41", person: "#00838f", command: "#546e7a"};
  function el(name, attrs, parent, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function num(v) { return v < 10 ? v.toFixed(1) : v.toFixed(0); }
  function draw(s) {
    var host = document.getElementById("chart-" + s.index);
    if (!host) return;
    var c = s.chart, W = 900, H = 260, L = 50, R = 60, T = 20, B = 70;
    var svg = el("svg", {"class": "timeline", width: W, height: H, viewBox: "0 0 " + W + " " + H,
                         role: "img", "aria-label": "timeline of " + s.name}, host);
    var end = Math.max(c.end || 0, 1);
    var maxRps = 1, maxLat = 1;
    c.samples.forEach(function (p) { maxRps = Math.max(maxRps, p[1], p[2]); maxLat = Math.max(maxLat, p[3]); });
    maxRps *= 1.15; maxLat *= 1.15;  // headroom so lines do not ride the frame
    function x(t) { return L + (W - L - R) * t / end; }
    function y(v) { return T + (H - T - B) * (1 - v / maxRps); }
    function yl(v) { return T + (H - T - B) * (1 - v / maxLat); }
    el("rect", {x: L, y: T, width: W - L - R, height: H - T - B, fill: "#fafafa", stroke: "#ccc"}, svg);
    c.bands.forEach(function (b, i) {
      el("rect", {"class": "step-band", x: x(b.start), y: T, width: Math.max(2, x(b.end) - x(b.start)),
                  height: H - T - B, fill: b.ok ? "#90caf9" : "#ef9a9a", opacity: 0.45}, svg);
      el("text", {x: x(b.start) + 2, y: H - B + 28 + 12 * (i % 3), "class": "step-label"}, svg, b.name);
    });
    function line(idx, color, scale, dash, cls) {
      if (!c.samples.length) return;
      var pts = c.samples.map(function (p) { return x(p[0]).toFixed(1) + "," + scale(p[idx]).toFixed(1); });
      el("polyline", {"class": cls, points: pts.join(" "), fill: "none", stroke: color,
                      "stroke-width": 1.5, "stroke-dasharray": dash || ""}, svg);
    }
    line(1, "#1565c0", y, "", "series-rps");
    line(2, "#c62828", y, "", "series-failures");
    line(3, "#8e24aa", yl, "4 3", "series-latency");
    c.marks.forEach(function (m, i) {
      var color = COLORS[m.cls] || "#333";
      el("line", {"class": "mark mark-" + m.cls, x1: x(m.t), x2: x(m.t), y1: T, y2: H - B, stroke: color, "stroke-width": 2}, svg);
      el("text", {x: x(m.t) + 3, y: T + 12 + 12 * (i % 4), fill: color}, svg, m.label);
    });
    for (var k = 0; k <= 4; k++) {
      var t = end * k / 4;
      el("text", {x: x(t) - 8, y: H - B + 14}, svg, t.toFixed(0) + "s");
      el("text", {x: 4, y: y(maxRps * k / 4) + 4}, svg, num(maxRps * k / 4));
      el("text", {x: W - R + 4, y: yl(maxLat * k / 4) + 4}, svg, num(maxLat * k / 4));
    }
    if (!c.samples.length) el("text", {x: L + 10, y: T + (H - T - B) / 2}, svg, "no load samples on this timeline");
    host.setAttribute("data-drawn", "true");
  }
  data.forEach(draw);
  document.body.setAttribute("data-charts", String(document.querySelectorAll("svg.timeline").length));
})();
</script>
</body></html>
"""
