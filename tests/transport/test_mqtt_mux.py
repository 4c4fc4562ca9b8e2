"""Many hubs over a few MQTT connections (issue 13): topics unchanged, each hub's order kept, one
slow hub holding up no other, and the multiplexing user confined to the hubs' side of the ACL."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import aiomqtt
import pytest

from emulator.clock import until
from emulator.pki.generate import device_eui
from emulator.transport import topics
from emulator.transport.broker import BrokerUrl, find_mosquitto, start_broker
from emulator.transport.mqtt_mux import MqttMux, _Lane, _MuxLink, links_for
from emulator.transport.mqtt_wan import MqttDspPort
from emulator.transport.wan_messages import Command, DeviceResponse, DownMessage, UpMessage
from emulator.zigbee.eui64 import Eui64

needs_mosquitto = pytest.mark.skipif(find_mosquitto() is None,
                                     reason="mosquitto is not installed (./dev.sh installs it)")
HUBS = [device_eui(i, "CHF") for i in range(3)]


def test_link_hands_each_hub_its_messages_in_order_and_a_slow_hub_blocks_no_other():
    """Messages for three hubs arrive interleaved on one link; hub 0's handler is held on its first
    message. Hubs 1 and 2 get all theirs meanwhile, hub 0 none of its later ones; released, hub 0
    gets the rest in the order sent."""

    async def main() -> None:
        link = _MuxLink(BrokerUrl("127.0.0.1", 1), "test")
        mux = MqttMux(BrokerUrl("127.0.0.1", 1), 1)
        got: dict[bytes, list[int]] = {hub: [] for hub in HUBS}
        release = asyncio.Event()
        for hub in HUBS:
            lane = _Lane(mux, hub, link)
            link.lanes[lane.topic] = lane

            async def handle(topic: str, payload: bytes, hub: bytes = hub) -> None:
                n = int(payload)
                got[hub].append(n)
                if hub == HUBS[0] and n == 0:
                    await release.wait()
                await asyncio.sleep(0)

            lane.on_message = handle
        for n in range(20):
            for hub in HUBS:
                await link._route(topics.down(hub), str(n).encode())
        assert await until(lambda: len(got[HUBS[1]]) == 20 and len(got[HUBS[2]]) == 20, 5.0)
        assert got[HUBS[0]] == [0]
        release.set()
        assert await until(lambda: len(got[HUBS[0]]) == 20, 5.0)
        assert all(got[hub] == list(range(20)) for hub in HUBS), got
        assert await until(lambda: not link._busy, 5.0)  # idle hubs hold no queue
        assert not link._handlers

    asyncio.run(main())


def test_links_for_shares_out_hubs():
    assert [links_for(n) for n in (1, 5000, 5001, 20_000)] == [1, 1, 2, 4]


def test_hubs_take_the_links_in_turn():
    mux = MqttMux(BrokerUrl("127.0.0.1", 1), 2)
    ports = [mux.hub_port(hub) for hub in HUBS]
    assert [p.link.link for p in ports] == [mux.links[0], mux.links[1], mux.links[0]]  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="at least one"):
        MqttMux(BrokerUrl("127.0.0.1", 1), 0)


@needs_mosquitto
def test_wn1_hubs_over_a_mux_keep_topics_and_per_hub_order_both_ways():
    """Six hubs over two connections as the multiplexing user and a DSP on its own: 30 numbered
    commands to each hub arrive in order on its own down topic, and its 30 answers reach the DSP
    in order on its own up topic."""
    hubs = [device_eui(i, "CHF") for i in range(6)]
    per_hub = 30

    async def main() -> None:
        async with start_broker() as broker:
            mux = MqttMux(broker.mux_url(), 2, "test-mux")
            await mux.start(10.0)
            down: dict[bytes, list[int]] = {hub: [] for hub in hubs}
            up: dict[bytes, list[int]] = {hub: [] for hub in hubs}
            ports = [mux.hub_port(hub) for hub in hubs]
            for hub, port in zip(hubs, ports, strict=True):
                async def on_down(message: DownMessage, hub: bytes = hub, port: Any = port) -> None:
                    assert isinstance(message, Command)
                    n = int(message.request_id)
                    down[hub].append(n)
                    await port.send(DeviceResponse(f"r{n}", Eui64(hub), n, b"\xdf"))

                await port.start(on_down)
            assert await mux.wait_subscribed(10.0)
            dsp = MqttDspPort(broker.dsp_url())

            async def on_up(hub: bytes, message: UpMessage) -> None:
                assert isinstance(message, DeviceResponse)
                up[hub].append(message.counter)

            await dsp.start(on_up)
            for n in range(per_hub):
                for hub in hubs:
                    await dsp.send(hub, Command(f"c{n}", str(n), b"\xdf"))
            try:
                assert await until(lambda: all(len(up[h]) == per_hub for h in hubs), 30.0), up
                assert all(down[h] == list(range(per_hub)) for h in hubs), down
                assert all(up[h] == list(range(per_hub)) for h in hubs), up
                assert mux.reconnects == 0
            finally:
                await dsp.stop()
                for port in ports:
                    await port.stop()
                await mux.stop()

    asyncio.run(main())


@needs_mosquitto
def test_wn2_the_multiplexing_user_cannot_act_as_the_dsp():
    """The mux user writes hubs' up topics and reads their down topics, never the other way."""
    hub = HUBS[0]

    async def main() -> None:
        async with start_broker() as b:
            m, d = b.mux_url(), b.dsp_url()
            got: list[str] = []
            async with aiomqtt.Client(m.host, m.port, username=m.username, password=m.password,
                                      identifier="mux") as mux, \
                    aiomqtt.Client(d.host, d.port, username=d.username, password=d.password,
                                   identifier="dsp") as dsp:
                await mux.subscribe(topics.DSP_SUBSCRIPTION, qos=1)  # the DSP's side: never delivered
                await mux.subscribe(topics.down(hub), qos=1)
                await dsp.subscribe(topics.down(hub), qos=1)
                await mux.publish(topics.down(hub), b"forged-down", qos=1)
                await dsp.publish(topics.down(hub), b"command", qos=1)
                await mux.publish(topics.up(hub, "response"), json.dumps({"ok": 1}).encode(), qos=1)

                async def collect(c: aiomqtt.Client, who: str) -> None:
                    async for msg in c.messages:
                        got.append(f"{who}:{msg.topic}={bytes(msg.payload).decode()}")  # type: ignore[arg-type]

                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.gather(collect(mux, "mux"), collect(dsp, "dsp")), 1.5)
            assert f"mux:{topics.down(hub)}=command" in got
            assert not any("forged-down" in g for g in got), got
            assert not any(g.startswith("mux:") and "/up/" in g for g in got), got

    asyncio.run(main())
