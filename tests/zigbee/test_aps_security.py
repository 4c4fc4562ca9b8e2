"""APS security with a link key: round trips, what a wrong key or a changed byte gives, and the
on-air layout written from Zigbee PRO 4.5.1 (Wireshark decrypting it is checked end to end in
tests/e2e/test_cbke_join.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.zigbee.aps import ApsHeader
from emulator.zigbee.aps_security import decrypt, encrypt, secure_frame, unsecure_frame
from emulator.zigbee.errors import FrameDecodeError, ZigbeeError
from emulator.zigbee.packet import HanPacket
from emulator.zigbee.pcap import FrameCounters, han_frame

KEY = bytes.fromhex("5C520CF67EAA664B7C197A1815ABAB3B")
CHF = bytes.fromhex("00DB1234567890A2")
ESME = bytes.fromhex("00DB1234567890A0")
HEADER = ApsHeader(dst_endpoint=1, cluster=0x0704, profile=0x0109, src_endpoint=1, counter=9)


def test_layout_on_air():
    frame = encrypt(HEADER, b"\x11\x07\x00", KEY, 0x01020304, CHF)
    # APS frame control 0x20 (data, unicast, security), dst ep, cluster, profile, src ep, counter;
    # security control 0x20 (level 0 on air, data key, extended nonce); counter LE; source EUI-64 LE.
    assert frame[:8] == bytes.fromhex("20 01 0407 0901 01 09")
    assert frame[8:21] == bytes.fromhex("20 04030201") + CHF[::-1]
    assert len(frame) == 21 + 3 + 4  # ciphertext as long as the plaintext, then a 4-byte MIC


@given(st.binary(max_size=120), st.integers(0, 0xFFFFFFFF), st.binary(min_size=16, max_size=16))
def test_round_trip(payload: bytes, counter: int, key: bytes):
    header, plain, got_counter, source = decrypt(encrypt(HEADER, payload, key, counter, ESME), key)
    assert (header, plain, got_counter, source) == (HEADER, payload, counter, ESME)


def test_wrong_key_or_changed_byte_is_refused_naming_the_mic():
    frame = encrypt(HEADER, b"\x11\x07\x00\x06", KEY, 1, CHF)
    with pytest.raises(FrameDecodeError, match="MIC"):
        decrypt(frame, bytes(16))
    changed = bytearray(frame)
    changed[3] ^= 0x01  # the cluster id is authenticated, not encrypted
    with pytest.raises(FrameDecodeError, match="MIC"):
        decrypt(bytes(changed), KEY)


def test_captured_frame_secured_and_back():
    packet = HanPacket(CHF, ESME, 0x0704, bytes.fromhex("11 07 00 06 ffff 00 dc05"), src_nwk=0, dst_nwk=0x1001)
    frame = han_frame(packet, FrameCounters())
    secured = secure_frame(frame, KEY, 7)
    assert secured != frame and unsecure_frame(secured, KEY) == frame
    with pytest.raises(FrameDecodeError, match="not secured"):
        decrypt(HEADER.encode() + packet.payload, KEY)


@given(st.binary(max_size=60))
def test_decrypt_fuzz(data: bytes):
    try:
        decrypt(data, KEY)
    except ZigbeeError as e:
        assert e.message
