"""WN-1 / WN-2: the embedded broker, its ACL, and no loss or duplication across a broker restart."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import aiomqtt
import pytest

from emulator.clock import VirtualClock, run, until
from emulator.devices.profile import PremisesProfile
from emulator.pki.generate import device_eui
from emulator.scenarios.steps import commission, install
from emulator.scenarios.world import SUPPLIER, build_world
from emulator.transport import topics
from emulator.transport.broker import BrokerUrl, EmbeddedBroker, find_mosquitto, start_broker
from emulator.transport.mqtt_wan import MqttDspPort, MqttHubPort

needs_mosquitto = pytest.mark.skipif(find_mosquitto() is None,
                                     reason="mosquitto is not installed (./dev.sh installs it)")
HUB_A, HUB_B = device_eui(0, "CHF"), device_eui(1, "CHF")
_NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


class _CountingDspPort(MqttDspPort):
    """The DSP's MQTT port, counting what it sends down (so a test knows commands are on the wire)."""

    sent = 0

    async def send(self, hub: bytes, message: Any) -> None:
        self.sent += 1
        await super().send(hub, message)


def _client(url: BrokerUrl, ident: str) -> aiomqtt.Client:
    return aiomqtt.Client(url.host, url.port, username=url.username, password=url.password, identifier=ident,
                          socket_options=_NODELAY)


@needs_mosquitto
def test_wn2_acl_stops_a_hub_acting_as_another():
    async def main() -> None:
        async with start_broker(hubs={HUB_A, HUB_B}) as b:
            got: list[str] = []
            async with _client(b.dsp_url(), "dsp") as dsp, _client(b.hub_url(HUB_A), "a") as a:
                await dsp.subscribe(topics.DSP_SUBSCRIPTION, qos=1)
                await a.subscribe(topics.down(HUB_B), qos=1)  # not its own: refused or never delivered
                await a.subscribe(topics.down(HUB_A), qos=1)
                await a.publish(topics.up(HUB_B, "alert"), b"forged", qos=1)
                await a.publish(topics.up(HUB_A, "alert"), b"genuine", qos=1)
                await dsp.publish(topics.down(HUB_B), b"for-b", qos=1)
                await dsp.publish(topics.down(HUB_A), b"for-a", qos=1)

                async def collect(c: aiomqtt.Client, n: int) -> None:
                    async for m in c.messages:
                        got.append(f"{m.topic}={bytes(m.payload).decode()}")  # type: ignore[arg-type]
                        if len(got) >= n:
                            return

                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.gather(collect(dsp, 1), collect(a, 2)), 1.5)
            assert f"{topics.up(HUB_A, 'alert')}=genuine" in got
            assert f"{topics.down(HUB_A)}=for-a" in got
            assert not any("forged" in g or "for-b" in g for g in got), got
            with pytest.raises(aiomqtt.MqttError):
                async with aiomqtt.Client("127.0.0.1", b.port, username=HUB_A.hex().upper(), password="wrong"):
                    pass

    asyncio.run(main())


def test_wn2_broker_url_errors_name_the_part():
    with pytest.raises(ValueError, match="scheme"):
        BrokerUrl.parse("http://x:1")
    with pytest.raises(ValueError, match="port"):
        BrokerUrl.parse("mqtt://host:99999")
    assert BrokerUrl.parse("mqtt://u:p%40ss@h:1884") == BrokerUrl("h", 1884, "u", "p@ss")


@needs_mosquitto
def test_wn1_broker_killed_and_restarted_nothing_lost_nothing_twice():
    """60 reads in flight and an alert raised while mosquitto is down (SIGKILL, then restarted on
    its persistence): every read answered once, the alert stored once. ``./dev.sh soak`` runs it 50 times."""
    async def main() -> None:
        broker = EmbeddedBroker()
        await broker.start({HUB_A})
        try:
            port = _CountingDspPort(broker.dsp_url())
            w = await build_world(VirtualClock(), [PremisesProfile(gas=None)], dsp_port=port,
                                  hub_port=lambda hub: MqttHubPort(broker.hub_url(hub), hub),
                                  response_timeout_s=3600)
            p = w.premises[0]
            sup = w.users[SUPPLIER]
            await install(w, p, sup)
            await commission(w, p, sup)
            answers0 = len(w.dsp.inbox[SUPPLIER].answers)
            sent0 = port.sent
            tasks = [asyncio.ensure_future(sup.send("11.2", p.esme.hex().upper())) for _ in range(60)]
            assert await until(lambda: port.sent > sent0, 60), "no read went down to the hub within 60 s"
            await broker.kill()  # mid-flight: reads are on their way
            assert p.esme_runner is not None
            p.esme_runner.raise_alert(0x8F3F)  # an alert raised while the broker is down
            await asyncio.sleep(1)  # the scenario: the broker stays down for a second (virtual time)
            await broker.restart()
            results = await asyncio.wait_for(asyncio.gather(*tasks), 7200)  # virtual seconds
            codes = [final.code if final else ack.code for ack, final in results]
            state = {"dsp_link": (w.dsp.port.link.connected.is_set(), len(w.dsp.port.link.outbox)),  # type: ignore[attr-defined]
                     "hub_link": (p.chf_runner.wan.link.connected.is_set(),  # type: ignore[attr-defined]
                                  len(p.chf_runner.wan.link.outbox)),  # type: ignore[attr-defined]
                     "hub_answers": len(p.chf_runner.machine.answered), "dsp_seen": len(w.dsp.seen)}
            assert codes == ["I0"] * 60, f"{codes[:3]} {state}"
            finals = [a for a in w.dsp.inbox[SUPPLIER].answers[answers0:] if a.code == "I0"]
            assert len(finals) == 60 and len({a.request_id for a in finals}) == 60  # none twice

            def alerts() -> list[dict]:  # type: ignore[type-arg]
                return [r for r in w.dsp.core.repo.read_log("sat") if r["alert_code"] == "0x8F3F"]

            # The hub re-sends an unacknowledged alert every 30 s: give it a few goes.
            assert await until(lambda: bool(alerts()), 120, every=1), "the alert raised while the broker was down " \
                "never reached the SAT log within 120 s"
            await asyncio.sleep(90)  # an observation window: time for a second copy to arrive, which it must not
            assert len(alerts()) == 1, alerts()
            await w.stop()
        finally:
            await broker.stop()

    run(main())
