"""Firmware on the device side (issue 11, smaller holes; DV-5, RM-11).

A future-dated CS06 raises its outcome alert when it runs, byte for byte the RTDS 11.3
8F66/8F67 alerts; a ZCL Upgrade End Response never activates (GBCS: only CS06 does); the
hub's Upgrade End Response counts ZCL time from 2000-01-01; a hub-reported transfer failure
(CCS08, 0x8F89) names the meter in its entity id.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from emulator.devices.chf import Chf
from emulator.devices.endpoint import GbcsEndpoint
from emulator.devices.firmware import HeldImage
from emulator.gbcs import asn1, frames, security
from emulator.gbcs.frames import Cra, Message
from emulator.gbcs.identities import ACB, CHF, ESME, SUPPLIER
from emulator.gbcs.keys import KeyStore
from emulator.zigbee import zcl
from emulator.zigbee.clusters import ota
from emulator.zigbee.packet import CLUSTER_OTA, HanPacket
from tests.devices.credential_pki import NOW, Pki, gbcs_out

RTDS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors" / "gbcs-rtds-4.5.0" / "messages" / "11.3_CS06"
HASH = bytes.fromhex("AA758690730934FF0685AA758690730934FF0685657788990011223344556677")
T_2030_01_15_09 = 1894698000.0  # 2030-01-15T09:00:00Z
T_2030_01_01 = 1893456000.0  # 2030-01-01T00:00:00Z


def _reference_alert(name: str) -> bytes:
    path = RTDS / f"CS06_11.3_{name}_ALERT_GBCS.HEX"
    if not path.exists():
        pytest.skip(f"reference vectors not found at {RTDS}")
    return frames.decode(bytes.fromhex(path.read_text().strip())).payload


def _activate(pki: Pki, counter: int, when: float | None) -> bytes:
    return pki.command(SUPPLIER, 0x0012, asn1.ActivateFirmware(HASH, counter, when).encode(), counter)


def _esme_holding(pki: Pki, image_hash: bytes):  # type: ignore[no-untyped-def]
    esme = pki.esme()
    esme.firmware.version = bytes.fromhex("0123ABCE")
    esme.firmware.held = HeldImage(bytes.fromhex("0123ABCF"), 0x0123ABCF, image_hash, 1000)
    return esme


def test_dv5_future_dated_activation_alerts_8f66_when_it_runs_as_the_reference():
    pki = Pki()
    esme = _esme_holding(pki, HASH)
    out = esme.on_gbcs(_activate(pki, 0x3E9, T_2030_01_15_09), NOW)
    [response] = gbcs_out(out.han)
    assert response.payload == bytes.fromhex("0500")  # accepted, outcome later
    assert esme.firmware.version == bytes.fromhex("0123ABCE")
    assert esme.get_timer() == T_2030_01_15_09
    out = esme.handle_timer(T_2030_01_15_09)
    [alert] = gbcs_out(out.han)
    assert alert.cra is Cra.ALERT and alert.message_code == 0x00CA and alert.signature is not None
    assert alert.target == SUPPLIER  # the command's originator, as in the reference
    assert alert.payload == _reference_alert("8F66_FUTURE_DATED_SUCCESS")
    assert esme.firmware.version == bytes.fromhex("0123ABCF")


def test_dv5_future_dated_activation_of_an_image_not_held_alerts_8f67_hash_mismatch():
    pki = Pki()
    esme = _esme_holding(pki, bytes(32))  # holds another image
    esme.firmware.version = bytes.fromhex("0123ABCF")
    out = esme.on_gbcs(_activate(pki, 0x3EC, T_2030_01_01), NOW)
    assert gbcs_out(out.han)[0].payload == bytes.fromhex("0500")  # GBCS: accepted now, checked when it runs
    [alert] = gbcs_out(esme.handle_timer(T_2030_01_01).han)
    assert alert.payload == _reference_alert("8F67_FUTURE_DATED_ERROR")
    assert esme.firmware.version == bytes.fromhex("0123ABCF")


def test_dv5_upgrade_end_response_with_time_zero_does_not_activate_without_cs06():
    pki = Pki()
    esme = _esme_holding(pki, HASH)
    frame = ota.UpgradeEndResponse(esme.manufacturer_code, esme.image_type, 0x0123ABCF, 0, ota.UPGRADE_NOW)
    out = esme.on_packet(HanPacket(CHF, ESME, CLUSTER_OTA, frame.encode(1)), NOW)
    assert not out.events and esme.firmware.version == bytes.fromhex("0123ABCE")
    assert esme.firmware.held is not None  # still held, waiting for CS06
    [response] = gbcs_out(esme.on_gbcs(_activate(pki, 0x3E8, None), NOW).han)
    assert response.payload == bytes.fromhex("300902010004040123ABCF")  # the RTDS IMMEDIATE_SUCCESS shape
    assert esme.firmware.version == bytes.fromhex("0123ABCF")


def _chf() -> tuple[Chf, KeyStore]:
    keys = KeyStore()
    for i, usage in enumerate(("ds", "ka")):
        keys.add_private(CHF, usage, ec.derive_private_key(700 + i, ec.SECP256R1()))  # type: ignore[arg-type]
        keys.add_private(SUPPLIER, usage, ec.derive_private_key(710 + i, ec.SECP256R1()))  # type: ignore[arg-type]
        keys.add_private(ACB, usage, ec.derive_private_key(720 + i, ec.SECP256R1()))  # type: ignore[arg-type]
    return Chf(CHF, GbcsEndpoint(CHF, keys), bytes.fromhex("0123ABCD")), keys


def _end_request(chf: Chf, status: int) -> tuple[list[HanPacket], list[Message]]:
    request = ota.UpgradeEndRequest(status, 0x1234, 1, 0x0123ABCD)
    out = chf.on_packet(HanPacket(ESME, CHF, CLUSTER_OTA, request.encode(5), src_nwk=0x1234), NOW)
    return out.han, [frames.decode(f.wire) for f in out.wan]


def test_dv5_hub_upgrade_end_response_counts_zcl_time_from_2000():
    chf, _ = _chf()
    han, _ = _end_request(chf, ota.SUCCESS)
    responses = [zcl.decode_command(p.cluster, p.payload)[1] for p in han if p.cluster == CLUSTER_OTA]
    [end] = [r for r in responses if isinstance(r, ota.UpgradeEndResponse)]
    assert end.current_time == 820540800  # 2026-01-01T00:00:00Z is 820,540,800 s after 2000-01-01
    assert end.upgrade_time == ota.UPGRADE_WAIT


def test_rm11_hub_reported_transfer_failure_names_the_meter_not_the_hub():
    chf, keys = _chf()
    _, wan = _end_request(chf, ota.INVALID_IMAGE)
    [alert] = wan
    security.verify_signature(keys, alert)
    assert alert.originator == CHF and alert.message_code == 0x0128 and alert.cra is Cra.ALERT
    assert alert.target == ACB  # to the DCC, as the RTDS NA_CCS08 alert
    # the reference CCS08 alert's shape: {code, time, entity id, version, response code}
    parsed = asn1.FirmwareTransferAlert.decode(alert.payload)
    assert (parsed.alert_code, parsed.entity, parsed.version, parsed.result) == (
        0x8F89, ESME, bytes.fromhex("0123ABCD"), 1)  # 1 = Image Discarded
    assert parsed.when == NOW


def test_cs14_device_log_change_alert_has_the_reference_structure():
    """CS14: message 0x0018 to the DCC, alert 0x8F12 whose content is the log (time, network id,
    each device and its link key), as the RTDS NA_CS14 alert."""
    from emulator.gbcs import dlms
    from emulator.zigbee.install_code import with_crc

    path = RTDS.parent / "NA_CS14" / "CS14_NA_8F12_ALERT_GBCS.HEX"
    if not path.exists():
        pytest.skip("reference vectors not found")
    reference = dlms.decode_data_notification(frames.decode(bytes.fromhex(path.read_text().strip())).payload)
    chf, keys = _chf()
    chf.device_log.add(ESME, "ESME", with_crc(bytes(16)), NOW)
    chf.device_log.add(bytes.fromhex("00DB1234567890A1"), "GSME", with_crc(bytes(range(16))), NOW)
    [frame] = chf.device_log_alert(NOW).wan
    alert = frames.decode(frame.wire)
    assert (alert.message_code, alert.target, alert.mac is not None) == (0x0018, ACB, True)
    security.verify_mac(keys, alert)  # the DCC can check it: MACed for the ACB
    got = dlms.decode_data_notification(alert.payload)
    assert got.alert_code == reference.alert_code == 0x8F12

    def kinds(d: dlms.Data) -> object:
        return (d.type, tuple(kinds(x) for x in d.value)) if d.type in ("array", "structure") else d.type

    assert [kinds(d) for d in got.content] == [kinds(d) for d in reference.content]
    assert got.content[0].value[2].value[0].value[0].value == ESME
