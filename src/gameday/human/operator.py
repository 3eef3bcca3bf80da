"""HumanOperator: the drill's side of a game day with a person.

Instead of running the operator's steps itself, the drill pages the person
(the page arrives through Alertmanager's webhook), waits for their
acknowledgement, shows each runbook step with the time box its heading
states, and waits for the person to say `done` (or for a checkable effect).
Everything the person types in `gameday shell` is copied onto the drill's
timeline as it happens. Every wait has a bound."""
from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, TextIO

from ..timeline.events import Kinds
from . import compare as comparing
from .session import Command, Session
from .timebox import TimeBox

log = logging.getLogger("gameday.human.operator")
POLL = 0.2


@dataclass
class StepResult:
    name: str
    ended_by: str            # "done" | "effect" | "timeout"
    started: float
    finished: float
    timebox: TimeBox | None
    comparison: comparing.Comparison = field(default_factory=comparing.Comparison)


class PersonEndedDrill(KeyboardInterrupt):
    """The person pressed Ctrl-C twice in `gameday shell`: the drill ends as
    on Ctrl-C in its own terminal, every fault rolled back."""


class HumanOperator:
    """One person working one drill. `timeline` is the drill's TimelineWriter."""

    def __init__(self, timeline, session: Session, *, out: TextIO | None = None,
                 stdin: TextIO | None = None, clock: Callable[[], float] = time.time):
        self.timeline = timeline
        self.session = session
        self.out = out or sys.stdout
        self.clock = clock
        self.paged_at: float | None = None
        self.acked_at: float | None = None
        self.steps: list[StepResult] = []
        self._seen_commands = 0
        self._stop = threading.Event()
        self._tail = threading.Thread(target=self._tail_loop, name="operator-commands", daemon=True)
        self._stdin = stdin
        if stdin is not None and getattr(stdin, "isatty", lambda: False)():
            threading.Thread(target=self._read_enter, name="operator-enter", daemon=True).start()

    # --- lifecycle ---------------------------------------------------------
    def start(self) -> "HumanOperator":
        self._tail.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._tail.is_alive():
            self._tail.join(timeout=5)
        self._copy_commands()  # whatever arrived last

    def _read_enter(self) -> None:
        # Enter in the drill's own terminal acknowledges too.
        for _ in iter(self._stdin.readline, ""):
            if self._stop.is_set():
                return
            self.session.say("ack" if self.acked_at is None else "done", source="drill-terminal")

    def _tail_loop(self) -> None:
        while not self._stop.wait(POLL):
            try:
                self._copy_commands()
            except Exception:  # keep tailing; the last error is in the log
                log.exception("reading the operator's commands failed")

    def _copy_commands(self) -> None:
        commands = self.session.commands()
        for c in commands[self._seen_commands:]:
            self.timeline.emit(Kinds.operator_command, t=c.t_end, line=c.line, exit_code=c.exit_code,
                               started=c.t_start, output=c.output_head)
        self._seen_commands = len(commands)

    # --- the page and the acknowledgement -----------------------------------
    def wait_for_page(self, alert: str, within: float, since: float | None = None) -> dict | None:
        """The first Alertmanager notification naming `alert` (firing)
        received after `since`; None when none came within the bound."""
        deadline = time.monotonic() + within
        while True:
            self._check_abort()
            for page in self.session.pages():
                if since is not None and float(page.get("t_received", 0)) < since:
                    continue
                names = {(a.get("labels") or {}).get("alertname") for a in page.get("alerts") or []}
                if page.get("status") == "firing" and alert in names:
                    self.paged_at = float(page["t_received"])
                    self.timeline.emit(Kinds.page_received, t=self.paged_at, alert=alert,
                                       source="alertmanager-webhook", user_agent=str(page.get("user_agent", "")))
                    self._print(f"PAGE: {alert} is firing; the on-call engineer has been paged "
                                f"(`gameday shell`, then `ack`).")
                    return page
            if time.monotonic() >= deadline:
                return None
            time.sleep(POLL)

    def wait_for_ack(self, within: float) -> float | None:
        word = self._wait_word("ack", self.paged_at or 0.0, within)
        if word is None:
            return None
        self.acked_at = word.t
        self.timeline.emit(Kinds.operator_acknowledged, t=word.t, source=word.source)
        self._print("acknowledged")
        return word.t

    # --- runbook steps -------------------------------------------------------
    def carry_out(self, name: str, block: str, within: float, timebox: TimeBox | None = None,
                  effect: Callable[[], bool] | None = None, heading: str = "",
                  placeholders: dict[str, str] | None = None) -> StepResult:
        """Show the runbook block and its time box; the step ends when the
        person says `done`, when `effect()` holds, or at the bound."""
        started = self.clock()
        box = f" - time box {timebox.describe()}" if timebox else ""
        self._print(f"\nSTEP {name}{box}\n  from the runbook's {heading or name!r}:\n"
                    + "\n".join("    " + l for l in block.rstrip().splitlines()) + "\n  say `done` when finished")
        detail = heading + (f" {timebox.text}" if timebox else "")
        self.timeline.emit(Kinds.step_started, t=started, step=name, detail=detail.strip(),
                           **({"timebox_end_s": timebox.end_s} if timebox else {}))
        deadline = time.monotonic() + within
        ended_by = "timeout"
        while True:
            if self._word_after("done", started) is not None:
                ended_by = "done"
                break
            if effect is not None:
                try:
                    if effect():
                        ended_by = "effect"
                        break
                except Exception:
                    log.exception("checking the step's effect failed")
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL)
        finished = self.clock()
        self._copy_commands()
        ran = [c for c in self.session.commands() if c.t_end >= started and c.t_start <= finished]
        result = StepResult(name, ended_by, started, finished, timebox,
                            comparing.compare(comparing.runbook_commands(block), ran, placeholders))
        self.steps.append(result)
        ok = ended_by != "timeout"
        self.timeline.emit(Kinds.step_finished, t=finished, step=name, ok=ok,
                           **({} if ok else {"error": f"no `done` within {within:.0f}s"}))
        self.timeline.emit(Kinds.operator_step_review, t=finished, step=name, **result.comparison.as_dict())
        return result

    # --- helpers ---------------------------------------------------------------
    def _check_abort(self) -> None:
        if any(c.word == "abort" for c in self.session.controls()):
            raise PersonEndedDrill("the person ended the drill from gameday shell")

    def _word_after(self, word: str, since: float):
        self._check_abort()
        return next((c for c in self.session.controls() if c.word == word and c.t >= since), None)

    def _wait_word(self, word: str, since: float, within: float):
        deadline = time.monotonic() + within
        while True:
            found = self._word_after(word, since)
            if found is not None or time.monotonic() >= deadline:
                return found
            time.sleep(POLL)

    def _print(self, text: str) -> None:
        try:
            print(text, file=self.out, flush=True)
        except (OSError, ValueError):
            pass
