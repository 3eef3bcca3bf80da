"""Game days with people: gameday breaks the platform, pages a person through
Alertmanager, and times them while they work the runbook in `gameday shell`.

- `session`  the operator session folder (the contract between drill and shell)
- `timebox`  the time boxes runbook headings state, e.g. "(0-5 minutes)"
- `pager`    the Alertmanager webhook receiver gameday runs, and its route
- `shell`    `gameday shell`: an operator shell that logs every command
- `operator` HumanOperator: page, wait for the acknowledgement, time each step
- `compare`  what the person ran beside what the runbook says (pure)
"""
