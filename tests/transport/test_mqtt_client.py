"""The links' MQTT client (transport/mqtt_client.py): paho's reads and writes batched, and its
MQTT 3.1.1 PUBACKs read directly. What must stay true: every message arrives, whole and in order,
every PUBACK reaches the link, a full socket holds bytes back instead of losing them, and a paho
that no longer has the parts hooked here fails a test instead of silently bypassing them."""

from __future__ import annotations

import asyncio
import inspect
import socket
from collections.abc import Callable

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt._packet import MalformedPacket

from emulator.transport import topics
from emulator.transport.broker import EmbeddedBroker, find_mosquitto
from emulator.transport.mqtt_client import LinkClient
from emulator.transport.mqtt_wan import _Link

HUB = bytes.fromhex("00DB123400000009")
needs_mosquitto = pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto is not installed")


def test_paho_still_has_the_private_parts_the_link_client_hooks():
    """LinkClient replaces three of paho's methods on its instance and reads four of its fields:
    a paho release that renames them must fail here, not quietly go back to its own code."""
    params = {name: list(inspect.signature(getattr(mqtt.Client, name)).parameters)
              for name in ("_sock_recv", "_sock_send", "_handle_pubackcomp", "_do_on_publish")}
    assert params == {"_sock_recv": ["self", "bufsize"], "_sock_send": ["self", "buf"],
                      "_handle_pubackcomp": ["self", "cmd"],
                      "_do_on_publish": ["self", "mid", "reason_code", "properties"]}
    client = _client()
    paho = client._client
    for field in ("_in_packet", "_out_messages", "_out_message_mutex", "_protocol"):
        assert hasattr(paho, field), field
    # ... and the instance's methods are ours.
    assert paho._sock_recv == client._sock_recv
    assert paho._sock_send == client._sock_send
    assert paho._handle_pubackcomp == client._handle_pubackcomp


def test_a_puback_of_the_wrong_size_goes_to_paho_and_is_refused_as_paho_refuses_it():
    paho = _client()._client
    paho._in_packet = {"command": 0x40, "have_remaining": 1, "remaining_count": [3], "remaining_mult": 1,
                       "remaining_length": 3, "packet": bytearray(b"\x00\x07\x00"), "to_process": 0, "pos": 0}
    with pytest.raises(MalformedPacket, match="wrong size"):
        paho._handle_pubackcomp("PUBACK")


def _client() -> LinkClient:
    """A client, not connected (aiomqtt's takes the running loop when it is made)."""
    async def make() -> LinkClient:
        return LinkClient("127.0.0.1", 1)

    return asyncio.run(make())


async def _until(condition: Callable[[], bool], what: str, seconds: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {seconds:g} s: {what}")
        await asyncio.sleep(0.01)


async def _pair(broker: EmbeddedBroker) -> tuple[_Link, _Link, list[bytes]]:
    """A hub's link and the DSP's, the DSP keeping what it hears in order."""
    heard: list[bytes] = []

    async def on_up(topic: str, payload: bytes) -> None:
        heard.append(payload)

    dsp = _Link(broker.dsp_url(), "dsp", [topics.DSP_SUBSCRIPTION])
    dsp.on_message = on_up
    await dsp.start_connected(10)
    hub = _Link(broker.hub_url(HUB), "chf-test", [topics.down(HUB)])
    await hub.start_connected(10)
    return hub, dsp, heard


def _count_flushes(client: LinkClient) -> list[bool]:
    """Each write the client makes to its socket, True if the socket took all that waited."""
    results: list[bool] = []
    flush = client._flush

    def counted(paho: mqtt.Client) -> bool:
        results.append(flush(paho))
        return results[-1]

    client._flush = counted  # type: ignore[method-assign]
    return results


@needs_mosquitto
def test_wn1_a_burst_of_publishes_goes_out_in_a_few_writes_all_acknowledged_in_order():
    """200 messages published in one loop turn: paho wrote each with its own send; here they
    leave in a handful of writes, every PUBACK reaches the link, and the DSP hears them in order."""
    async def main() -> None:
        async with _started() as broker:
            hub, dsp, heard = await _pair(broker)
            assert hub.client is not None
            writes = _count_flushes(hub.client)
            sent = [f"m{i:03d}".encode() for i in range(200)]
            for payload in sent:
                hub.publish(topics.up(HUB, "response"), payload)
            await _until(lambda: len(heard) == 200, "the DSP hears all 200")
            await _until(lambda: not hub._unacked and not hub.outbox, "every PUBACK reaches the link")
            assert heard == sent
            assert 1 <= len(writes) <= 10, f"{len(writes)} writes for 200 publishes"
            await hub.stop()
            await dsp.stop()

    asyncio.run(main())


@needs_mosquitto
def test_wn1_a_full_socket_holds_the_rest_back_and_sends_it_when_it_drains():
    """A send buffer of a few kilobytes and 2.4 MB published at once: the socket takes part of
    it, the rest waits for the socket to drain, and every byte arrives, in order."""
    async def main() -> None:
        async with _started() as broker:
            hub, dsp, heard = await _pair(broker)
            assert hub.client is not None
            sock = hub.client._client.socket()
            assert isinstance(sock, socket.socket)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            writes = _count_flushes(hub.client)
            sent = [bytes([i]) * 20_000 for i in range(120)]
            for payload in sent:
                hub.publish(topics.up(HUB, "response"), payload)
            await _until(lambda: len(heard) == len(sent), "the DSP hears all 120", 60)
            assert heard == sent
            assert False in writes, "the socket never refused part of a write: the test proves nothing"
            await _until(lambda: not hub._unacked, "every PUBACK reaches the link")
            await hub.stop()
            await dsp.stop()

    asyncio.run(main())


class _started:
    """An embedded mosquitto that knows the test hub."""

    async def __aenter__(self) -> EmbeddedBroker:
        self.broker = EmbeddedBroker()
        await self.broker.start({HUB})
        return self.broker

    async def __aexit__(self, *exc: object) -> None:
        await self.broker.stop()
