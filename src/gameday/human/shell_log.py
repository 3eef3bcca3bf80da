"""What the operator shell's hooks call (kept out of bash so quoting is
right): log one command, say a word to the drill, or show pages."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def _append(path: Path, row: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, separators=(",", ":")) + "\n")


def show_page(page: dict) -> str:
    alerts = page.get("alerts") or []
    names = ", ".join(sorted({(a.get("labels") or {}).get("alertname", "?") for a in alerts})) or "?"
    status = str(page.get("status", "firing")).upper()
    lines = [f"\a\n*** PAGE ({status}): {names} ***"]
    for a in alerts[:5]:
        ann = a.get("annotations") or {}
        labels = a.get("labels") or {}
        what = ann.get("summary") or ann.get("description") or ""
        lines.append(f"    {labels.get('alertname', '?')} [{labels.get('severity', '-')}] "
                     f"{labels.get('namespace', '')} {what}".rstrip())
    if status == "FIRING":
        lines.append("    type 'ack' to acknowledge")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--pages"]:
        for line in sys.stdin:
            try:
                page = json.loads(line)
            except json.JSONDecodeError:
                continue
            print(show_page(page), flush=True)
        return 0
    if argv[:1] == ["--say"]:
        folder, word = Path(argv[1]), argv[2]
        _append(folder / "control.jsonl", {"t": time.time(), "word": word, "source": "shell"})
        print({"ack": "acknowledged: the drill's clock has your acknowledgement",
               "done": "step marked done",
               "abort": "ending the drill: every fault is rolled back"}.get(word, word))
        return 0
    folder, t0, t1, rc, out0, line = argv[:6]
    stripped = line.strip()
    _append(folder and Path(folder) / "commands.jsonl",
            {"t_start": float(t0), "t_end": float(t1), "exit": int(rc), "out_start": int(out0), "line": line})
    if stripped == "done":  # bash refused it as a syntax error; to the drill it means the step is done
        _append(Path(folder) / "control.jsonl", {"t": float(t1), "word": "done", "source": "shell"})
        print("step marked done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
