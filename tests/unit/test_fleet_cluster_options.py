"""``fleet run --cluster N`` and ``--fault node-kill@T[:N]``: what is refused, and why (no broker started)."""

from __future__ import annotations

import re

import pytest

from emulator.scenarios.fleet_run import Fault, RunOptions
from emulator.transport.rabbit_cluster import grants, rabbit_password_hash

HUB = bytes.fromhex("00DB123400000001")


def test_node_kill_parses_with_node_one_by_default():
    assert Fault.parse("node-kill@30") == Fault("node-kill", 30.0, 1)
    assert Fault.parse("node-kill@12.5:2") == Fault("node-kill", 12.5, 2)


def test_cluster_options_refused_with_the_reason():
    with pytest.raises(ValueError, match="takes no --broker"):
        RunOptions(premises=4, broker="mqtt://h:1883", cluster=3).check()
    with pytest.raises(ValueError, match="needs --cluster with more than 3 nodes"):
        RunOptions(premises=4, cluster=3, faults=[Fault("node-kill", 1.0, 3)]).check()
    with pytest.raises(ValueError, match="needs --cluster"):
        RunOptions(premises=4, faults=[Fault("node-kill", 1.0, 1)]).check()
    with pytest.raises(ValueError, match="broker-restart needs the embedded broker"):
        RunOptions(premises=4, cluster=3, faults=[Fault("broker-restart", 1.0)]).check()
    RunOptions(premises=4, workers=2, cluster=3, faults=[Fault("node-kill", 1.0, 2)]).check()


def test_rabbit_password_hash_is_rabbitmqs_sha256_scheme():
    # base64(salt + SHA-256(salt + password)); the digest from coreutils:
    # printf '\x01\x02\x03\x04secret' | sha256sum -> 307d90cd...cdcf333
    assert rabbit_password_hash("secret", bytes([1, 2, 3, 4])) == "AQIDBDB9kM21iEUzN1lZ+6VReCsdNqS0sERdAQTcY6Xs3PMz"


def test_wn2_hub_user_may_touch_only_its_own_topics_and_queue():
    hub = next(g for g in grants(b"k" * 16, {HUB}) if g.user == "00DB123400000001")
    assert re.match(hub.topic_read, "smets2.hubs.00DB123400000001.down")
    assert not re.match(hub.topic_read, "smets2.hubs.00DB123400000002.down")
    assert re.match(hub.topic_write, "smets2.hubs.00DB123400000001.up.alert")
    assert not re.match(hub.topic_write, "smets2.hubs.00DB123400000002.up.alert")
    assert not re.match(hub.topic_write, "smets2.hubs.00DB123400000001.down")
    assert re.match(hub.configure, "mqtt-subscription-chf-00DB123400000001qos1")
    assert not re.match(hub.configure, "mqtt-subscription-chf-00DB123400000002qos1")
