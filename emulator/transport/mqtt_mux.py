"""Many hubs over a few MQTT connections (a fleet worker beyond what one connection per hub affords).

One connection per hub is what a real comms hub does, and :class:`~emulator.transport.mqtt_wan.MqttHubPort`
stays the default. It costs a socket, a paho client and its buffers, and two tasks per hub, and
one ephemeral port per hub on the source address (about 28,000 on Linux's default range) and a
file descriptor on both sides (mosquitto's and ours are limited to 20,000 here): 20,000 hubs
cannot each have one. :class:`MqttMux` gives a worker ``links`` connections (a few); hub ``h`` always
uses link ``h mod links`` (by its index in the worker), so:

* topics are unchanged: a hub still reads ``smets2/hubs/<HUB>/down`` and writes ``.../up/<kind>``;
  the link logs in as the broker's multiplexing user, whom the ACL lets read every hub's ``down``
  and write every hub's ``up`` (and nothing of the DSP's);
* per-hub order is kept: a hub's messages up go through one link's outbox, which is FIFO (and
  keeps order across reconnects); messages down arrive on one subscription of one connection, in
  the broker's order, and are handed to the hub one after another (the next only when the hub
  has handled the previous), while other hubs' messages go on concurrently;
* an idle hub costs an entry in two dicts and its topic string: no task, no socket.

A link subscribes its hubs' ``down`` topics in batches (:data:`SUBSCRIBE_BATCH` per SUBSCRIBE)
when it connects or reconnects, and hubs attached later in the next batch; :meth:`MqttMux.wait_subscribed`
waits until every attached hub is subscribed (a worker says it is ready after that).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable

import aiomqtt

from emulator.clock import awaiting_io
from emulator.transport import topics
from emulator.transport.broker import BrokerError, BrokerUrl
from emulator.transport.mqtt_wan import MqttHubPort, _Link, _refused

log = logging.getLogger(__name__)
#: Topics per SUBSCRIBE packet (mosquitto takes far more; this keeps one packet well under 64 KB).
SUBSCRIBE_BATCH = 1000
#: Hubs per connection chosen by :func:`links_for`.
HUBS_PER_LINK = 5000

MessageHandler = Callable[[str, bytes], Awaitable[None]]


def links_for(hubs: int) -> int:
    """Connections for ``hubs`` hubs: one per :data:`HUBS_PER_LINK` (at least one)."""
    return max(1, -(-hubs // HUBS_PER_LINK))


class _Lane:
    """One hub's share of a link: what :class:`MqttHubPort` uses as its link."""

    def __init__(self, mux: MqttMux, hub: bytes, link: _MuxLink) -> None:
        self.mux = mux
        self.hub = hub
        self.link = link
        self.topic = topics.down(hub)
        self.on_message: MessageHandler | None = None

    @property
    def reconnects(self) -> int:
        return self.link.reconnects

    async def start_connected(self, wait_s: float) -> None:
        """Attach the hub to its link (subscribed in the link's next batch); the mux's links are up."""
        self.link.attach(self)

    def publish(self, topic: str, payload: bytes) -> None:
        self.link.publish(topic, payload)

    async def stop(self) -> None:
        self.link.detach(self)


class _MuxLink(_Link):
    """A reconnecting connection carrying many hubs: routes each message down to its hub's lane."""

    def __init__(self, url: BrokerUrl, identifier: str) -> None:
        super().__init__(url, identifier, [])
        self.lanes: dict[str, _Lane] = {}  # down topic -> lane
        self.subscribed: set[str] = set()
        self._pending: set[str] = set()
        self._flush: asyncio.Task[None] | None = None
        self.all_subscribed = asyncio.Event()
        self.all_subscribed.set()
        # Per-hub queues of messages down, only while a hub is handling one (an idle hub has none).
        self._busy: dict[str, deque[bytes]] = {}
        self._handlers: set[asyncio.Task[None]] = set()
        self.on_message = self._route

    def attach(self, lane: _Lane) -> None:
        self.lanes[lane.topic] = lane
        self._pending.add(lane.topic)
        self.all_subscribed.clear()
        if self.connected.is_set() and (self._flush is None or self._flush.done()):
            self._flush = asyncio.ensure_future(self._subscribe_pending())

    def detach(self, lane: _Lane) -> None:
        self.lanes.pop(lane.topic, None)
        self._pending.discard(lane.topic)

    async def _subscribe(self, client: aiomqtt.Client) -> None:
        """A new connection: every attached hub again (a clean session keeps no subscriptions)."""
        self.subscribed.clear()
        self._pending = set(self.lanes)
        await self._subscribe_batches(client)

    async def _subscribe_pending(self) -> None:
        client = self.client
        if client is None:
            return  # the next connection subscribes them all
        with contextlib.suppress(aiomqtt.MqttError):  # the reconnect subscribes them again
            await self._subscribe_batches(client)

    async def _subscribe_batches(self, client: aiomqtt.Client) -> None:
        while self._pending:
            batch = sorted(self._pending)[:SUBSCRIBE_BATCH]
            with awaiting_io():
                granted = await client.subscribe([(t, 1) for t in batch], qos=1)
            refused = [t for t, g in zip(batch, granted or (), strict=False) if _refused(g)]
            if refused:
                raise aiomqtt.MqttError(f"subscription to {refused[0]} (and {len(refused) - 1} more) refused")
            self._pending.difference_update(batch)
            self.subscribed.update(batch)
        self.all_subscribed.set()

    async def _route(self, topic: str, payload: bytes) -> None:
        lane = self.lanes.get(topic)
        if lane is None or lane.on_message is None:
            return
        queue = self._busy.get(topic)
        if queue is not None:  # the hub is still handling an earlier message: this one waits its turn
            queue.append(payload)
            return
        self._busy[topic] = deque((payload,))
        task = asyncio.ensure_future(self._drain(lane, topic))
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    async def _drain(self, lane: _Lane, topic: str) -> None:
        queue = self._busy[topic]
        try:
            while queue:
                payload = queue[0]
                handler = lane.on_message
                if handler is not None:
                    try:
                        await handler(topic, payload)
                    except Exception:  # one bad message must not stop the hub's queue
                        log.exception("%s: hub handler failed on a message on %s", self.identifier, topic)
                queue.popleft()
        finally:
            self._busy.pop(topic, None)

    async def stop(self) -> None:
        for task in list(self._handlers):
            task.cancel()
        if self._flush is not None:
            self._flush.cancel()
        await super().stop()


class MuxHubPort(MqttHubPort):
    """A hub's :class:`MqttHubPort` (same messages, same topics) whose link is its lane of a mux."""

    def __init__(self, hub: bytes, lane: _Lane) -> None:  # no super().__init__: the lane is the link
        self.hub = hub
        self.link = lane  # type: ignore[assignment]


class MqttMux:
    """``links`` connections as the broker user of ``url`` (the multiplexing user), shared by hubs."""

    def __init__(self, url: BrokerUrl, links: int, name: str = "mux") -> None:
        if links < 1:
            raise ValueError(f"a multiplexer needs at least one connection, not {links}")
        self.url = url
        self.links = [_MuxLink(url, f"{name}-{i}") for i in range(links)]
        self._attached = 0

    async def start(self, wait_s: float) -> None:
        """Connect every link; :class:`BrokerError` naming the broker and why if one cannot."""
        started: list[_MuxLink] = []
        try:
            for link in self.links:
                await link.start_connected(wait_s)
                started.append(link)
        except BrokerError:
            for link in started:
                await link.stop()
            raise

    def hub_port(self, hub: bytes) -> MqttHubPort:
        """The hub's WAN port: an :class:`MqttHubPort` whose messages go over this mux."""
        link = self.links[self._attached % len(self.links)]
        self._attached += 1
        return MuxHubPort(hub, _Lane(self, hub, link))

    async def wait_subscribed(self, timeout: float) -> bool:
        """Until every attached hub's ``down`` is subscribed, at most ``timeout`` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(link.all_subscribed.wait() for link in self.links)), timeout)
        return all(link.all_subscribed.is_set() for link in self.links)

    @property
    def reconnects(self) -> int:
        return sum(link.reconnects for link in self.links)

    async def stop(self) -> None:
        for link in self.links:
            await link.stop()
