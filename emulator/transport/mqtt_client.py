"""The MQTT client under the WAN links (mqtt_wan.py, mqtt_mux.py): aiomqtt's, with paho's
publishes and socket I/O driven from the event loop more cheaply.

aiomqtt drives paho from asyncio: a readable socket calls ``loop_read``, and every packet paho
queues (a PUBLISH, a PUBACK) asks, through ``call_soon_threadsafe``, for a writer on the socket,
whose callback calls ``loop_write``. paho then reads each packet with one ``recv`` for its first byte,
one per byte of its length and one for the rest, and writes each packet with its own ``send``. In
the fleet (issue 13) that was eight system calls, two self-pipe wake-ups and four ``epoll_ctl`` per
SRV at each end, about a third of the MQTT cost per message. Here:

* reads: one ``recv`` of up to :data:`READ_CHUNK` bytes feeds paho's small reads from a buffer,
  and the readable callback goes on until the buffer is empty (the selector will not report
  bytes that are already out of the socket);
* writes: the packets paho queues in one loop turn go out in one ``send``, from a ``call_soon``
  (no self-pipe wake-up, no writer registration) when the socket takes them; a writer is registered
  only while the socket is full. Bytes are sent in the order paho wrote them, and a connection
  that breaks while bytes wait is reported as any other broken connection: the link re-sends what
  was not acknowledged (mqtt_wan.py), so nothing accepted is lost.
* PUBACKs: an MQTT 3.1.1 PUBACK is two bytes, the message id. paho decodes each into a new
  reason code and a new properties object (MQTT 5's) before it updates its state, a sixth of the
  link's CPU in an echo; here the id is read directly and paho's own ``_do_on_publish`` is given a
  shared success code and empty properties (what paho would have built for such a PUBACK). Any
  other PUBACK, and every PUBCOMP, goes to paho's decoder.
* publishes: the link calls paho's ``publish`` itself and paho's ``on_publish`` (the PUBACK) calls
  the link's ``acked``: aiomqtt spends two tasks, an event, a ``wait_for`` and a walk of every
  pending call on each QoS 1 publish.

(Messages down still come through aiomqtt's queue. Handing them to the link straight from paho's
``on_message`` saved a task per message, but the UIT over zigpy-znp in virtual time then failed
about one run in three on a loaded machine (the GSME missed its image and the CHF later found its
ESME "not joined"), and passed 5 of 5 with the queue. The cause, some order of events in the same
loop turns, was not found; the queue's extra turns stay.)

It also attaches a socket to the loop only while that socket is still its own. paho opens the
socket in aiomqtt's connect thread, and aiomqtt then schedules ``add_reader`` and ``add_writer`` on
the loop with the file number taken at that moment. When the connection fails at once (a broker
coming back up), the socket is closed before the loop runs those calls, and the number may already
belong to the next connection's socket: the stale reader then takes that connection's bytes for a
dead client, and the new link looks connected but hears nothing, not even its PUBACKs (seen about 1
run in 8 of the broker-restart test). Here the loop checks, when it runs the call, that the socket
is still open and still the client's.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from typing import Any

import aiomqtt
import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

#: Bytes taken from the socket at a time (a burst of PUBACKs and small PUBLISHes, many at once).
READ_CHUNK = 65536
#: What paho's decoder gives every MQTT 3.1.1 PUBACK (which carries no reason code or properties).
_PUBACK_SUCCESS = ReasonCode(PacketTypes.PUBACK)
_NO_PROPERTIES = Properties(PacketTypes.PUBACK)  # type: ignore[no-untyped-call]


class LinkClient(aiomqtt.Client):
    """aiomqtt's client with batched socket I/O and direct publishes (see the module's text)."""

    acked: Callable[[int], None] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loop_thread = threading.get_ident()
        self._rdata = b""  # taken from the socket, not yet handed to paho
        self._rpos = 0
        self._reads = 0  # paho's reads so far: a turn that made none has nothing more to take
        self._collect: bytearray | None = None  # packets paho writes in this loop turn
        self._unsent = bytearray()  # written by paho, not yet taken by the socket
        self._write_soon = False
        self._writer_fd = -1  # the file number our writer is registered on, or -1
        paho = self._client
        # Instance attributes take precedence over paho's methods: its every read and write goes here.
        paho._sock_recv = self._sock_recv  # type: ignore[method-assign]
        paho._sock_send = self._sock_send  # type: ignore[method-assign]
        paho._handle_pubackcomp = self._handle_pubackcomp  # type: ignore[method-assign]

    # --- publishes ---------------------------------------------------------------------------
    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason_code: Any, properties: Any) -> None:
        if self.acked is not None:
            self.acked(mid)
        super()._on_publish(client, userdata, mid, reason_code, properties)

    def _handle_pubackcomp(self, cmd: Any) -> MQTTErrorCode:
        paho = self._client
        packet = paho._in_packet["packet"]
        if cmd != "PUBACK" or paho._protocol == mqtt.MQTTv5 or len(packet) != 2:
            return mqtt.Client._handle_pubackcomp(paho, cmd)
        mid = packet[0] << 8 | packet[1]
        with paho._out_message_mutex:
            if mid in paho._out_messages:  # as paho: a repeated PUBACK informs nobody twice
                return paho._do_on_publish(mid, _PUBACK_SUCCESS, _NO_PROPERTIES)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    # --- reads -------------------------------------------------------------------------------
    def _on_socket_open(self, client: mqtt.Client, userdata: Any, sock: mqtt.SocketLike) -> None:
        loop = self._loop

        def attach() -> None:
            if sock.fileno() == -1 or client.socket() is not sock:
                return  # closed or replaced before the loop got here: its number is not ours now
            loop.add_reader(sock.fileno(), self._readable, client)
            self._misc_task = loop.create_task(self._misc_loop())

        loop.call_soon_threadsafe(attach)

    def _sock_recv(self, bufsize: int) -> bytes:
        self._reads += 1
        data, pos = self._rdata, self._rpos
        if pos >= len(data):
            # paho's own read maps a TLS socket's want-read/want-write to BlockingIOError.
            data = mqtt.Client._sock_recv(self._client, READ_CHUNK)
            if not data:
                return data  # the broker closed the connection
            self._rdata, pos = data, 0
        self._rpos = pos + bufsize
        return data[pos:pos + bufsize]

    def _readable(self, client: mqtt.Client) -> None:
        try:
            while True:
                before = self._reads
                client.loop_read()
                if self._rpos < len(self._rdata) and client.socket() is not None and self._reads != before:
                    continue  # packets already read from the socket: the selector will not say so
                # A TLS socket may hold decoded bytes that the selector will not report again.
                pending = getattr(client.socket(), "pending", None)
                if pending is None or pending() <= 0:
                    break
        except Exception as exc:  # a broken connection: the client's disconnect future says why
            self._broken(exc)

    # --- writes ------------------------------------------------------------------------------
    def _on_socket_register_write(self, client: mqtt.Client, userdata: Any, sock: mqtt.SocketLike) -> None:
        if threading.get_ident() == self._loop_thread:
            if not self._write_soon:  # a burst of packets queued in this turn: one write for all
                self._write_soon = True
                self._loop.call_soon(self._write_now, client, sock)
            return

        def attach() -> None:  # paho queued the CONNECT in aiomqtt's connect thread
            if sock.fileno() == -1 or client.socket() is not sock:
                return
            self._write_now(client, sock)

        self._loop.call_soon_threadsafe(attach)

    def _on_socket_unregister_write(self, client: mqtt.Client, userdata: Any, sock: mqtt.SocketLike) -> None:
        pass  # our writer is ours to remove, when nothing waits (_writable)

    def _write_now(self, client: mqtt.Client, sock: mqtt.SocketLike) -> None:
        self._write_soon = False
        if sock.fileno() == -1 or client.socket() is not sock:
            return
        self._writable(client)

    def _writable(self, client: mqtt.Client) -> None:
        try:
            if not self._unsent or self._flush(client):
                self._collect = bytearray()
                try:
                    client.loop_write()
                finally:
                    collected, self._collect = self._collect, None
                if collected:
                    self._unsent += collected
                    self._flush(client)
        except Exception as exc:
            self._broken(exc)
            return
        self._watch_writable(client, bool(self._unsent) or client.want_write())

    def _sock_send(self, buf: bytes | bytearray) -> int:
        collect = self._collect
        if collect is None:  # not in our write turn (paho writing on its own): as paho would
            return mqtt.Client._sock_send(self._client, buf)
        collect += buf
        if buf[:1] == b"\xe0":  # DISCONNECT: paho closes the socket next, so out now, all of it
            self._unsent += collect
            collect.clear()
            self._flush(self._client)
        return len(buf)

    def _flush(self, client: mqtt.Client) -> bool:
        """Send what waits; True if the socket took all of it. A broken connection raises."""
        sock = client.socket()
        if sock is None:
            self._unsent.clear()  # the connection is gone: the link re-sends what was unacknowledged
            return True
        try:
            sent = sock.send(self._unsent)
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            return False
        del self._unsent[:sent]
        return not self._unsent

    def _watch_writable(self, client: mqtt.Client, want: bool) -> None:
        sock = client.socket()
        fd = sock.fileno() if sock is not None else -1
        if want and fd != -1:
            if self._writer_fd != fd:
                self._loop.add_writer(fd, self._writable, client)
                self._writer_fd = fd
        elif self._writer_fd != -1:
            if fd == self._writer_fd:
                self._loop.remove_writer(fd)
            self._writer_fd = -1

    def _on_socket_close(self, client: mqtt.Client, userdata: Any, sock: mqtt.SocketLike) -> None:
        if self._writer_fd != -1 and sock.fileno() == self._writer_fd:
            self._loop.remove_writer(self._writer_fd)
        self._writer_fd = -1
        self._unsent.clear()
        super()._on_socket_close(client, userdata, sock)

    def _broken(self, exc: Exception) -> None:
        if not self._disconnected.done():
            self._disconnected.set_exception(exc)
