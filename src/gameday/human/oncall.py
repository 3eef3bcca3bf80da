"""PersonOnCall: what a drill adds when a person, not gameday, is the
operator. It opens the operator session, runs the page receiver, routes
Alertmanager's notifications to it (rolled back with the drill's faults),
and hands the drill a HumanOperator.

    with Drill(target, name, reports) as drill, PersonOnCall(drill, paging) as person:
        drill.start_load(4); drill.confirm_steady_state(); drill.inject(...)
        person.page("ApiDown", within=120); person.acknowledge(within=600)
        person.carry_out("response-actions", block, within=1800, timebox=...)
        drill.wait_recovered(...); drill.judge(slas + person.timebox_slas())
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from .operator import HumanOperator, StepResult
from .pager import PageReceiver, route_to
from .session import POINTER, Session
from .timebox import TimeBox


@dataclass(frozen=True)
class Paging:
    """Where the page comes from: Alertmanager's Service and the ConfigMap
    holding its configuration (from gameday.yaml), and the address
    Alertmanager reaches gameday's receiver on."""
    alertmanager_service: str = "alertmanager"
    alertmanager_namespace: str = "monitoring"
    config_map: str = "alertmanager-config"
    config_key: str = "alertmanager.yml"
    listen_host: str | None = None   # None: a node's InternalIP that is an address of this machine
    listen_port: int = 0
    route_within: float = 90.0


def paging_of(project) -> Paging:
    """The paging settings of a project: Alertmanager where its monitoring
    says (a Service), its configuration in the ConfigMap named after it."""
    am = getattr(project, "alertmanager", None)
    if am is not None and getattr(am, "service", ""):
        return Paging(alertmanager_service=am.service, alertmanager_namespace=am.namespace or "monitoring",
                      config_map=f"{am.service}-config")
    return Paging()


class PersonOnCall:
    def __init__(self, drill, paging: Paging = Paging(), *, allow_contexts: tuple[str, ...] = (),
                 out=None, stdin=None, publish_to: tuple = ()):
        self.drill = drill
        # Where `gameday shell` looks for the running drill: the drill's own
        # folder, and the reports folder of the whole run (`--reports`).
        self.publish_to = [Path(drill.reports_dir), *(Path(p) for p in publish_to)]
        self.paging = paging
        folder = Path(drill.reports_dir) / f"{drill.slug}.operator"
        self.session = Session.create(folder, kubeconfig=str(drill.target.kubeconfig), context=drill.target.context,
                                      allow_contexts=list(allow_contexts), drill=drill.name,
                                      timeline=str(Path(drill.timeline_path).resolve()))
        self.out = out or sys.stdout
        self.operator = HumanOperator(drill.timeline, self.session, out=self.out, stdin=stdin)
        self.receiver: PageReceiver | None = None
        self._pointers: list[Path] = []

    def __enter__(self) -> "PersonOnCall":
        self._pointers = [self.session.publish(d) for d in dict.fromkeys(self.publish_to)]
        host = self.paging.listen_host or reachable_host(self.drill.target)
        self.receiver = PageReceiver(self.session, host, self.paging.listen_port).start()
        am = self.drill.target.service_url(self.paging.alertmanager_service, self.paging.alertmanager_namespace)
        # registered with the drill's faults: put back on success, failure, Ctrl-C and SIGTERM
        undo = route_to(self.drill.target, self.receiver.url, configmap=self.paging.config_map,
                        namespace=self.paging.alertmanager_namespace, key=self.paging.config_key,
                        alertmanager_url=am, within=self.paging.route_within)
        self.drill.register_rollback("paging-route", undo)
        self.operator.start()
        print(f"gameday: waiting for a person: in another terminal run `gameday shell --session {self.session.folder}`",
              file=self.out, flush=True)
        return self

    def __exit__(self, *exc) -> None:
        self.operator.close()
        if self.receiver:
            self.receiver.close()
        for pointer in self._pointers:
            if pointer.exists() and pointer.read_text().strip() == str(self.session.folder):
                pointer.unlink()

    # --- the person's part ------------------------------------------------
    def page(self, alert: str, within: float) -> dict | None:
        return self.operator.wait_for_page(alert, within, since=self.drill.fault_at)

    def acknowledge(self, within: float) -> float | None:
        return self.operator.wait_for_ack(within)

    def carry_out(self, name: str, block: str, within: float, timebox: TimeBox | None = None,
                  effect=None, heading: str = "") -> StepResult:
        return self.operator.carry_out(name, block, within, timebox, effect, heading)

    def timebox_slas(self) -> list[str]:
        """Each step a person carried out judged against its time box:
        `phase:<step> <= END` (seconds from the page)."""
        return [f"phase:{s.name} <= {s.timebox.end_s:g}s" for s in self.operator.steps if s.timebox]


def reachable_host(target) -> str:
    """Where Alertmanager, a pod, can reach a receiver on this machine: the
    first node InternalIP this machine can listen on (the sandbox's nodes
    are this machine). On a real cluster, set the address Alertmanager
    reaches (Paging.listen_host) instead: its nodes are elsewhere."""
    import socket
    from ..errors import UserError
    try:
        nodes = target.core().list_node(_request_timeout=10).items
    except Exception as exc:
        raise UserError(f"cannot list the target's nodes to find where Alertmanager reaches gameday ({exc}); "
                        f"set the paging address")
    for node in nodes:
        for addr in (node.status.addresses or []) if node.status else []:
            if addr.type != "InternalIP" or addr.address.startswith("127."):
                continue  # a pod's loopback is its own
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind((addr.address, 0))
                except OSError:
                    continue
            return addr.address
    raise UserError("no node of the target has an address on this machine that its pods can reach; "
                    "set the address Alertmanager reaches gameday on")
