"""A broker given as several nodes (``mqtt://user:pass@a:1883,b:1884``): the URL's parts, and a
link that loses its node going on through the next (WN-1's reconnect loop, for a clustered broker)."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.transport import topics
from emulator.transport.broker import BrokerUrl, EmbeddedBroker, find_mosquitto
from emulator.transport.mqtt_wan import _Link

HUB = bytes.fromhex("00DB123400000001")


def test_wn2_broker_url_lists_the_other_nodes():
    url = BrokerUrl.parse("mqtt://dsp:p%40ss@10.0.0.1:1883,10.0.0.2:1884,broker3")
    assert url == BrokerUrl("10.0.0.1", 1883, "dsp", "p@ss", (("10.0.0.2", 1884), ("broker3", 1883)))
    # One node: no others, and failing over stays on it.
    assert BrokerUrl.parse("mqtt://h:1884").failover() == BrokerUrl("h", 1884)


def test_wn2_failover_goes_round_the_nodes_with_the_same_user():
    url = BrokerUrl.parse("mqtt://a:1,b:2,c:3").with_user("00DB123400000001", "pw")
    seen = []
    for _ in range(4):
        seen.append((url.host, url.port))
        url = url.failover()
    assert seen == [("a", 1), ("b", 2), ("c", 3), ("a", 1)]
    assert url.username == "00DB123400000001" and url.password == "pw"


def test_wn2_a_node_list_error_names_the_bad_part():
    with pytest.raises(ValueError, match="port"):
        BrokerUrl.parse("mqtt://a:1883,b:99999")
    with pytest.raises(ValueError, match="no host"):
        BrokerUrl.parse("mqtt://u:p@a:1883,")


_host = st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True)
_port = st.integers(1, 65535)


@given(st.lists(st.tuples(_host, _port), min_size=1, max_size=4),
       st.one_of(st.none(), st.text(min_size=1, max_size=12)), st.text(min_size=1, max_size=12))
def test_broker_url_round_trips_through_its_text(nodes, user, password):
    (host, port), *others = nodes
    url = BrokerUrl(host, port, user, password if user else None, tuple(others))
    assert BrokerUrl.parse(url.to_url()) == url


@pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto is not installed")
def test_wn1_a_link_whose_node_dies_goes_on_through_the_next():
    """Two mosquittos with the same users stand for two nodes (mosquitto does not cluster: the
    DSP's side is on the second). The first dies; the hub's link, given both, reconnects to the
    second, gets a message sent there, and its own message goes out there."""
    async def main() -> None:
        a, b = EmbeddedBroker(), EmbeddedBroker()
        b.secret, b.dsp_password = a.secret, a.dsp_password  # a cluster's nodes share their users
        await a.start({HUB})
        await b.start({HUB})
        try:
            one = a.hub_url(HUB)
            hub = _Link(BrokerUrl(one.host, one.port, one.username, one.password, (("127.0.0.1", b.port),)),
                        "chf-test", [topics.down(HUB)])
            got: asyncio.Queue[bytes] = asyncio.Queue()

            async def on(topic: str, payload: bytes) -> None:
                await got.put(payload)

            hub.on_message = on
            await hub.start_connected(10)
            assert hub.url.port == a.port
            await a.kill()
            dsp = _Link(b.dsp_url(), "dsp", [topics.DSP_SUBSCRIPTION])
            up: asyncio.Queue[str] = asyncio.Queue()

            async def on_up(topic: str, payload: bytes) -> None:
                await up.put(f"{topic}={payload.decode()}")

            dsp.on_message = on_up
            await dsp.start_connected(10)
            await asyncio.wait_for(_until(lambda: hub.connected.is_set() and hub.url.port == b.port), 30)
            dsp.publish(topics.down(HUB), b"after-failover")
            assert await asyncio.wait_for(got.get(), 15) == b"after-failover"
            hub.publish(topics.up(HUB, "response"), b"answer")
            assert await asyncio.wait_for(up.get(), 15) == f"{topics.up(HUB, 'response')}=answer"
            await dsp.stop()
            await hub.stop()
        finally:
            await a.stop()
            await b.stop()

    asyncio.run(main())


async def _until(condition: object) -> None:
    assert callable(condition)
    while not condition():
        await asyncio.sleep(0.05)
