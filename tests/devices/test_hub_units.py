"""Unit tests for the hub's modules on their own (issue 15.4): the device log, the GPF mirror, the
ESME's COSEM model, the CHF's command handling, and the DSP's command builder. Expected values
are written from GBCS / IEC 62056 / the ZCL specification, or read from the RTDS reference files.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.devices import cosem
from emulator.devices.chf import Chf
from emulator.devices.cosem import CosemModel
from emulator.devices.device_log import (
    DEVICE_LOG_FULL,
    INVALID_INSTALL_CODE,
    JOIN_INCOMPATIBLE,
    JOIN_SUCCESS,
    NOT_IN_DEVICE_LOG,
    UNJOIN_NOT_IN_LOG,
    UNJOIN_SUCCESS,
    DeviceLog,
    DeviceLogError,
    EntryState,
    JoinList,
    install_code_from_ccs01,
    log_statistics,
    security_details,
)
from emulator.devices.endpoint import GbcsEndpoint, TrustAnchors
from emulator.devices.events import DeviceUnreachable, ImageDistributed, JoinPermitted
from emulator.devices.gpf import Gpf
from emulator.devices.load import LoadModel
from emulator.gbcs import commands, dlms
from emulator.gbcs.commands import CommandError
from emulator.gbcs.keys import KeyStore
from emulator.zigbee.install_code import link_key_from_install_code, with_crc
from emulator.zigbee.zcl import DataType
from tests.conftest import need_rtds
from tests.devices.hub_harness import ACB, CHF_EUI, ESME_EUI, GPF_EUI, GSME_EUI, SUPPLIER, rtds_message

CODE = with_crc(bytes(range(16)))
T0 = 1_420_070_400.0  # 2015-01-01T00:00:00Z


# --- device_log -----------------------------------------------------------------------------------

def test_ic1_device_log_derives_the_link_key_and_keeps_an_entry_never_joined():
    log = DeviceLog()
    entry = log.add(ESME_EUI, "ESME", CODE, T0)
    assert entry.link_key == link_key_from_install_code(CODE) and entry.state is EntryState.WHITELISTED
    assert log.key_for(ESME_EUI) == entry.link_key and ESME_EUI in log
    log.joined(ESME_EUI, 0x1001)
    assert (entry.state, entry.nwk) == (EntryState.JOINED, 0x1001)
    log.left(ESME_EUI)
    assert entry.state is EntryState.LEFT
    # Adding the same code again keeps the entry (and its history); a new code replaces it.
    assert log.add(ESME_EUI, "ESME", CODE, T0 + 1) is entry
    assert log.add(ESME_EUI, "ESME", with_crc(bytes(16)), T0 + 2) is not entry


def test_ic2_device_log_refuses_a_bad_code_a_full_log_and_an_unknown_removal():
    log = DeviceLog(capacity=2)
    bad = bytearray(CODE)
    bad[-1] ^= 0xFF  # the CRC no longer matches
    with pytest.raises(DeviceLogError, match="install code for 00DB1234567890A0 refused") as e:
        log.add(ESME_EUI, "ESME", bytes(bad), T0)
    assert e.value.code == INVALID_INSTALL_CODE == 11
    log.add(ESME_EUI, "ESME", CODE, T0)
    log.add(GSME_EUI, "GSME", CODE, T0)
    with pytest.raises(DeviceLogError, match=r"device log full \(2 entries\)") as full:
        log.add(GPF_EUI, "GPF", CODE, T0)
    assert full.value.code == DEVICE_LOG_FULL == 4
    log.remove(GSME_EUI)
    with pytest.raises(DeviceLogError, match="00DB1234567890A1 is not in the device log") as gone:
        log.remove(GSME_EUI)
    assert gone.value.code == NOT_IN_DEVICE_LOG == 1
    with pytest.raises(DeviceLogError, match="link key for 00DB1234567890A1 is 15 bytes, not 16"):
        log.restore(GSME_EUI, "GSME", bytes(15), T0)


def test_join_list_cs03_and_cs04_response_codes():
    joins = JoinList()
    assert joins.join(GSME_EUI, 0) == JOIN_SUCCESS == 0
    assert joins.join(GSME_EUI, 0) == JOIN_SUCCESS  # confirming is fine
    assert joins.join(GSME_EUI, 1) == JOIN_INCOMPATIBLE == 3  # the same EUI as another device type
    assert joins.unjoin(GSME_EUI) == UNJOIN_SUCCESS == 0
    assert joins.unjoin(GSME_EUI) == UNJOIN_NOT_IN_LOG == 1


def test_ccs07_security_details_list_each_device_with_its_link_key():
    log = DeviceLog()
    log.add(ESME_EUI, "ESME", CODE, T0)
    details = security_details(list(log.entries.values()), CHF_EUI, T0)
    read_time, network, devices = details.value
    assert bytes(network.value) == CHF_EUI
    assert [(bytes(d.value[0].value), bytes(d.value[1].value)) for d in devices.value] == [
        (ESME_EUI, link_key_from_install_code(CODE))]
    assert len(bytes(read_time.value)) == 12  # a DLMS date-time


def test_ccs06_log_statistics_give_fourteen_values_per_device():
    log = DeviceLog()
    log.add(ESME_EUI, "ESME", CODE, T0)
    log.joined(ESME_EUI, 0x1001)
    (row,) = log_statistics(log, T0).value
    assert len(row.value) == 14 and bytes(row.value[0].value) == ESME_EUI


# --- the GPF mirror ---------------------------------------------------------------------------------

def _gpf() -> Gpf:
    return Gpf(GPF_EUI, GbcsEndpoint(GPF_EUI, KeyStore(), TrustAnchors()), bytes.fromhex("0123ABCD"))


def test_gpf_mirror_takes_the_records_of_a_zcl_report_attributes():
    gpf = _gpf()
    # Report Attributes records (ZCL 2.5.11): attribute id (LE), type, value (LE).
    # 0x0000 CurrentSummationDelivered uint48 (0x25) = 1234567; 0x0200 Status bitmap8 (0x18) = 0x01.
    report = bytes.fromhex("0000" "25" "87d612000000" "0002" "18" "01")
    gpf.update_mirror(0x0702, report, T0)
    assert gpf.mirror[(0x0702, 0x0000)] == (DataType.UINT48, 1234567)
    assert gpf.mirror[(0x0702, 0x0200)] == (DataType.BITMAP8, 1)
    assert gpf.mirror_time == T0
    assert gpf.attribute(0x0702, 0x0000, T0) == (DataType.UINT48, 1234567)
    assert gpf.attribute(0x0702, 0x0300, T0) == (DataType.ENUM8, 1)  # unit of measure: m3, the GSME's format


def test_gpf_mirror_drops_a_report_with_an_unknown_type_whole():
    # the one ZCL codec refuses the report at its bad record; the mirror keeps what it had, not half a report
    gpf = _gpf()
    gpf.update_mirror(0x0702, bytes.fromhex("0000" "21" "3412" "0100" "ff" "00"), T0)
    assert gpf.mirror == {}


@given(st.binary(max_size=64))
def test_fuzz_gpf_mirror_never_raises(report: bytes):
    _gpf().update_mirror(0x0702, report, T0)


# --- the ESME's COSEM model --------------------------------------------------------------------------

def _model() -> CosemModel:
    return CosemModel(ESME_EUI, LoadModel(seed=1, shape="domestic", daily_kwh=8.0, start=T0), bytes.fromhex("0123ABCD"))


def test_cosem_firmware_version_reads_as_ecs52_and_measured_values_are_read_only():
    m = _model()
    assert m.get(cosem.FIRMWARE_VERSION, T0) == (0, dlms.Data("octet-string", bytes.fromhex("0123ABCD")))
    assert m.set(cosem.IMPORT_ENERGY, dlms.Data("double-long-unsigned", 0), T0) == cosem.READ_WRITE_DENIED == 3


def test_cosem_import_register_grows_with_the_load():
    m = _model()
    code, early = m.get(cosem.IMPORT_ENERGY, T0 + 3600)
    _, later = m.get(cosem.IMPORT_ENERGY, T0 + 86400)
    assert code == 0 and early is not None and later is not None and later.value > early.value > 0


def test_cosem_unknown_objects_answer_object_undefined():
    m = _model()
    assert m.get((1, bytes((9, 9, 9, 9, 9, 9)), 2), T0) == (cosem.OBJECT_UNDEFINED, None)
    assert m.action(9999, bytes(6), 1, dlms.NULL, T0) == cosem.OBJECT_UNDEFINED == 4


def test_cosem_event_log_wraps_at_its_capacity():
    m = _model()
    for i in range(cosem.MAX_EVENTS + 5):
        m.record_event(T0 + i, 0x8F3F)
    assert len(m.events) == cosem.MAX_EVENTS == 100 and m.events[0][0] == T0 + 5


def test_cosem_protected_read_of_a_bad_descriptor_is_type_unmatched():
    assert _model().protected_read(dlms.Data("integer", 1), T0) == (cosem.TYPE_UNMATCHED, None)


# --- the CHF on its own ---------------------------------------------------------------------------

def test_ccs01_install_codes_are_octets_without_their_crc_or_a_label_with_it():
    # The RTDS CCS01's 16 octets are a code: the hub appends its CRC (never reads them as hex text).
    rtds = bytes.fromhex("30313233343536373839414243444546")
    assert install_code_from_ccs01(ESME_EUI, rtds) == rtds + bytes.fromhex("F596")
    assert install_code_from_ccs01(ESME_EUI, CODE[:-2]) == CODE
    assert install_code_from_ccs01(ESME_EUI, CODE) == CODE  # a label's form: its CRC is checked on add
    with pytest.raises(DeviceLogError, match="CCS01 carries 17 octets, not a 6, 8, 12 or 16-octet") as e:
        install_code_from_ccs01(ESME_EUI, bytes(17))
    assert e.value.code == INVALID_INSTALL_CODE


def test_chf_refuses_a_malformed_wan_frame_and_names_the_device_it_cannot_reach():
    chf = Chf(CHF_EUI, GbcsEndpoint(CHF_EUI, KeyStore(), TrustAnchors()), bytes.fromhex("0123ABCD"))
    out = chf.on_wan_command(b"\x00\x01", T0)
    assert out.events[0].reason.startswith("malformed frame from the WAN")  # type: ignore[attr-defined]
    need_rtds()
    read = rtds_message("4.1.1_ECS17b", "ECS17b_4.1.1_SINGLE_SUCCESS_COMMAND_GBCS.HEX")
    from emulator.gbcs import frames

    out = chf.on_wan_command(frames.encode(read), T0)
    assert [(e.target, e.counter, e.reason) for e in out.events if isinstance(e, DeviceUnreachable)] == [
        (ESME_EUI, 1000, "not in the device log")]


def test_chf_resume_permits_every_logged_device_and_add_image_names_its_targets():
    chf = Chf(CHF_EUI, GbcsEndpoint(CHF_EUI, KeyStore(), TrustAnchors()), bytes.fromhex("0123ABCD"))
    chf.device_log.add(ESME_EUI, "ESME", CODE, T0)
    (permit,) = chf.resume(T0).events
    assert isinstance(permit, JoinPermitted) and (permit.eui, permit.link_key) == (ESME_EUI,
                                                                                 link_key_from_install_code(CODE))
    from emulator.pki.generate import manufacturer_key
    from emulator.zigbee import ota_file

    image = ota_file.sample_image(manufacturer_key(1), manufacturer_code=0x1234, image_type=1,
                                  file_version=0x02000000, size=100)
    out = chf.add_image(image, {ESME_EUI}, T0)
    assert out.events == [ImageDistributed(CHF_EUI, T0, 0x02000000, (ESME_EUI,))]
    assert out.han == []  # the ESME has not joined: it is told when it asks


# --- the DSP's command builder (gbcs/commands.py) -------------------------------------------------

@pytest.mark.parametrize(("srv", "device_type", "folder", "file", "body"), [
    ("8.11", "CHF", "8.11_CCS01", "CCS01_8.11_SUCCESS_COMMAND_GBCS.HEX",
     {"device": ESME_EUI.hex(), "device_type": 0, "install_code": "30313233343536373839414243444546"}),
    ("8.1.1", "GSME", "8.1.1_GCS28Commission", "GCS28Commission_8.1.1_SUCCESS_COMMAND_GBCS.HEX", {}),
])
def test_commands_build_gives_the_reference_use_case_and_payload(srv: str, device_type: str, folder: str, file: str,
                                                                 body: dict[str, object]):
    need_rtds()
    ref = rtds_message(folder, file)
    built = commands.build(srv, device_type, ref.originator, ref.target, ref.counter, body)
    assert built.message.message_code == ref.message_code
    assert (built.message.originator, built.message.target, built.message.counter) == (
        ref.originator, ref.target, ref.counter)
    if srv == "8.11":
        assert built.message.payload == ref.payload and not built.critical
    else:
        assert built.critical and built.message.precommand  # 8.1.1 is critical: signed by the supplier


def test_commands_build_names_an_srv_with_no_use_case_for_the_device_type():
    with pytest.raises(CommandError, match=r"SRV 8\.11 has no GBCS use case for a ESME"):
        commands.build("8.11", "ESME", ACB, ESME_EUI, 1, {})
    assert commands.message_code_for("4.1.1", "ESME", {}) is not None
    assert commands.message_code_for("8.11", "ESME", {}) is None
    assert SUPPLIER.hex().upper() == "90B3D51F30010000"


# --- the GSME's sleep cycle, in the core ----------------------------------------------------------

def test_gsme_wakes_on_its_own_timer_only_once_on_a_network():
    from emulator.devices.gsme import FAST_POLL_S, Gsme
    from emulator.devices.profile import MeterProfile

    gsme = Gsme(GSME_EUI, GbcsEndpoint(GSME_EUI, KeyStore(), TrustAnchors()), CHF_EUI,
                MeterProfile(wake_period_s=30.0), T0)
    assert gsme.get_timer() is None  # off the network: no wake, no poll
    gsme.nwk = 0x1001
    joined = gsme.joined(T0 + 5)
    assert joined.han[0].payload[2] == 0x00 and not joined.poll  # Request Tunnel, no poll yet
    assert gsme.get_timer() == T0 + 5 + FAST_POLL_S
    first = gsme.handle_timer(T0 + 5.25)
    assert first.poll and first.han == []  # collect the hub's answer
    assert gsme.get_timer() == T0 + 30  # nothing in progress: asleep until the wake
    wake = gsme.handle_timer(T0 + 30)
    assert wake.poll and {p.cluster for p in wake.han} == {0x0702, 0x0704, 0x0019}  # report, tunnel, OTA query
    assert gsme.next_wake == T0 + 60 and gsme.get_timer() == T0 + 30 + FAST_POLL_S
