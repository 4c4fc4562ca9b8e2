"""The one OBIS table and parser (emulator/gbcs/obis.py): literal logical names from IEC 62056-6-1
and the GBCS use cases that name them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.gbcs import obis
from emulator.gbcs.errors import EncodeError


@pytest.mark.parametrize(("text", "wire"), [
    ("1-0:1.8.0.255", "0100010800FF"),  # active energy import, total
    ("0-0:1.0.0.255", "0000010000FF"),  # clock
    ("0-17:99.98.2.255", "0011636202FF"),
    ("0-0:94.44.0.4", "00005E2C0004"),
])
def test_logical_names_parse_to_their_six_bytes(text: str, wire: str) -> None:
    assert obis.obis(text) == bytes.fromhex(wire)


@pytest.mark.parametrize("bad", ["1-0:1.8.0", "1-0:1.8.0.256", "1:0-1.8.0.255", "x-0:1.8.0.255", ""])
def test_malformed_logical_names_are_refused_by_name(bad: str) -> None:
    with pytest.raises(EncodeError, match="OBIS logical name"):
        obis.obis(bad)


@given(st.binary(min_size=6, max_size=6))
def test_every_six_bytes_have_a_text_form_that_parses_back(wire: bytes) -> None:
    a, b, c, d, e, f = wire
    assert obis.obis(f"{a}-{b}:{c}.{d}.{e}.{f}") == wire


def test_the_table_holds_the_objects_both_sides_name() -> None:
    # Read from GBCS (CCS01-07 name the ZigBee network control objects; ECS52 the firmware version).
    assert bytes((0, 0, 30, 3, 0, 255)) == obis.ZIGBEE_NETWORK_CONTROL
    assert bytes((0, 0, 30, 3, 1, 255)) == obis.GPF_NETWORK_CONTROL
    assert bytes((0, 0, 0, 2, 1, 255)) == obis.FIRMWARE_VERSION
    assert bytes((0, 0, 19, 40, 0, 255)) == obis.TOKEN_GATEWAY
