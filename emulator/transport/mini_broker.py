"""An in-process MQTT 3.1.1 broker: the fallback when mosquitto is not installed (WN-2).

Enough of MQTT for the emulator: CONNECT with username/password, SUBSCRIBE with ``+`` and
``#``, PUBLISH at QoS 0 and 1 (PUBACK both ways, redelivery of unacknowledged messages),
persistent sessions for ``clean_session=0`` clients (subscriptions and queued QoS-1
messages kept while they are away, and across an in-process restart), PINGREQ,
DISCONNECT, and the same topic ACL as the mosquitto configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from emulator.transport import topics

CONNECT, CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK = 1, 2, 3, 4, 8, 9
UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT = 10, 11, 12, 13, 14
MAX_PACKET = 4 * 1024 * 1024


def topic_matches(pattern: str, topic: str) -> bool:
    p, t = pattern.split("/"), topic.split("/")
    for i, part in enumerate(p):
        if part == "#":
            return True
        if i >= len(t) or (part != "+" and part != t[i]):
            return False
    return len(p) == len(t)


def allowed(user: str, topic: str, write: bool) -> bool:
    """The ACL of ``topics.acl()``: the DSP anywhere under the root; a hub only its own subtree."""
    if user == "dsp":
        return topic.startswith(topics.ROOT + "/")
    base = f"{topics.ROOT}/hubs/{user}/"
    return topic.startswith(base + "up/") if write else topic == base + "down"


def _encode_len(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(s: str) -> bytes:
    raw = s.encode()
    return struct.pack(">H", len(raw)) + raw


@dataclass(slots=True)
class Session:
    client_id: str
    user: str
    subscriptions: dict[str, int] = field(default_factory=dict)
    queue: deque[tuple[str, bytes]] = field(default_factory=deque)  # QoS-1 messages not yet acknowledged
    inflight: dict[int, tuple[str, bytes]] = field(default_factory=dict)
    writer: asyncio.StreamWriter | None = None
    next_id: int = 1
    persistent: bool = False


class MiniBroker:
    def __init__(self, port: int, check_password: Callable[[str, str], bool]) -> None:
        self.port = port
        self.check_password = check_password
        self.sessions: dict[str, Session] = {}
        self.server: asyncio.Server | None = None
        self.clients: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    async def stop(self, abrupt: bool = False) -> None:
        if self.server is not None:
            self.server.close()
        for w in list(self.clients):
            w.transport.abort() if abrupt else w.close()
        self.clients.clear()
        for s in self.sessions.values():
            s.writer = None
            # Unacknowledged deliveries go back to the queue: they are sent again on reconnect.
            for item in s.inflight.values():
                s.queue.appendleft(item)
            s.inflight.clear()
        if self.server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 1)
            self.server = None
        self.sessions = {k: v for k, v in self.sessions.items() if v.persistent}

    async def _read_packet(self, reader: asyncio.StreamReader) -> tuple[int, int, bytes]:
        head = await reader.readexactly(1)
        mult, length = 1, 0
        for _ in range(4):
            b = (await reader.readexactly(1))[0]
            length += (b & 0x7F) * mult
            if not b & 0x80:
                break
            mult *= 128
        if length > MAX_PACKET:
            raise ValueError(f"packet of {length} bytes exceeds {MAX_PACKET}")
        return head[0] >> 4, head[0] & 0x0F, await reader.readexactly(length)

    def _send(self, writer: asyncio.StreamWriter, kind: int, flags: int, body: bytes) -> None:
        writer.write(bytes(((kind << 4) | flags,)) + _encode_len(len(body)) + body)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.clients.add(writer)
        session: Session | None = None
        try:
            kind, _, body = await self._read_packet(reader)
            if kind != CONNECT:
                return
            session = self._connect(body, writer)
            if session is None:
                return
            while True:
                kind, flags, body = await self._read_packet(reader)
                if kind == PUBLISH:
                    self._publish(session, flags, body, writer)
                elif kind == PUBACK:
                    session.inflight.pop(struct.unpack(">H", body[:2])[0], None)
                elif kind == SUBSCRIBE:
                    self._subscribe(session, body, writer)
                elif kind == UNSUBSCRIBE:
                    self._send(writer, UNSUBACK, 0, body[:2])
                elif kind == PINGREQ:
                    self._send(writer, PINGRESP, 0, b"")
                elif kind == DISCONNECT:
                    return
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, struct.error, IndexError):
            return
        finally:
            self.clients.discard(writer)
            if session is not None and session.writer is writer:
                session.writer = None
                for item in session.inflight.values():
                    session.queue.appendleft(item)
                session.inflight.clear()
                # Forget the session only if it is still the one registered: the client may
                # already have reconnected, and its new session must not be dropped with the old.
                if not session.persistent and self.sessions.get(session.client_id) is session:
                    del self.sessions[session.client_id]
            writer.close()

    def _connect(self, body: bytes, writer: asyncio.StreamWriter) -> Session | None:
        pos = 2 + struct.unpack(">H", body[:2])[0] + 1  # protocol name + level
        flags = body[pos]
        pos += 3  # flags + keepalive
        n = struct.unpack(">H", body[pos:pos + 2])[0]
        client_id = body[pos + 2:pos + 2 + n].decode()
        pos += 2 + n
        if flags & 0x04:  # will: topic and message
            for _ in range(2):
                n = struct.unpack(">H", body[pos:pos + 2])[0]
                pos += 2 + n
        user = password = ""
        if flags & 0x80:
            n = struct.unpack(">H", body[pos:pos + 2])[0]
            user = body[pos + 2:pos + 2 + n].decode()
            pos += 2 + n
        if flags & 0x40:
            n = struct.unpack(">H", body[pos:pos + 2])[0]
            password = body[pos + 2:pos + 2 + n].decode()
        if not self.check_password(user, password):
            self._send(writer, CONNACK, 0, b"\x00\x05")  # not authorised
            return None
        clean = bool(flags & 0x02)
        old = self.sessions.get(client_id)
        if old is not None and old.writer is not None:
            old.writer.close()  # a second connection with the same id takes over
        if clean or old is None or old.user != user:
            session = Session(client_id, user, persistent=not clean)
        else:
            session = old
        session.writer = writer
        self.sessions[client_id] = session
        self._send(writer, CONNACK, 0, bytes((1 if (old is not None and not clean) else 0, 0)))
        self._flush(session)
        return session

    def _subscribe(self, session: Session, body: bytes, writer: asyncio.StreamWriter) -> None:
        pid, pos, codes = body[:2], 2, bytearray()
        while pos < len(body):
            n = struct.unpack(">H", body[pos:pos + 2])[0]
            pattern = body[pos + 2:pos + 2 + n].decode()
            qos = body[pos + 2 + n] & 0x03
            pos += 3 + n
            probe = pattern.replace("+", session.user if "/hubs/+" in pattern else "x").replace("#", "up/x")
            if allowed(session.user, probe, write=False) or session.user == "dsp":
                session.subscriptions[pattern] = min(qos, 1)
                codes.append(min(qos, 1))
            else:
                codes.append(0x80)
        self._send(writer, SUBACK, 0, pid + bytes(codes))

    def _publish(self, session: Session, flags: int, body: bytes, writer: asyncio.StreamWriter) -> None:
        n = struct.unpack(">H", body[:2])[0]
        topic = body[2:2 + n].decode()
        qos = (flags >> 1) & 0x03
        pos = 2 + n
        if qos:
            self._send(writer, PUBACK, 0, body[pos:pos + 2])
            pos += 2
        if not allowed(session.user, topic, write=True):
            return  # mosquitto drops an ACL-denied publish silently (and acknowledges it): so do we
        payload = body[pos:]
        for other in list(self.sessions.values()):
            if other.user != "dsp" and not allowed(other.user, topic, write=False):
                continue
            qos_out = max((q for p, q in other.subscriptions.items() if topic_matches(p, topic)), default=-1)
            if qos_out < 0:
                continue
            other.queue.append((topic, payload))
            self._flush(other)

    def _flush(self, session: Session) -> None:
        w = session.writer
        if w is None:
            return
        while session.queue:
            topic, payload = session.queue.popleft()
            pid = session.next_id
            session.next_id = session.next_id % 65535 + 1
            session.inflight[pid] = (topic, payload)
            self._send(w, PUBLISH, 0x02, _str(topic) + struct.pack(">H", pid) + payload)
