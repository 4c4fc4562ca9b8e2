"""The ESME's configuration objects as they leave the factory: (class, OBIS, attribute) ->
value, with the DLMS type GBCS gives each (the one its read use case returns).

These are the objects an SRV sets and another reads back (names, thresholds, labels,
MPANs, calendars, alert behaviours, account mode ...); the COSEM model keeps them in
its store, so a Set changes what the next Get returns. Measured values (registers,
profiles, logs, clock, supply state) are computed instead, in :mod:`emulator.devices.cosem`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType

from emulator.gbcs.dlms import Data
from emulator.gbcs.obis import obis

ObjectKey = tuple[int, bytes, int]


def _o(h: str) -> Data:
    return Data("octet-string", bytes.fromhex(h))


def _u32(v: int) -> Data:
    return Data("double-long-unsigned", v)


_NEVER = "FFFFFFFFFF"  # every field "not specified": any date
_MIDNIGHT = "00000000"


def factory_objects(eui: bytes, model: bytes = b"EMU-ESME", smets_version: bytes = b"CSW") -> dict[ObjectKey, Data]:
    """A fresh ESME's stored objects. ``eui`` and model are the device's identity (ECS26e)."""
    table: dict[str, Data] = {
        # identity (ECS26e/i/m/n): device id, device type, model, SMETS/CHTS version, supply tamper lock
        "1 0-0:96.1.1.255 2": Data("octet-string", eui),
        "1 0-0:96.1.2.255 2": _o("42"),
        "1 0-0:96.1.4.255 2": Data("octet-string", model),
        "1 0-0:96.1.6.255 2": Data("octet-string", smets_version),
        "1 0-0:94.44.0.4 2": Data("boolean", 0x00),
        # randomisation (ECS26c / ECS38): offset limit, randomised offset number, ...
        "1 0-0:94.44.0.0 2": Data("long-unsigned", 0),
        "1 0-0:94.44.0.2 2": Data("long-unsigned", 0),
        "1 0-0:94.44.0.1 2": Data("long-unsigned", 0),
        # billing calendar (ECS26d/l, ECS30): midnight on the 1st of each month; block counter reset (ECS48):
        # every midnight (single-action schedules, attribute 4: time, date with wildcards)
        "22 0-0:15.0.0.255 4": Data("array", (Data("structure", (_o(_MIDNIGHT), _o("FFFFFF01FF"))),)),
        "22 0-0:15.1.0.255 4": Data("array", (Data("structure", (_o(_MIDNIGHT), _o(_NEVER))),)),
        # instantaneous power thresholds (ECS26f / ECS34), W
        "21 0-0:16.0.0.255 2": Data("array", (_u32(0), _u32(0))),
        # account mode and status (ECS26j / ECS02 / ECS03): credit, active
        "111 0-0:19.0.0.255 2": Data("structure", (Data("enum", 1), Data("enum", 1))),
        "111 0-1:19.0.0.255 2": Data("structure", (Data("enum", 1), Data("enum", 1))),
        # MPANs (ECS40 / ECS39a / ECS39b)
        "1 0-0:94.44.34.11 2": Data("octet-string", b"0000000000000"),
        "1 1-0:0.0.2.255 2": Data("octet-string", b"0000000000000"),
        # supplier name and telephone (ECS16), display message (ECS10), CIN (ECS50), CoT date (ECS12), PIN
        "9000 0-0:96.13.0.255 2": Data("octet-string", b""),
        "9000 0-0:96.13.1.255 2": Data("octet-string", b""),
        "1 0-2:96.13.1.255 2": Data("octet-string", b""),
        "1 0-3:96.13.1.255 2": Data("octet-string", b""),
        "1 0-0:94.44.3.2 2": Data("octet-string", b""),
        "1 0-0:94.44.3.1 2": Data("octet-string", b"0000"),
        # load limiting (ECS27): enabled flag, counter, thresholds
        "9000 0-0:94.44.0.3 2": Data("boolean", 0x00),
        "71 0-0:17.0.0.255 4": _u32(0), "71 0-0:17.0.0.255 6": _u32(0), "71 0-0:17.0.0.255 7": _u32(0),
        # GBCS extended objects read by ECS24 / ECS26a: tariff switching enabled, thresholds
        "9000 0-0:94.44.2.0 2": Data("boolean", 0x00),
        "9000 0-0:94.44.2.10 2": Data("double-long", 0),
        "9000 0-0:94.44.2.20 2": Data("double-long", 0),
        # boost button configured (ECS61c)
        "1 0-0:94.44.7.255 2": Data("boolean", 0x00),
        # active power import supply-side reading for the prepay meter (ECS82): meter balance
        "112 0-0:19.10.0.255 2": Data("double-long", 0),
    }
    # ALCS/HCALCS labels (ECS46a / ECS61a,d) and boost-button membership (ECS62 / ECS61c)
    for i in range(5):
        table[f"1 0-0:94.44.0.{11 + i} 2"] = Data("visible-string", f"ALCS {i + 1}")
        table[f"1 0-0:94.44.6.{1 + i} 2"] = Data("boolean", 0x00)
        table[f"70 0-{1 + i}:96.3.10.255 2"] = Data("boolean", 0x00)  # auxiliary switch output state
    # auxiliary controllers (ECS61a/e): identifiers, types and their JSON state reports
    for i in range(5):
        table[f"1 0-0:94.44.0.{21 + i} 2"] = Data("octet-string", bytes(8))
        table[f"1 0-0:94.44.0.{31 + i} 2"] = Data("utf8-string", b"{}")
    # voltage thresholds and durations (ECS26b/k, ECS29a-d): register monitors and limits
    for i in range(1, 5):
        table[f"71 0-0:17.0.{i}.255 4"] = _u32(0)
        table[f"71 0-0:17.0.{i}.255 6"] = _u32(0)
    for phase in (32, 52, 72):
        table[f"1 1-0:{phase}.35.0.4 2"] = _u32(0)
        table[f"1 1-0:{phase}.31.0.4 2"] = _u32(0)
    # alert behaviour bit maps (ECS25r1/r2 read, ECS25a.. set): 256 bits, nothing configured
    for group in ("0-30", "0-33"):
        for i in range(11, 19):
            table[f"1 {group}:97.98.{i}.255 2"] = Data("bit-string", (256, bytes(32)))
    out: dict[ObjectKey, Data] = {}
    for key, value in table.items():
        cls, ln, attr = key.split()
        out[(int(cls), obis(ln), int(attr))] = value
    return out


#: The stored object that differs between ESMEs of one model: the device id (ECS26e).
IDENTITY: ObjectKey = (1, obis("0-0:96.1.1.255"), 2)


@functools.cache
def shared_factory_objects() -> Mapping[ObjectKey, Data]:
    """The factory objects every ESME shares (all but :data:`IDENTITY`), built once and read-only:
    a meter keeps only what it changed on top (values are immutable :class:`Data`)."""
    table = factory_objects(bytes(8))
    del table[IDENTITY]
    return MappingProxyType(table)
