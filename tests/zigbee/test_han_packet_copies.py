"""HanPacket's fast copies (with another payload, with NWK addresses) carry every other field: a
field added to the frame later must not be dropped by them silently."""

from __future__ import annotations

import dataclasses

from emulator.zigbee.packet import HanPacket

FULL = HanPacket(bytes.fromhex("00DB123456789001"), bytes.fromhex("00DB1234567890FF"), 0x0019, b"\x01\x02\x03",
                 src_ep=2, dst_ep=3, profile=0x0104, src_nwk=0x1234, dst_nwk=0x5678, aps_secured=False, lqi=77,
                 fragment=(2, 5))


def _fields(p: HanPacket) -> dict[str, object]:
    return {f.name: getattr(p, f.name) for f in dataclasses.fields(p)}


def test_with_payload_keeps_every_field_but_payload_and_fragment() -> None:
    copy = FULL.with_payload(b"\xAA", (0, 1))
    assert _fields(copy) == {**_fields(FULL), "payload": b"\xAA", "fragment": (0, 1)}
    assert FULL.with_payload(b"whole").fragment is None
    assert len(dataclasses.fields(HanPacket)) == 12  # a new field: carry it in both copies, then count it here


def test_addressed_keeps_every_field_but_the_nwk_addresses() -> None:
    copy = FULL.addressed(0x0000, 0x1001)
    assert _fields(copy) == {**_fields(FULL), "src_nwk": 0x0000, "dst_nwk": 0x1001}
