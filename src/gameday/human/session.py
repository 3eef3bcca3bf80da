"""The operator session folder: how a drill and `gameday shell` talk.

The drill writes `session.json` (target, allowed contexts, the drill) and the
pages it received (`pages.jsonl`); the shell appends every command the person
ran (`commands.jsonl`), what they said (`control.jsonl`: ack, done) and the
terminal's output (`output.log`, written by `script`). Files only, appended
line by line, so either side may die and the other still reads what was
said."""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SESSION_ENV = "GAMEDAY_SESSION"
POINTER = "operator-session"   # reports/operator-session: the folder of the running session

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\r")


@dataclass(frozen=True)
class Command:
    """One command line the person ran in `gameday shell`."""
    t_start: float
    t_end: float
    line: str
    exit_code: int
    output_head: str = ""


@dataclass(frozen=True)
class Control:
    """Something the person said to the drill: `ack` or `done`."""
    t: float
    word: str
    source: str = "shell"


@dataclass
class Session:
    folder: Path
    info: dict[str, Any] = field(default_factory=dict)

    # --- files --------------------------------------------------------
    @property
    def commands_file(self) -> Path:
        return self.folder / "commands.jsonl"

    @property
    def control_file(self) -> Path:
        return self.folder / "control.jsonl"

    @property
    def pages_file(self) -> Path:
        return self.folder / "pages.jsonl"

    @property
    def output_file(self) -> Path:
        return self.folder / "output.log"

    @property
    def info_file(self) -> Path:
        return self.folder / "session.json"

    # --- the drill's side ----------------------------------------------
    @classmethod
    def create(cls, folder: str | os.PathLike, **info: Any) -> "Session":
        folder = Path(folder).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        for f in ("commands.jsonl", "control.jsonl", "pages.jsonl", "output.log"):
            (folder / f).write_text("")
        session = cls(folder, {"created": time.time(), "pid": os.getpid(), **info})
        session.info_file.write_text(json.dumps(session.info, indent=2))
        return session

    def publish(self, reports_dir: str | os.PathLike) -> Path:
        """Point `reports/operator-session` at this folder, so `gameday shell`
        started in the project finds the running drill."""
        pointer = Path(reports_dir) / POINTER
        pointer.parent.mkdir(parents=True, exist_ok=True)
        pointer.write_text(str(self.folder) + "\n")
        return pointer

    @classmethod
    def open(cls, folder: str | os.PathLike) -> "Session":
        folder = Path(folder)
        try:
            info = json.loads((folder / "session.json").read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"{folder}: no operator session here (no session.json)")
        return cls(folder.resolve(), info)

    def record_page(self, page: dict) -> None:
        _append(self.pages_file, page)

    def say(self, word: str, source: str = "drill") -> None:
        _append(self.control_file, {"t": time.time(), "word": word, "source": source})

    # --- reading --------------------------------------------------------
    def pages(self) -> list[dict]:
        return _read_jsonl(self.pages_file)

    def controls(self) -> list[Control]:
        out = []
        for row in _read_jsonl(self.control_file):
            try:
                out.append(Control(float(row["t"]), str(row["word"]), str(row.get("source", "shell"))))
            except (KeyError, TypeError, ValueError):
                continue
        return out

    def commands(self) -> list[Command]:
        """The commands the shell logged, each with the head of its output
        (the terminal's bytes between its start and the next command's)."""
        rows = [r for r in _read_jsonl(self.commands_file) if "line" in r]
        try:
            out = self.output_file.read_bytes()
        except FileNotFoundError:
            out = b""
        result = []
        for i, r in enumerate(rows):
            start = int(r.get("out_start", 0))
            nxt = int(rows[i + 1].get("out_start", len(out))) if i + 1 < len(rows) else len(out)
            result.append(Command(float(r["t_start"]), float(r["t_end"]), str(r["line"]), int(r.get("exit", 0)),
                                  output_head(out[start:nxt], r["line"])))
        return result


def output_head(raw: bytes, line: str, lines: int = 5) -> str:
    """The first lines a command printed: terminal escapes, the echo of the
    command itself and the next prompt dropped."""
    text = _ANSI.sub("", raw.decode("utf-8", "replace"))
    rows = [r for r in text.split("\n")]
    if rows and line.strip() and line.strip() in rows[0]:
        rows = rows[1:]
    if rows and "[gameday:" in rows[-1]:
        rows = rows[:-1]
    return "\n".join([r for r in rows if r.strip()][:lines])[:2000]


def find(reports_dir: str | os.PathLike = "reports", explicit: str | None = None) -> Session:
    """The session `gameday shell` joins: --session, $GAMEDAY_SESSION, or the
    pointer the running drill left in reports/."""
    folder = explicit or os.environ.get(SESSION_ENV)
    if not folder:
        # `gameday drill` writes under reports/drill unless told otherwise
        looked = [Path(reports_dir)] + ([Path(reports_dir) / "drill"] if Path(reports_dir) == Path("reports") else [])
        pointer = next((d / POINTER for d in looked if (d / POINTER).exists()), looked[0] / POINTER)
        if not pointer.exists():
            raise FileNotFoundError(f"{pointer}: no drill is waiting for an operator; start one with "
                                    f"`gameday drill --operator human`, or pass --session DIR")
        folder = pointer.read_text().strip()
    return Session.open(folder)


def _append(path: Path, row: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, separators=(",", ":"), default=str) + "\n")


def _read_jsonl(path: Path) -> list[dict]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line still being written
        if isinstance(row, dict):
            rows.append(row)
    return rows
