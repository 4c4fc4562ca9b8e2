"""The WAN topic scheme (WN-1). One root, one subtree per hub (its CHF EUI, upper hex):

    smets2/hubs/<HUB>/down            DSP -> hub: commands (GBCS), firmware images
    smets2/hubs/<HUB>/up/response     hub -> DSP: device responses
    smets2/hubs/<HUB>/up/alert        hub -> DSP: device alerts
    smets2/hubs/<HUB>/up/event        hub -> DSP: joins, refusals, unreachable devices

All QoS 1. A hub's broker user is its EUI, and the ACL lets it read only its own
``down`` and write only its own ``up/#``; the DSP user reads ``up/#`` of every hub.
"""

from __future__ import annotations

import re

ROOT = "smets2"
DSP_SUBSCRIPTION = f"{ROOT}/hubs/+/up/#"
_UP = re.compile(rf"^{ROOT}/hubs/([0-9A-F]{{16}})/up/(response|alert|event)$")


class TopicError(ValueError):
    """A topic outside the scheme; the message names it."""


def down(hub: bytes) -> str:
    return f"{ROOT}/hubs/{hub.hex().upper()}/down"


def up(hub: bytes, kind: str) -> str:
    if kind not in ("response", "alert", "event"):
        raise TopicError(f"unknown upward message kind {kind!r}")
    return f"{ROOT}/hubs/{hub.hex().upper()}/up/{kind}"


def parse_up(topic: str) -> tuple[bytes, str]:
    m = _UP.match(topic)
    if m is None:
        raise TopicError(f"topic {topic!r} is not smets2/hubs/<16 hex>/up/<response|alert|event>")
    return bytes.fromhex(m.group(1)), m.group(2)


#: The broker user of a fleet worker that multiplexes many hubs over a few connections
#: (emulator/transport/mqtt_mux.py): it reads every hub's ``down`` and writes every hub's ``up``.
MUX_USER = "hubs"


def acl() -> str:
    """A mosquitto ACL implementing the scheme (hub users are named by their EUI)."""
    return (f"user dsp\ntopic readwrite {ROOT}/#\n\n"
            f"user {MUX_USER}\ntopic read {ROOT}/hubs/+/down\ntopic write {ROOT}/hubs/+/up/#\n\n"
            f"pattern read {ROOT}/hubs/%u/down\n"
            f"pattern write {ROOT}/hubs/%u/up/#\n")
