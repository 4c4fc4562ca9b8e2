"""The fleet across a real RabbitMQ cluster on this machine (rabbit_cluster.py), when Debian's
rabbitmq-server is installed (skipped otherwise, saying so):

* the users: a hub logs in with the password derived from the run's secret, reads only its own
  ``down`` and writes only its own ``up`` (topics.acl()'s rules, as RabbitMQ topic permissions),
  and a message the DSP sends on one node reaches a hub on another;
* ``fleet run --cluster 3`` with the DSP on node 0 and a worker on each node, one node killed
  mid-load: its hubs fail over to the next node and nothing accepted is lost.

Deadlines, not pauses: each wait has a bound, the run waits on its own conditions."""

from __future__ import annotations

import asyncio

import aiomqtt
import pytest

from emulator.pki.generate import device_eui
from emulator.scenarios.fleet_run import Fault, RunOptions, run_fleet
from emulator.transport import topics
from emulator.transport.broker import BrokerError, hub_password
from emulator.transport.rabbit_cluster import RABBIT_BIN, RabbitCluster, start_cluster

pytestmark = pytest.mark.skipif(not (RABBIT_BIN / "rabbitmq-server").exists(),
                                reason="rabbitmq-server is not installed (apt-get install rabbitmq-server)")
#: Three Erlang VMs booting on a loaded 2-core machine: about a minute; generous, so slow is not red.
LOADED_S = 300.0
HUB_A, HUB_B = device_eui(0, "CHF"), device_eui(1, "CHF")


def _hub(cluster: RabbitCluster, node: int, hub: bytes, password: str | None = None) -> aiomqtt.Client:
    return aiomqtt.Client("127.0.0.1", cluster.nodes[node].mqtt_port, username=hub.hex().upper(),
                          password=password or hub_password(cluster.secret, hub),
                          identifier=f"chf-{hub.hex().upper()}", timeout=20)


async def _first(client: aiomqtt.Client, timeout: float) -> str:
    async def one() -> str:
        async for m in client.messages:
            return f"{m.topic}={bytes(m.payload).decode()}"
        return ""

    return await asyncio.wait_for(one(), timeout)


def test_wn2_rabbit_cluster_users_and_routes_across_nodes():
    async def main() -> None:
        async with start_cluster(2, {HUB_A, HUB_B}) as cluster:
            assert len(await cluster.cluster_nodes()) == 2  # one cluster, not two brokers
            d = cluster.dsp_url(0)
            async with aiomqtt.Client(d.host, d.port, username=d.username, password=d.password,
                                      identifier="dsp", timeout=20) as dsp:
                await dsp.subscribe(topics.DSP_SUBSCRIPTION, qos=1)
                async with _hub(cluster, 1, HUB_A) as a:
                    await a.subscribe(topics.down(HUB_A), qos=1)
                    await dsp.publish(topics.down(HUB_A), b"command", qos=1)       # node 0 -> node 1
                    assert await _first(a, 30) == f"{topics.down(HUB_A)}=command"
                    await a.publish(topics.up(HUB_A, "response"), b"answer", qos=1)  # node 1 -> node 0
                    assert await _first(dsp, 30) == f"{topics.up(HUB_A, 'response')}=answer"
                    # Not its own: RabbitMQ closes the connection (MQTT 3.1.1 has no refusal code
                    # for a PUBLISH or a SUBSCRIBE), where mosquitto drops it and keeps the client.
                    with pytest.raises(aiomqtt.MqttError):
                        await a.publish(topics.up(HUB_B, "alert"), b"forged", qos=1, timeout=10)
                async with _hub(cluster, 1, HUB_A) as a:
                    with pytest.raises(aiomqtt.MqttError):
                        await a.subscribe(topics.down(HUB_B), qos=1, timeout=10)
                async with _hub(cluster, 1, HUB_A) as a:
                    await a.publish(topics.up(HUB_A, "alert"), b"genuine", qos=1)
                # The forged alert never reached the DSP: the next thing it hears is the genuine one.
                assert await _first(dsp, 30) == f"{topics.up(HUB_A, 'alert')}=genuine"
            with pytest.raises(aiomqtt.MqttError, match=r"[Bb]ad user name or password|[Nn]ot authori[sz]ed"):
                async with _hub(cluster, 0, HUB_A, password="wrong"):
                    pass

    asyncio.run(main())


def test_rabbit_cluster_says_what_to_install_when_rabbitmq_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setattr("emulator.transport.rabbit_cluster.RABBIT_BIN", tmp_path)
    with pytest.raises(BrokerError, match="apt-get install rabbitmq-server"):
        RabbitCluster(3)


def test_fleet_run_on_a_cluster_node_killed_loses_nothing():
    options = RunOptions(premises=6, workers=3, rate=10.0, duration_s=6.0, seed=3, resend_s=2.0, retry_for_s=90.0,
                         gsme_wake_s=2.0, ready_timeout_s=LOADED_S, commission_timeout_s=LOADED_S, cluster=3,
                         faults=[Fault("node-kill", 2.0, 1)])
    lines: list[str] = []
    report = asyncio.run(run_fleet(options, lines.append))
    assert report["broker"].startswith("RabbitMQ cluster of 3 nodes"), report["broker"]
    assert report["start"]["commission_failures"] == 0
    assert report["accepted"] > 0
    assert report["lost"] == 0 and report["unfinished"] == 0, report["unexpected"]
    assert report["throughput"]["done"] == report["throughput"]["sent"]
    (fault,) = report["faults"]
    assert fault["fault"] == "node-kill" and fault["recovery_s"] is not None
    assert fault["premises_affected"] == 2  # worker 1's two premises were on node 1
    assert any("killed" in line for line in lines)
    # Every node's CPU is counted while it lives: the two left are in the report.
    assert {k for k in report["cpu"]["seconds"] if k.startswith("broker")} == {"broker0", "broker2"}
    assert report["cpu"]["ms_per_request"]["broker"] > 0
