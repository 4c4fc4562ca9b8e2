"""The MQTT WAN (WN-1): aiomqtt clients for the DSP and the hubs, QoS 1, an outbox that
survives a dropped broker, receiver-side de-duplication, and a reconnect loop.

One mechanical loop per client: connect, subscribe, replay the outbox, read messages;
on a broker error back off and do it again. Sessions are clean: a broker restored from
its persistence file after a crash was seen to keep a client "connected" that received
nothing; delivery rests on the application instead (outbox until PUBACK, the DSP re-sends
unanswered commands, hubs re-send alerts until acknowledged, receivers drop repeats). A
publish that raised may or may not have arrived: the outbox re-sends it, and receivers drop
repeats by message ``id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
from collections import deque
from collections.abc import Awaitable, Callable

import aiomqtt
import paho.mqtt.client as mqtt

from emulator.clock import VirtualTimeLoop, awaiting_io
from emulator.transport import topics, wan_messages
from emulator.transport.broker import BrokerError, BrokerUrl
from emulator.transport.mqtt_client import LinkClient
from emulator.transport.wan import DownHandler, DownMessage, DspPort, HubPort, UpHandler, UpMessage

log = logging.getLogger(__name__)
_NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
INFLIGHT = 256
PUBACK_TIMEOUT_S = 10.0
#: How long a port's start waits for its first connection before saying why it cannot connect.
CONNECT_WAIT_S = 10.0


def _refused(granted: object) -> bool:
    """A SUBACK entry that refuses the subscription (0x80 and up), as int or paho ReasonCode."""
    value = getattr(granted, "value", granted)
    return isinstance(value, int) and value >= 0x80


class _Link:
    """A reconnecting MQTT client with an outbox (shared by both ports).

    Messages up go out from the outbox in sequence while fewer than :data:`INFLIGHT` await their
    PUBACK; one that is not acknowledged when its connection ends goes back into the outbox in its
    place (receivers drop repeats by ``id``). Messages down go into the inbox in the broker's order
    and one task hands them to ``on_message`` one after another, also after the connection ends.
    """

    def __init__(self, url: BrokerUrl, identifier: str, subscriptions: list[str]) -> None:
        self.url = url
        self.identifier = identifier
        self.subscriptions = subscriptions
        # (sequence, topic, payload): a message that must go again goes back in its place, so
        # the receiver sees the original order (a meter refuses a counter lower than the last).
        self.outbox: deque[tuple[int, str, bytes]] = deque()
        self._seq = 0
        self.wakeup = asyncio.Event()
        self.connected = asyncio.Event()
        self.client: LinkClient | None = None
        self.stopping = False
        self.tasks: list[asyncio.Task[None]] = []
        self.reconnects = 0
        self.renewals = 0
        self.on_message: Callable[[str, bytes], Awaitable[None]] | None = None
        # Published on the current connection, awaiting its PUBACK: mid -> (sent at, message).
        self._unacked: dict[int, tuple[float, tuple[int, str, bytes]]] = {}
        self._puback_timer: asyncio.TimerHandle | None = None
        self.inbox: deque[tuple[str, bytes]] = deque()
        self._inbox_ready = asyncio.Event()
        #: Why the last connection attempt failed (for a user: "Connection refused", "not authorised").
        self.last_error = ""

    async def start_connected(self, wait_s: float) -> None:
        """Start, and wait until connected: :class:`BrokerError` naming the broker and the reason if the
        link is not up within ``wait_s`` (the link is then stopped: no task is left behind)."""
        self.start()
        try:
            await asyncio.wait_for(self.connected.wait(), wait_s)
        except TimeoutError:
            await self.stop()
            why = self.last_error or f"no connection within {wait_s:g} s"
            raise BrokerError(f"broker {self.url.host}:{self.url.port}: cannot connect as "
                              f"{self.url.username or '(anonymous)'}: {why}") from None

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        if isinstance(loop, VirtualTimeLoop):  # a PUBACK on its way: virtual time waits for it
            loop.io_probes.append(self._awaiting_puback)
        self.tasks = [asyncio.ensure_future(self._run()), asyncio.ensure_future(self._sender()),
                      asyncio.ensure_future(self._consume())]

    def _awaiting_puback(self) -> bool:
        return bool(self._unacked)

    async def stop(self) -> None:
        # Give the outbox a moment to drain, then close.
        for _ in range(100):
            if (not self.outbox and not self._unacked) or not self.connected.is_set():
                break
            await asyncio.sleep(0.01)
        self.stopping = True
        self.wakeup.set()
        for t in self.tasks:
            t.cancel()
        for t in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if self._puback_timer is not None:
            self._puback_timer.cancel()
        loop = asyncio.get_running_loop()
        if isinstance(loop, VirtualTimeLoop) and self._awaiting_puback in loop.io_probes:
            loop.io_probes.remove(self._awaiting_puback)

    def publish(self, topic: str, payload: bytes) -> None:
        self._seq += 1
        self.outbox.append((self._seq, topic, payload))
        self.wakeup.set()

    async def _run(self) -> None:
        backoff = 0.05
        while not self.stopping:
            client = LinkClient(self.url.host, self.url.port, username=self.url.username,
                             password=self.url.password, identifier=self.identifier, clean_session=True,
                             socket_options=_NODELAY, max_inflight_messages=INFLIGHT, timeout=10)
            client.pending_calls_threshold = 100_000
            client.acked = self._acked
            try:
                async with contextlib.AsyncExitStack() as stack:
                    with awaiting_io():  # CONNACK and SUBACK are replies on their way (virtual time)
                        await stack.enter_async_context(client)
                        await self._subscribe(client)
                    self.client = client
                    self.connected.set()
                    self.wakeup.set()
                    backoff = 0.05
                    queue = client._queue  # aiomqtt's, filled by its on_message
                    while True:
                        # What is queued already is taken at once: aiomqtt's iterator spends a task
                        # and an asyncio.wait on each message, which a burst need not pay.
                        message = queue.get_nowait() if not queue.empty() else await anext(client.messages)
                        self._received(str(message.topic), bytes(message.payload))
            except aiomqtt.MqttError as e:
                self.last_error = re.sub(r"^\[Errno -?\d+\] ", "", str(e)) or type(e).__name__
                if not self.stopping:
                    log.info("%s: broker connection lost (%s); reconnecting", self.identifier, e)
            except (OSError, ValueError, RuntimeError) as e:
                self.last_error = (e.strerror if isinstance(e, OSError) and e.strerror else str(e)) or type(e).__name__
                # Whatever a dying broker makes the client raise, the loop must go on reconnecting:
                # a link that stops here would lose everything after it (WN-1).
                if not self.stopping:
                    log.warning("%s: connection failed (%s: %s); reconnecting", self.identifier, type(e).__name__, e)
            finally:
                self.connected.clear()
                self.client = None
                client.acked = None
                self._requeue_unacked()
            if self.stopping:
                return
            self.reconnects += 1
            self.url = self.url.failover()  # a clustered broker: try its next node (broker.py)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    async def _subscribe(self, client: aiomqtt.Client) -> None:
        """Subscribe on a new connection (a multiplexing link subscribes its hubs in batches)."""
        for sub in self.subscriptions:
            granted = await client.subscribe(sub, qos=1)
            if any(_refused(g) for g in (granted or ())):
                raise aiomqtt.MqttError(f"subscription to {sub} refused: {granted}")

    # Messages down -------------------------------------------------------------------------
    def _received(self, topic: str, payload: bytes) -> None:
        self.inbox.append((topic, payload))
        self._inbox_ready.set()

    async def _consume(self) -> None:
        while True:
            await self._inbox_ready.wait()
            self._inbox_ready.clear()
            while self.inbox:
                topic, payload = self.inbox.popleft()
                if self.on_message is None:
                    continue
                try:
                    await self.on_message(topic, payload)
                except Exception:  # one bad message must not stop the link (nothing else is lost)
                    log.exception("%s: handler failed on a message from %s", self.identifier, topic)

    # Messages up ---------------------------------------------------------------------------
    async def _sender(self) -> None:
        while not self.stopping:
            await self.wakeup.wait()
            self.wakeup.clear()
            self._send_some()

    def _send_some(self) -> None:
        client = self.client
        if client is None or not self.connected.is_set():
            return
        paho = client._client
        now = asyncio.get_running_loop().time()
        while self.outbox and len(self._unacked) < INFLIGHT:
            item = self.outbox.popleft()
            info = paho.publish(item[1], item[2], qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:  # the connection is going: the reconnect sends it again
                self._requeue(item)
                return
            if info.is_published():  # acknowledged before publish returned (paho may call back at once)
                continue
            self._unacked[info.mid] = (now, item)
            if self._puback_timer is None:
                self._puback_timer = asyncio.get_running_loop().call_later(PUBACK_TIMEOUT_S, self._puback_check)

    def _acked(self, mid: int) -> None:
        if self._unacked.pop(mid, None) is not None and self.outbox:
            self.wakeup.set()

    def _puback_check(self) -> None:
        self._puback_timer = None
        if not self._unacked:
            return
        loop = asyncio.get_running_loop()
        oldest = next(iter(self._unacked.values()))[0]
        if loop.time() - oldest >= PUBACK_TIMEOUT_S and self.client is not None:
            self._renew(self.client)
            return  # the connection ends: its unacknowledged messages go back into the outbox
        self._puback_timer = loop.call_at(oldest + PUBACK_TIMEOUT_S, self._puback_check)

    def _requeue_unacked(self) -> None:
        """The connection is gone, and with it (a clean session) every publish not acknowledged:
        back into the outbox in their places (they may have arrived: receivers drop repeats)."""
        if self._unacked:
            items = [item for _, item in self._unacked.values()]
            self._unacked.clear()
            self.outbox = deque(sorted([*items, *self.outbox]))
        if self._puback_timer is not None:
            self._puback_timer.cancel()
            self._puback_timer = None

    def _requeue(self, item: tuple[int, str, bytes]) -> None:
        """Back to the head of the outbox, where it was taken from."""
        self.outbox.appendleft(item)

    def _renew(self, client: aiomqtt.Client) -> None:
        """A PUBACK that does not come means the connection is not working, whatever the client
        believes (after a broker restart a link was seen "connected" that the broker no longer
        served, while new connections were): shut the socket down, so the reader sees the end and
        the link reconnects. The file stays open until the client closes it (no number reused)."""
        if client is not self.client:
            return
        sock = client._client.socket()
        if not isinstance(sock, socket.socket):
            return
        log.warning("%s: no PUBACK within %.0f s: the connection is dead; reconnecting", self.identifier,
                    PUBACK_TIMEOUT_S)
        self.renewals += 1
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class MqttHubPort(HubPort):
    def __init__(self, url: BrokerUrl, hub: bytes) -> None:
        self.hub = hub
        self.link = _Link(url, f"chf-{hub.hex().upper()}", [topics.down(hub)])

    async def start(self, on_down: DownHandler) -> None:
        async def handle(topic: str, payload: bytes) -> None:
            try:
                message = wan_messages.decode_down(payload)
            except wan_messages.WanMessageError as e:
                log.warning("hub %s: dropped a message on %s: %s", self.hub.hex(), topic, e)
                return
            # Repeats go through: the hub answers a repeated command from its cache (WN-1). Dropping
            # them here lost every answer the broker had acknowledged and then died holding.
            await on_down(message)

        self.link.on_message = handle
        await self.link.start_connected(CONNECT_WAIT_S)

    async def send(self, message: UpMessage) -> None:
        self.link.publish(topics.up(self.hub, message.KIND), wan_messages.encode(message))

    async def stop(self) -> None:
        await self.link.stop()


class MqttDspPort(DspPort):
    def __init__(self, url: BrokerUrl) -> None:
        self.link = _Link(url, "dsp", [topics.DSP_SUBSCRIPTION])

    async def start(self, on_up: UpHandler) -> None:
        async def handle(topic: str, payload: bytes) -> None:
            try:
                hub, _ = topics.parse_up(topic)
                message = wan_messages.decode_up(payload)
            except (topics.TopicError, wan_messages.WanMessageError) as e:
                log.warning("DSP: dropped a message on %s: %s", topic, e)
                return
            # Repeats go through: the DSP drops them itself, and re-acknowledges a repeated alert.
            await on_up(hub, message)

        self.link.on_message = handle
        await self.link.start_connected(CONNECT_WAIT_S)

    async def send(self, hub: bytes, message: DownMessage) -> None:
        self.link.publish(topics.down(hub), wan_messages.encode(message))

    async def stop(self) -> None:
        await self.link.stop()
