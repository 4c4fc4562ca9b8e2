"""The devices' own ZCL frames, built and read by the one ZCL codec (zigbee/zcl.py): the CHF's
Default Response to a frame that asks for one, the meters' acknowledged tunnel frames, the
GSME's wake report and the GPF's mirror of it. Expected bytes are literal, written from the ZCL
frame format (frame control bits: 0-1 type, 3 direction, 4 disable default response)."""

from __future__ import annotations

from emulator.devices.chf import Chf
from emulator.devices.endpoint import GbcsEndpoint
from emulator.devices.gpf import Gpf
from emulator.devices.gsme import Gsme
from emulator.devices.profile import MeterProfile
from emulator.gbcs.identities import CHF, ESME, GPF, GSME
from emulator.gbcs.keys import KeyStore
from emulator.zigbee.packet import CLUSTER_TUNNELING, HanPacket
from emulator.zigbee.zcl import DataType

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
METERING = 0x0702


def _gsme() -> Gsme:
    return Gsme(GSME, GbcsEndpoint(GSME, KeyStore()), CHF, MeterProfile(image_type=2), START)


def test_the_chf_answers_a_frame_asking_for_it_with_a_default_response() -> None:
    chf = Chf(CHF, GbcsEndpoint(CHF, KeyStore()), bytes.fromhex("0123ABCD"))
    # Transfer Data from the ESME (tunnel server): cluster specific, server to client, default
    # response wanted (0x09), sequence 0x21, command 0x01, tunnel 1, then (unreadable) data.
    frame = bytes.fromhex("0921010100") + b"\x00"
    out = chf.on_packet(HanPacket(ESME, CHF, CLUSTER_TUNNELING, frame), START)
    # Global, client to server, default response disabled (0x10), same sequence, Default Response
    # (0x0B) naming command 0x01 with SUCCESS.
    assert [p.payload for p in out.han] == [bytes.fromhex("10210B0100")]
    assert out.han[0].dst == ESME and out.han[0].cluster == CLUSTER_TUNNELING


def test_the_chf_does_not_answer_a_frame_that_disables_default_responses() -> None:
    chf = Chf(CHF, GbcsEndpoint(CHF, KeyStore()), bytes.fromhex("0123ABCD"))
    out = chf.on_packet(HanPacket(ESME, CHF, CLUSTER_TUNNELING, bytes.fromhex("1921010100") + b"\x00"), START)
    assert out.han == []


def test_the_gsme_asks_for_an_ack_only_on_the_frames_that_need_one() -> None:
    gsme = _gsme()
    gsme.tunnel_id = 5
    acked = gsme.tunnel_frame(b"\xAA", ack=True)
    plain = gsme.tunnel_frame(b"\xAA", ack=False)
    # Transfer Data (client, 0x02), tunnel 5, GB PUT (0x03) then the GBCS bytes.
    assert acked[0] == 0x01 and acked[2:] == bytes.fromhex("02050003AA")
    assert plain[0] == 0x11 and plain[2:] == acked[2:]


def test_the_gsme_wake_report_feeds_the_gpf_mirror() -> None:
    gsme = _gsme()
    out = gsme.wake(START + 3600)
    report = next(p.payload for p in out.han if p.cluster == METERING)
    wh = gsme.register_wh(START + 3600)
    # Global, server to client, no default response (0x18), Report Attributes (0x0A): current
    # summation delivered (0x0000), uint48 (0x25).
    assert report[0] == 0x18 and report[2:] == bytes.fromhex("0A000025") + wh.to_bytes(6, "little")
    gpf = Gpf(GPF, GbcsEndpoint(GPF, KeyStore()), bytes.fromhex("0123ABCD"))
    gpf.update_mirror(METERING, report[3:], START + 3600)
    assert gpf.mirror[(METERING, 0x0000)] == (DataType.UINT48, wh) and gpf.mirror_time == START + 3600


def test_the_gpf_keeps_its_mirror_when_a_report_does_not_parse() -> None:
    gpf = Gpf(GPF, GbcsEndpoint(GPF, KeyStore()), bytes.fromhex("0123ABCD"))
    gpf.update_mirror(METERING, bytes.fromhex("000025010000000000"), START)  # 1 Wh
    gpf.update_mirror(METERING, bytes.fromhex("00002501"), START + 60)  # ends inside the value
    assert gpf.mirror[(METERING, 0x0000)] == (DataType.UINT48, 1) and gpf.mirror_time == START
