"""The envelope codec against all 1,275 public RTDS 4.5.0 reference messages."""

from __future__ import annotations

import collections

from emulator.gbcs import frames, frames_spec, security
from emulator.gbcs.errors import SecurityError, UnknownKeyError


def test_dv2_every_rtds_message_decodes_and_reencodes_byte_exact(rtds_messages):
    assert len(rtds_messages) == 1275
    for name, data in rtds_messages:
        msg = frames.decode(data)
        assert frames.encode(msg) == data, name


def test_fast_codec_agrees_with_the_construct_reference(rtds_messages):
    for name, data in rtds_messages:
        msg = frames.decode(data)
        ref = frames_spec.parse(data)
        gs = ref.body.general_signing.value if msg.mac_protected else ref
        assert gs.counter == msg.counter, name
        assert bytes(gs.originator) == msg.originator
        assert bytes(gs.target) == msg.target
        assert bytes(gs.payload) == msg.payload
        assert int.from_bytes(bytes(gs.other_info)[:2], "big") == msg.message_code
        if msg.mac_protected:
            assert bytes(ref.body.mac) == msg.mac
            assert bytes(ref.body.general_signing.data) == msg.signed_block
        assert (gs.signature is None) == msg.precommand
        # and the reference builder gives the same General Signing block
        assert frames_spec.build_general_signing({
            "cra": gs.cra, "counter": gs.counter, "originator": gs.originator, "target": gs.target,
            "date_time": gs.date_time, "other_info": gs.other_info, "payload": gs.payload,
            "signature": gs.signature}) == frames.encode_general_signing(msg)


def test_dv3_macs_and_signatures_verify_with_public_keys(rtds_messages, rtds_keys):
    counts: collections.Counter[str] = collections.Counter()
    for name, data in rtds_messages:
        msg = frames.decode(data)
        if msg.mac is not None:
            try:
                security.verify_mac(rtds_keys, msg)
                counts["mac-valid"] += 1
            except UnknownKeyError:
                counts["mac-unknown-key"] += 1
            except SecurityError:
                counts["mac-invalid"] += 1
                assert "PCS0" in name, f"{name}: MAC must verify"
        if msg.signature is not None:
            security.verify_signature(rtds_keys, msg)
            counts["signature-valid"] += 1
        if msg.precommand:
            counts["precommand"] += 1
    # The reference result (vectors README): 811 MACs verify; PCS01/PCS02 use another scheme.
    assert counts["mac-valid"] == 811
    assert counts["mac-valid"] + counts["mac-invalid"] + counts["mac-unknown-key"] == 815
    assert counts["signature-valid"] == 472
    assert counts["precommand"] == 178


def test_gbcs_md_sample_vectors_decode_to_their_fields():
    cmd = bytes.fromhex(
        "DD000000000000471100000000DF090100000000000003E80890B3D51F300100000800DB1234567890A0"
        "0002005913D9200003E800010100010000000201FF02010000A25A51A93BAFA5C9E2B224BD")
    msg = frames.decode(cmd)
    assert msg.cra is frames.Cra.COMMAND
    assert msg.counter == 0x3E8
    assert msg.originator.hex().upper() == "90B3D51F30010000"
    assert msg.target.hex().upper() == "00DB1234567890A0"
    assert msg.message_code == 0x0059
    assert msg.mac == bytes.fromhex("A25A51A93BAFA5C9E2B224BD")
    assert msg.signature is None and not msg.precommand
