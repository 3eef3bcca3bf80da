"""Chaos Mesh `NetworkChaos` (chaos-mesh.org/v1alpha1) enforced in the
sandbox's service proxy, the way Chaos Mesh's daemon applies netem on a real
node. Supported: action `delay` (delay.latency, with jitter) and `loss`
(loss.loss percent), mode `all`, selector namespaces + labelSelectors,
direction `to` (traffic to the selected pods).

The proxy relays TCP, not packets, so:
- delay: every chunk the selected pod sends back is held `latency` from when
  it arrived, pipelined like netem (a request/response gains one latency);
- loss: a new connection to a selected pod is dropped with that probability
  (a lost SYN the client sees as a failed request), which is what a client
  of a lossy link sees most of (retransmits aside)."""
from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from dataclasses import dataclass

from .resources import POD
from .selectors import labels_match, selector_from_match

log = logging.getLogger("gameday.sandbox.netchaos")


@dataclass(frozen=True)
class Effect:
    delay: float = 0.0   # seconds
    jitter: float = 0.0
    loss: float = 0.0    # 0..1

    @property
    def none(self) -> bool:
        return not (self.delay or self.loss)

    def drops(self, rng=random) -> bool:
        return self.loss > 0 and rng.random() < self.loss


NONE = Effect()


def parse_duration(text) -> float:
    """Chaos Mesh durations: '100ms', '1.5s', '2m', '10us' -> seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s|m|h)?\s*", str(text or "0"))
    if not m:
        raise ValueError(f"not a duration: {text!r}")
    unit = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, None: 1e-3, "m": 60, "h": 3600}[m.group(2)]
    return float(m.group(1)) * unit


def selects(chaos: dict, pod: dict) -> bool:
    spec = chaos.get("spec") or {}
    sel = spec.get("selector") or {}
    ns = pod["metadata"].get("namespace")
    namespaces = sel.get("namespaces") or [chaos["metadata"].get("namespace")]
    if ns not in namespaces:
        return False
    reqs = selector_from_match({"matchLabels": sel.get("labelSelectors") or {},
                                "matchExpressions": sel.get("expressionSelectors") or []})
    return labels_match(reqs, pod["metadata"].get("labels") or {})


def effect_of(chaoses: list[dict], pod: dict | None) -> Effect:
    """Pure: the combined effect of the NetworkChaos objects on a pod."""
    if pod is None:
        return NONE
    delay = jitter = 0.0
    keep = 1.0
    for c in chaoses:
        spec = c.get("spec") or {}
        if c["metadata"].get("deletionTimestamp") or spec.get("direction", "to") not in ("to", "both"):
            continue
        if not selects(c, pod):
            continue
        try:
            if spec.get("action") == "delay":
                d = spec.get("delay") or {}
                delay += parse_duration(d.get("latency"))
                jitter += parse_duration(d.get("jitter") or "0ms")
            elif spec.get("action") == "loss":
                keep *= 1 - min(max(float(str((spec.get("loss") or {}).get("loss", "0")).rstrip("%")), 0), 100) / 100
        except ValueError as exc:
            log.warning("NetworkChaos %s/%s ignored: %s", c["metadata"].get("namespace"), c["metadata"]["name"], exc)
    return Effect(delay, jitter, 1 - keep)


def effect_for(store, dest: tuple[str, str] | None) -> Effect:
    """The effect on connections to the pod `dest` (namespace, name) now."""
    if dest is None:
        return NONE
    from .apiserver.crd import custom_resources  # Chaos Mesh's CRD, once applied (deploy/sandbox/crds)
    chaoses = [c for res in custom_resources(store)
               if res.group == "chaos-mesh.org" and res.plural == "networkchaos"
               for c in store.list(res)[0]]
    if not chaoses:
        return NONE
    return effect_of(chaoses, store.try_get(POD, *dest))


async def delayed_pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, effect: Effect) -> None:
    """Relay reader -> writer, each chunk held `delay` (+ jitter) after it
    arrived; chunks keep their order and overlap their waits (netem)."""
    queue: asyncio.Queue = asyncio.Queue()

    async def send():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()

    sender = asyncio.ensure_future(send())
    try:
        while True:
            data = await reader.read(65536)
            extra = random.uniform(-effect.jitter, effect.jitter) if effect.jitter else 0.0
            await queue.put((time.monotonic() + max(effect.delay + extra, 0.0), data or None))
            if not data:
                break
        await sender
    except (OSError, asyncio.CancelledError):
        sender.cancel()
    finally:
        try:
            if writer.can_write_eof():
                writer.write_eof()
        except OSError:
            pass
