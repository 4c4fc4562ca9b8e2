"""ESME alert and event behaviours (6.22 ConfigureAlertBehaviour: ECS25a, a1, a2, a3, b, b3).

GBCS carries a behaviour change as one Set of a 512-bit bit-string on a Data object: the first
256 bits say which alerts change, the last 256 bits their new state (1 = enabled). Bit ``n``
(counted from the least significant end of each half) stands for the alert code ``base + n``:
supplier settings cover the 0x81xx alerts, network-operator settings the 0x80xx ones. These
facts are read off the RTDS 4.5.0 reference commands (every one of the twelve 6.22 commands
agrees with them, and every code they set is one DUIS lists for its party); GBCS's own table of
the behaviour objects was not in our sources.

The device keeps the current behaviours in four read-only bitmaps per party (ECS25r1/r2 read
them): the change object ``97.98.11+k`` updates the state object ``97.98.15+k``.

DUIS gives each alert as an element ``x81AD`` (value ``Enable`` or ``Disable``) inside the
settings element that chooses the use case (see ``_ALERT_SETTINGS`` in
:mod:`emulator.gbcs.usecases_esme`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from emulator.gbcs.dlms import Data
from emulator.gbcs.duis_params import ParameterError, Params
from emulator.gbcs.esme_ops import Op, put

HALF = 256  # bits in each half of the change bit-string, and in a state bitmap
SUPPLIER_BASE, NETWORK_OPERATOR_BASE = 0x8100, 0x8000
_ALERT_ELEMENT = re.compile(r"^x([0-9A-Fa-f]{4})$")


@dataclass(frozen=True, slots=True)
class Behaviour:
    """One 6.22 use case: the DUIS settings element, the party's alert code base and the
    change object (the group ``0-30`` for the supplier, ``0-33`` for the network operator)."""

    element: str
    base: int
    group: str
    index: int  # 11 WAN alerts, 12 HAN alerts, 13 audible alarm, 14 logging

    @property
    def change_object(self) -> str:
        return f"{self.group}:97.98.{self.index}.255"


BEHAVIOURS: dict[str, Behaviour] = {
    "ECS25a": Behaviour("ElectricitySupplierAlerts", SUPPLIER_BASE, "0-30", 11),
    "ECS25a1": Behaviour("ElectricitySupplierHANAlertSettings", SUPPLIER_BASE, "0-30", 12),
    "ECS25a2": Behaviour("ElectricitySupplierAlarmSettings", SUPPLIER_BASE, "0-30", 13),
    "ECS25a3": Behaviour("ElectricitySupplierLoggingSettings", SUPPLIER_BASE, "0-30", 14),
    "ECS25b": Behaviour("ElectricityNetworkOperatorAlerts", NETWORK_OPERATOR_BASE, "0-33", 11),
    "ECS25b3": Behaviour("ElectricityNetworkOperatorLoggingSettings", NETWORK_OPERATOR_BASE, "0-33", 14),
}


def _alerts(node: Any) -> Iterator[tuple[str, int, str]]:
    """(element name, alert code, value) for every ``xNNNN`` element under ``node``."""
    if isinstance(node, Mapping):
        for name, value in node.items():
            m = _ALERT_ELEMENT.match(str(name))
            if m:
                yield str(name), int(m.group(1), 16), str(value).strip()
            else:
                yield from _alerts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _alerts(item)


def change_bits(behaviour: Behaviour, p: Params) -> Data:
    """The 512-bit change: which alerts (first half) and their new state (second half)."""
    which = state = 0
    for name, code, value in _alerts(p.find(behaviour.element)):
        if code - behaviour.base not in range(HALF):
            raise ParameterError(f"{behaviour.element}/{name}: alert 0x{code:04X} is not one this party "
                                 f"configures (0x{behaviour.base:04X}-0x{behaviour.base + HALF - 1:04X})",
                                 field=name)
        if value not in ("Enable", "Disable"):
            raise ParameterError(f"{behaviour.element}/{name} must be Enable or Disable, got {value!r}", field=name)
        which |= 1 << (code - behaviour.base)
        if value == "Enable":
            state |= 1 << (code - behaviour.base)
    return Data("bit-string", (2 * HALF, which.to_bytes(HALF // 8, "big") + state.to_bytes(HALF // 8, "big")))


def _op(behaviour: Behaviour) -> tuple[Op, ...]:
    return (put(1, behaviour.change_object, 2, lambda p: change_bits(behaviour, p)),)


ALERT_BEHAVIOURS: dict[str, tuple[Op, ...]] = {name: _op(b) for name, b in BEHAVIOURS.items()}


# --- the device side -------------------------------------------------------------------------

def apply_change(current: bytes, change: bytes) -> bytes:
    """The state bitmap (32 bytes) after a 512-bit change (64 bytes): bits named in the first half
    take their value from the second half; the others keep theirs."""
    which = int.from_bytes(change[: HALF // 8], "big")
    state = int.from_bytes(change[HALF // 8:], "big")
    old = int.from_bytes(current, "big")
    return ((old & ~which) | (state & which)).to_bytes(HALF // 8, "big")


def codes_in(change: bytes, base: int) -> list[int]:
    """The alert codes a change names, lowest first."""
    which = int.from_bytes(change[: HALF // 8], "big")
    return [base + n for n in range(HALF) if which >> n & 1]


def _codes(text: str) -> frozenset[int]:
    return frozenset(int(x, 16) for x in text.split())


# The alerts each party may configure on an ESME, by variant, as DUIS 5.4 lists them
# (SupplierESMECommon / SupplierESMEPolyPhase, NetworkOperatorESMECommon / SinglePhase / PolyPhase).
SUPPLIER_COMMON = _codes("""810D 810E 8119 8145 8154 8155 8161 8162 8168 8183 81A0 81A1 81A2 81A3 81A4 81A5
    81A6 81A7 81A8 81A9 81AA 81AB 81AC 81AD 81AE 81AF 81B0 81B1 81B2 81B3 81B8 81B9 81BA 81BB 81BC 81BD 81BE
    81C0 81C1 81C4 81C5 81C6""")
SUPPLIER_POLY_PHASE = _codes("81B7")
NETWORK_OPERATOR_COMMON = _codes("8014 8015")
NETWORK_OPERATOR_SINGLE_PHASE = _codes("8002 8006 8020 8024 8028 802C 8085 8089 808D 8091 8095 8099 8010")
NETWORK_OPERATOR_POLY_PHASE = _codes("""8003 8004 8005 8007 8008 8009 8021 8022 8023 8025 8026 8027 8029 802A
    802B 802D 802E 802F 8086 8087 8088 808A 808B 808C 808E 808F 8090 8092 8093 8094 8096 8097 8098 809A 809B
    809C 8011 8016 8013""")


def configurable(poly_phase: bool) -> frozenset[int]:
    """The alert codes an ESME of that kind accepts in a behaviour change."""
    if poly_phase:
        return SUPPLIER_COMMON | SUPPLIER_POLY_PHASE | NETWORK_OPERATOR_COMMON | NETWORK_OPERATOR_POLY_PHASE
    return SUPPLIER_COMMON | NETWORK_OPERATOR_COMMON | NETWORK_OPERATOR_SINGLE_PHASE


def change_target(group: bytes, index: int) -> tuple[int, int] | None:
    """For a change object (OBIS group bytes ``0-30``/``0-33``, index 11-14): (state index, code base)."""
    base = {bytes((0, 30)): SUPPLIER_BASE, bytes((0, 33)): NETWORK_OPERATOR_BASE}.get(group)
    if base is None or index not in range(11, 15):
        return None
    return index + 4, base
