"""time_to_notify: what the platform's notification receiver got after the
fault (`monitoring.notifications` of gameday.yaml: the runbook's
notify-incident script posts there, as to a team's chat or paging webhook).
Read once when a scenario is judged; each item becomes a
`notification_received` event at the time the receiver says it arrived."""
from __future__ import annotations

import json
import logging

from ..httpcheck import request
from ..timeline.events import Kinds

log = logging.getLogger(__name__)


def parse(body: str, items: str = "notifications", time_field: str = "received_at") -> list[dict]:
    """The receiver's answer -> [{t, kind, severity, message, id}] (pure);
    items without a numeric time are left out."""
    try:
        doc = json.loads(body)
    except ValueError:
        return []
    rows = doc.get(items) if isinstance(doc, dict) else doc
    out = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        t = row.get(time_field)
        if isinstance(t, bool) or not isinstance(t, (int, float)):
            continue
        out.append({"t": float(t), "id": row.get("id", f"{t}:{row.get('message', '')}"),
                    **{k: str(row[k]) for k in ("kind", "severity", "message") if row.get(k) is not None}})
    return sorted(out, key=lambda r: r["t"])


def collect(target, spec, since: float, timeline, seen: set) -> int:
    """Ask the receiver for what arrived after `since` and put each new item
    on the timeline. Returns how many were added; a receiver that does not
    answer is logged, and time_to_notify is then not measured."""
    url = target.service_url(spec.service, spec.namespace) + spec.path.replace("{since}", f"{since:.3f}")
    answer = request("GET", url, timeout=10, limit=1 << 20)
    if answer.status != 200:
        log.warning("notifications: GET %s answered %s: %s", url, answer.status or "nothing", answer.body[:200])
        return 0
    added = 0
    for row in parse(answer.body, spec.items, spec.time):
        if row["id"] in seen or row["t"] < since:
            continue
        seen.add(row["id"])
        timeline.emit(Kinds.notification_received, t=row["t"], source=f"{spec.namespace}/{spec.service}",
                      **({"category": row["kind"]} if "kind" in row else {}),
                      **{k: row[k] for k in ("severity", "message") if k in row})
        added += 1
    return added
