"""The hub in memory (issue 15.4): CHF, GPF, ESME and GSME cores pumped together, no transport.

Commissioning (SRV 8.11 CCS01, the joins, SRV 8.1.1 ECS70 / GCS28), reads (ECS17b, GCS13a), an
alert with its Default Response, OTA to the ESME and the sleepy GSME, and refusals (replayed
counter, wrong key, unauthorised role). Commands are the RTDS 4.5.0 reference commands re-sealed
with the emulator's test keys (same payload, message code and counter); expectations are the
reference responses' structure, GBCS alert codes, and ZCL frames as the ZCL specification
writes them.
"""

from __future__ import annotations

import pytest

from emulator.devices.events import (
    AlertAcknowledged,
    CommandRefused,
    DeviceUnreachable,
    FirmwareBlockReceived,
    FirmwareTransferEnded,
)
from emulator.devices.gsme import FAST_POLL_S
from emulator.gbcs import asn1, commands, dlms, frames, gbz, security
from emulator.gbcs.frames import Cra
from emulator.scenarios.world import install_code_for
from emulator.zigbee import ota_file
from emulator.zigbee.install_code import link_key_from_install_code, with_crc
from emulator.zigbee.packet import CLUSTER_OTA, CLUSTER_TUNNELING
from tests.conftest import need_rtds
from tests.devices.hub_harness import (
    ACB,
    CHF_EUI,
    ESME_EUI,
    GPF_EUI,
    GSME_EUI,
    NETWORK_OPERATOR,
    START,
    Premises,
    reseal,
    rtds_message,
    rtds_wire,
)

ECS70 = ("8.1.1_ECS70Commission", "ECS70Commission_8.1.1_SUCCESS_{}_GBCS.HEX")
GCS28 = ("8.1.1_GCS28Commission", "GCS28Commission_8.1.1_SUCCESS_{}_GBCS.HEX")
ECS17B = ("4.1.1_ECS17b", "ECS17b_4.1.1_SINGLE_SUCCESS_{}_GBCS.HEX")
GCS13A = ("4.1.1_GCS13a", "GCS13a_4.1.1_SUCCESS_RELIABLE_GPF_{}_GBCS.HEX")
CCS01 = ("8.11_CCS01", "CCS01_8.11_SUCCESS_{}_GBCS.HEX")


@pytest.fixture(autouse=True)
def _rtds() -> None:
    need_rtds()


def _ref(which: tuple[str, str], part: str) -> frames.Message:
    return rtds_message(which[0], which[1].format(part))


def _add_to_device_log(p: Premises, eui: bytes, device_type: int, counter: int, code: bytes | None = None) -> None:
    body = {"device": eui.hex(), "device_type": device_type, "install_code": (code or install_code_for(1, eui)).hex()}
    p.command(security.seal(p.keys, commands.build("8.11", "CHF", ACB, CHF_EUI, counter, body).message))


def _joined() -> Premises:
    p = Premises()
    _add_to_device_log(p, ESME_EUI, 0, 1302)
    _add_to_device_log(p, GSME_EUI, 1, 1303)
    for meter in (p.esme, p.gsme):
        assert p.join(meter, link_key_from_install_code(install_code_for(1, meter.eui))) is None
    return p


def _commissioned() -> Premises:
    p = _joined()
    p.command(reseal(p.keys, _ref(ECS70, "COMMAND")))
    p.command(reseal(p.keys, _ref(GCS28, "COMMAND")))
    assert p.run_until(lambda: bool(p.frames_up("response", GSME_EUI)), 60), "the GSME took no command in 60 s"
    return p


def _access_shape(payload: bytes) -> tuple[tuple[tuple[int, int], ...], tuple[str, ...]]:
    rsp = dlms.decode_access_response(payload)
    return rsp.results, tuple(d.type for d in rsp.data)


# --- commissioning ------------------------------------------------------------------------------

def test_ic1_ccs01_puts_the_device_in_the_log_as_the_reference_answer_says():
    p = Premises()
    ref_cmd, ref_rsp = _ref(CCS01, "COMMAND"), _ref(CCS01, "RESPONSE")
    # The builder gives the reference payload byte for byte from the RTDS request's InstallCode
    # (SmartDCCInnovation/duis-templates CCS01_8.11_SUCCESS_REQUEST_DUIS.XML), carried as it is.
    built = commands.build("8.11", "CHF", ACB, CHF_EUI, ref_cmd.counter,
                           {"device": ESME_EUI.hex(), "device_type": 0,
                            "install_code": "30313233343536373839414243444546"})
    assert built.message.payload == ref_cmd.payload
    _add_to_device_log(p, ESME_EUI, 0, 1302)
    response = p.frames_up("response", CHF_EUI)[0]
    assert response.counter == 1302 and response.target == ACB
    assert response.payload[4:] == ref_rsp.payload[4:]  # after the invoke-id: three results, all 0 (success)
    # The log change is alerted (CS14, alert 0x8F12, message code 0x0018) to the ACB.
    alert = p.frames_up("alert", CHF_EUI)[0]
    assert (alert.message_code, alert.target) == (0x0018, ACB)
    assert ESME_EUI in p.chf.device_log


def test_ic2_the_reference_ccs01_is_accepted_and_keyed_from_its_16_octets():
    """The RTDS CCS01 command itself (re-sealed with our keys): its install code is 16 octets with
    no CRC (30..46, as its DUIS request names them); the CHF appends the CRC and permits the ESME
    with the key zigpy 2.4.0 derives from them (tests/zigbee/test_install_code_rtds_ccs01.py)."""
    p = Premises()
    ref_cmd, ref_rsp = _ref(CCS01, "COMMAND"), _ref(CCS01, "RESPONSE")
    p.command(reseal(p.keys, ref_cmd))
    response = p.frames_up("response", CHF_EUI)[0]
    assert dlms.decode_access_response(response.payload).results == ((3, 0), (2, 0), (2, 0))
    assert response.payload[4:] == ref_rsp.payload[4:]  # the reference SUCCESS answer, after the invoke-id
    assert p.permits[ESME_EUI] == bytes.fromhex("17e92caaa342c367e8eddc58eeba69ed")


def test_ic2_a_meter_joins_only_with_the_key_from_its_install_code():
    p = Premises()
    right = link_key_from_install_code(install_code_for(1, ESME_EUI))
    assert p.join(p.esme, right) == "not permitted"  # not in the device log yet
    _add_to_device_log(p, ESME_EUI, 0, 1302)
    assert p.join(p.esme, link_key_from_install_code(with_crc(bytes(16)))) == "wrong link key"
    assert p.join(p.esme, right) is None
    # Joined: the CHF opens the ESME's tunnel (Request Tunnel, ZCL SE 0x0704 command 0x00).
    opened = [x for x in p.air.packets if x.cluster == CLUSTER_TUNNELING and x.src == CHF_EUI]
    assert opened[0].payload[2] == 0x00 and p.chf.tunnels[ESME_EUI] == p.esme.tunnel_id == 1


def test_ic2_a_corrupted_install_code_never_enters_the_log():
    p = Premises()
    code = bytearray(install_code_for(1, ESME_EUI))
    code[0] ^= 1
    _add_to_device_log(p, ESME_EUI, 0, 1302, bytes(code))
    assert ESME_EUI not in p.chf.device_log
    response = p.frames_up("response", CHF_EUI)[0]
    results, _ = _access_shape(response.payload)
    assert all(code != 0 for _, code in results)


def test_dv3_commissioning_8_1_1_answers_with_the_reference_structure():
    p = _commissioned()
    esme = p.frames_up("response", ESME_EUI)[0]
    ref = _ref(ECS70, "RESPONSE")
    assert esme.counter == 1000 and esme.message_code == 0x0062
    assert _access_shape(esme.payload) == _access_shape(ref.payload)
    gsme = p.frames_up("response", GSME_EUI)[0]
    ref_gas = _ref(GCS28, "RESPONSE")
    assert gsme.counter == 1000 and gsme.message_code == 0x007F
    # SEQUENCE { the GSME's time, INTEGER 0 (success) }: the reference's shape and outcome.
    ours, theirs = asn1.decode(gsme.payload), asn1.decode(ref_gas.payload)
    assert [c.tag for c in ours.children] == [c.tag for c in theirs.children]  # type: ignore[union-attr]
    assert gsme.payload[-3:] == ref_gas.payload[-3:] == bytes.fromhex("020100")


# --- reads ----------------------------------------------------------------------------------------

def test_dv2_ecs17b_read_answers_with_the_reference_structure_encrypted_for_the_requester():
    p = _commissioned()
    p.command(reseal(p.keys, _ref(ECS17B, "COMMAND"), counter=1001))
    ours = p.frames_up("response", ESME_EUI)[-1]
    ref = _ref(ECS17B, "RESPONSE")
    assert ours.counter == 1001 and ours.message_code == ref.message_code == 0x0027
    assert ours.mac is not None and ours.signature is None  # a non-critical response: MACed, not signed
    assert _access_shape(ours.payload) == _access_shape(ref.payload) == (((3, 0),), ("structure",))
    part = bytes(dlms.decode_access_response(ours.payload).data[0].value[1].value)
    plain = security.decrypt_part(p.keys, ESME_EUI, ours.target, ours.counter, part)
    assert dlms.decode_data(plain, 0)[0].type == "structure"


def test_dv2_gcs13a_read_on_the_gpf_answers_at_once_with_the_reference_structure():
    p = _commissioned()
    before = p.now
    p.command(reseal(p.keys, _ref(GCS13A, "COMMAND")))
    ours = p.frames_up("response", GPF_EUI)[-1]
    ref = _ref(GCS13A, "RESPONSE")
    assert p.now == before  # the GPF answers for the sleepy GSME: no wake needed
    assert ours.counter == 1001 and ours.message_code == ref.message_code == 0x0074
    mine, theirs = gbz.decode(ours.payload), gbz.decode(ref.payload)
    assert [(c.cluster, c.control) for c in mine.components] == [(c.cluster, c.control)
                                                                  for c in theirs.components]


# --- alerts ---------------------------------------------------------------------------------------

def test_dv6_an_esme_alert_goes_up_and_the_chf_acknowledges_it_with_a_default_response():
    p = _commissioned()
    p.apply(p.esme.raise_alert(0x8F3F, p.now))
    p.pump()
    alert = p.frames_up("alert", ESME_EUI)[-1]
    assert alert.message_code == 0x1000 and alert.signature is not None  # tamper: Generic Critical Alert
    sent = [x for x in p.air.packets if x.src == ESME_EUI and x.cluster == CLUSTER_TUNNELING
            and not x.payload[0] & 0x10][-1]
    ack = [x for x in p.air.packets if x.dst == ESME_EUI and x.cluster == CLUSTER_TUNNELING][-1]
    # ZCL Default Response: general, client-to-server, no default response (0x10), the alert's
    # sequence number, command 0x0B, {command id 0x01 (Transfer Data, server), status SUCCESS}.
    assert ack.payload == bytes((0x10, sent.payload[1], 0x0B, 0x01, 0x00))
    assert any(isinstance(e, AlertAcknowledged) and e.device == ESME_EUI for e in p.events)
    assert not p.esme.outbox.pending


def test_dv6_a_gsme_alert_is_acknowledged_when_it_next_polls():
    p = _commissioned()
    p.apply(p.gsme.raise_alert(0x8F3F, p.now), p.gsme)
    p.pump()
    assert p.gsme.outbox.pending  # the Default Response waits at the parent
    assert p.run_until(lambda: not p.gsme.outbox.pending, 2)  # work in progress: it polls within 0.25 s
    # The alert is the GSME's one Transfer Data that asks for a Default Response (bit 0x10 clear).
    sent = [x for x in p.air.packets if x.src == GSME_EUI and x.cluster == CLUSTER_TUNNELING
            and not x.payload[0] & 0x10][-1]
    ack = [x for x in p.air.packets if x.dst == GSME_EUI and x.cluster == CLUSTER_TUNNELING][-1]
    # From the server side (0x18) to the GSME's Transfer Data (client command 0x02).
    assert ack.payload == bytes((0x18, sent.payload[1], 0x0B, 0x02, 0x00))
    assert FAST_POLL_S == 0.25


def test_wn1_an_unacknowledged_alert_goes_up_again_until_the_dsp_acknowledges_it():
    p = _commissioned()
    p.apply(p.esme.raise_alert(0x8F3F, p.now))
    p.pump()
    alert = [f for f in p.up if f.kind == "alert" and f.device == ESME_EUI][-1]
    p.up.clear()
    p.advance(31)
    again = [f for f in p.up if f.device == ESME_EUI]
    assert [f.id for f in again] == [alert.id] and again[0].wire == alert.wire  # the same frame after 30 s
    p.chf.wan_acknowledged([alert.id])
    p.up.clear()
    p.advance(120)
    assert [f for f in p.up if f.id == alert.id] == []


def test_wn1_a_command_sent_again_is_answered_again_never_run_twice():
    p = _commissioned()
    wire = reseal(p.keys, _ref(ECS17B, "COMMAND"), counter=1001)
    p.command(wire)
    first = [f for f in p.up if f.kind == "response" and f.device == ESME_EUI]
    accepted = len([e for e in p.events if type(e).__name__ == "CommandAccepted" and e.device == ESME_EUI])
    p.command(wire)
    again = [f for f in p.up if f.kind == "response" and f.device == ESME_EUI]
    assert again[-1].wire == first[-1].wire and len(again) == len(first) + 1
    assert again[-1].counter == first[-1].counter and again[-1].device == ESME_EUI
    assert len([e for e in p.events if type(e).__name__ == "CommandAccepted" and e.device == ESME_EUI]) == accepted
    # What the hub keeps to answer again is atomic: the garbage collector stops walking it (issue 13).
    import gc

    for _ in range(3):
        gc.collect()
    assert [gc.is_tracked(v) for v in p.chf.answered.values()] == [False] * len(p.chf.answered)
    assert len(p.chf.answered) >= 3


def test_wn1_an_answer_is_kept_past_the_dsps_deadline_then_dropped_so_a_long_run_stays_small():
    """The DSP re-sends an ESME command for at most 25 s: its answer is kept two minutes, then
    dropped when the next command comes (a repeat after that is a replay, which the meter refuses);
    a GSME's (re-sent for an hour) is kept over an hour, never held back by the ESME's."""
    p = _commissioned()
    gsme_kept = dict(p.chf.answered_sleepy)
    assert gsme_kept and not set(gsme_kept) & set(p.chf.answered)  # the GSME's commission, in its own memory
    wire = reseal(p.keys, _ref(ECS17B, "COMMAND"), counter=1001)
    p.command(wire)
    p.advance(100)
    again = len(p.up)
    p.command(wire)  # within the DSP's window and more: answered again from the memory
    assert len(p.up) == again + 1 and p.up[-1].kind == "response"
    p.advance(30)  # 130 s after the command: past the 120 s it is kept
    p.command(reseal(p.keys, _ref(ECS17B, "COMMAND"), counter=1002))  # the next command tidies up
    held = [key[1] for key in p.chf.answered]
    assert 1001 not in held and 1002 in held
    assert all(key in p.chf.answered_sleepy for key in gsme_kept)  # the GSME's hour is not over
    accepted = len([e for e in p.events if type(e).__name__ == "CommandAccepted" and e.device == ESME_EUI])
    p.command(wire)  # a repeat now is a replay: the meter refuses it, it does not run twice
    assert len([e for e in p.events if type(e).__name__ == "CommandAccepted" and e.device == ESME_EUI]) == accepted
    p.advance(3600 + 600)
    p.command(reseal(p.keys, _ref(GCS28, "COMMAND"), counter=2001))
    assert not set(gsme_kept) & set(p.chf.answered_sleepy)  # dropped after the GSME's hour and a margin


# --- refusals ---------------------------------------------------------------------------------------

def test_dv3_a_replayed_counter_is_refused_with_alert_8f3d():
    p = _commissioned()
    # ECS17b's reference counter is 1000, which ECS70 already used from the same supplier.
    p.command(reseal(p.keys, _ref(ECS17B, "COMMAND")))
    refused = [e for e in p.events if isinstance(e, CommandRefused) and e.device == ESME_EUI]
    assert refused and refused[-1].alert_code == 0x8F3D and "not above 1000" in refused[-1].reason
    assert [m.counter for m in p.frames_up("response", ESME_EUI)] == [1000]  # nothing answered
    assert frames.decode(p.up[-1].wire).cra is Cra.ALERT


def test_dv3_a_command_maced_with_another_key_is_refused():
    p = _commissioned()
    # The reference file as published: MACed with the RTDS ACB key, not ours.
    p.command(rtds_wire(ECS17B[0], ECS17B[1].format("COMMAND")))
    refused = [e for e in p.events if isinstance(e, CommandRefused) and e.device == ESME_EUI]
    assert refused[-1].alert_code == 0x8F3D
    assert [m.counter for m in p.frames_up("response", ESME_EUI)] == [1000]


def test_dv3_a_role_that_may_not_run_the_use_case_is_refused_with_alert_8f30():
    p = _joined()
    # 8.1.1 is for the supplier (IS, GS); the network operator (ED, GT) may not commission.
    p.command(reseal(p.keys, _ref(ECS70, "COMMAND"), originator=NETWORK_OPERATOR))
    refused = [e for e in p.events if isinstance(e, CommandRefused) and e.device == ESME_EUI]
    assert refused[-1].alert_code == 0x8F30
    assert p.frames_up("response", ESME_EUI) == []


def test_a_command_for_a_device_not_in_the_log_is_unreachable():
    p = Premises()
    out = p.command(reseal(p.keys, _ref(ECS17B, "COMMAND")))
    assert [(e.target, e.reason) for e in out.events if isinstance(e, DeviceUnreachable)] == [
        (ESME_EUI, "not in the device log")]


def test_dv7_a_command_too_big_for_the_radio_is_refused_at_once():
    p = _commissioned()
    p.chf.max_han_payload = 82
    sent = len(p.air.packets)
    out = p.command(reseal(p.keys, _ref(ECS17B, "COMMAND"), counter=1001))
    reasons = [e.reason for e in out.events if isinstance(e, DeviceUnreachable)]
    # 97-byte payload in a 170-odd byte GBCS frame, 5 bytes of ZCL Transfer Data header around it.
    assert len(reasons) == 1 and reasons[0].endswith("-byte HAN frame and this radio carries at most 82")
    assert not [x for x in p.air.packets[sent:] if x.dst == ESME_EUI and len(x.payload) > 82]


# --- OTA ---------------------------------------------------------------------------------------------

def test_dv5_ota_to_the_esme_block_by_block_then_ccs08_success():
    p = _commissioned()
    image = ota_file.sample_image(p.maker, manufacturer_code=0x1234, image_type=1,  # type: ignore[arg-type]
                                  file_version=0x02000000, size=3000)
    p.apply(p.chf.add_image(image, {ESME_EUI}, p.now))
    p.pump()
    offsets = [e.offset for e in p.events if isinstance(e, FirmwareBlockReceived) and e.device == ESME_EUI]
    assert offsets == list(range(0, len(image), 50))  # 50-byte blocks, in order, each once
    assert p.esme.firmware.held is not None and p.esme.firmware.held.file_version == 0x02000000
    ota = [x for x in p.air.packets if x.cluster == CLUSTER_OTA and ESME_EUI in (x.src, x.dst)]
    assert ota[0].src == CHF_EUI and ota[0].payload[2] == 0x00  # Image Notify (server command 0x00)
    ended = [e for e in p.events if isinstance(e, FirmwareTransferEnded)]
    assert [(e.device, e.ok) for e in ended] == [(ESME_EUI, True)]
    # The CHF reports the transfer (CCS08, message 0x0128, alert 0x8F8A) to the ACB.
    ccs08 = [m for m in p.frames_up("alert", CHF_EUI) if m.message_code == 0x0128]
    assert len(ccs08) == 1 and ccs08[0].target == ACB


def test_dv5_ota_to_the_sleepy_gsme_goes_on_while_it_is_awake():
    p = _commissioned()
    image = ota_file.sample_image(p.maker, manufacturer_code=0x1234, image_type=2,  # type: ignore[arg-type]
                                  file_version=0x02000000, size=2000)
    p.apply(p.chf.add_image(image, {GSME_EUI}, p.now))
    p.pump()
    assert p.gsme.firmware.download is None  # the notify waits: the GSME asks when it wakes
    assert p.run_until(lambda: p.gsme.firmware.held is not None, 120), "the GSME did not fetch the image in 120 s"
    offsets = [e.offset for e in p.events if isinstance(e, FirmwareBlockReceived) and e.device == GSME_EUI]
    assert offsets == list(range(0, len(image), 50))
    assert p.now - START < 30 + 60 + 120  # fetched within the wakes after the commissioning


def test_dv5_a_lost_block_is_asked_for_again_from_the_same_offset():
    p = _commissioned()
    image = ota_file.sample_image(p.maker, manufacturer_code=0x1234, image_type=1,  # type: ignore[arg-type]
                                  file_version=0x02000000, size=1000)
    dropped: list[int] = []

    def lose(packet) -> bool:  # type: ignore[no-untyped-def]
        # The first Image Block Response carrying offset 500 is lost on the air.
        if packet.cluster == CLUSTER_OTA and packet.src == CHF_EUI and packet.payload[2] == 0x05 and not dropped:
            # ZCL header (3), status (1), manufacturer (2), image type (2), file version (4), offset (4).
            offset = int.from_bytes(packet.payload[12:16], "little")
            if offset == 500:
                dropped.append(offset)
                return True
        return False

    p.lose = lose
    p.apply(p.chf.add_image(image, {ESME_EUI}, p.now))
    p.pump()
    assert dropped == [500] and p.esme.firmware.download is not None and p.esme.firmware.download.offset == 500
    p.advance(6)  # the meter's OTA retry (5 s)
    assert p.esme.firmware.held is not None


def test_wn1_a_command_that_was_unreachable_goes_down_when_sent_again_after_the_join():
    p = Premises()
    _add_to_device_log(p, ESME_EUI, 0, 1302)
    wire = reseal(p.keys, _ref(ECS17B, "COMMAND"))
    out = p.command(wire)
    assert [e.reason for e in out.events if isinstance(e, DeviceUnreachable)] == ["in the device log but not joined"]
    assert p.join(p.esme, link_key_from_install_code(install_code_for(1, ESME_EUI))) is None
    p.command(wire)
    assert [m.counter for m in p.frames_up("response", ESME_EUI)] == [1000]
