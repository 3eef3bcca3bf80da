"""For locustfiles: hand gameday the id of every write the system under test
acknowledged, so a drill can read each back afterwards (`lost_writes`; how
is `load.readback` of gameday.yaml). Harmless under stock Locust.

    from gameday.load.acked import acknowledge
    ...
    if resp.status_code == 201:
        acknowledge(self.environment, resp.json()["id"])
"""
from __future__ import annotations

# The custom message Locust workers send their acknowledged ids to the master with.
ACK_MESSAGE = "gameday_acked"


def acknowledge(environment, ident) -> None:
    """Record one acknowledged id, if gameday's runner is listening."""
    sink = getattr(environment, "gameday_acked", None)
    if sink is not None:
        sink.append(str(ident))
    elif environment.runner is not None and type(environment.runner).__name__ == "WorkerRunner":
        environment.runner.send_message(ACK_MESSAGE, str(ident))
