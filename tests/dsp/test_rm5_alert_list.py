"""RM-5: which alerts from a Restricted device reach the Service User, written out as data.

The expectation is this file's literal lists, reviewed against MP169's principles (seeds 003
requirement 4 and 004 section 4: critical, security and safety alerts and firmware still flow;
DNOs rely on the safety and supply-quality ones; consumption data never). A change to the
default list that moves a code fails here.
"""

from __future__ import annotations

import pytest

from emulator.dsp.core import Dsp
from emulator.dsp.model import Device, Premises, Region, Status
from emulator.dsp.policy import PolicyError, RestrictedPolicy, default_alert_list, parse_alert_list
from emulator.dsp.repository import MemoryRepository
from emulator.gbcs import catalogue
from emulator.scenarios.world import SUPPLIER, USERS
from emulator.zigbee.eui64 import Eui64

NOW = 1767225600.0
HUB, ESME = Eui64.from_hex("00DB1234567890A2"), Eui64.from_hex("00DB1234567890A0")

DELIVERED = frozenset({
    0x8002, 0x8003, 0x8004, 0x8005, 0x8006, 0x8007, 0x8008, 0x8009, 0x8010, 0x8011, 0x8013, 0x8014, 0x8015,
    0x8016, 0x8020, 0x8021, 0x8022, 0x8023, 0x8024, 0x8025, 0x8026, 0x8027, 0x8028, 0x8029, 0x802A, 0x802B,
    0x802C, 0x802D, 0x802E, 0x802F, 0x8085, 0x8086, 0x8087, 0x8088, 0x8089, 0x808A, 0x808B, 0x808C, 0x808D,
    0x808E, 0x808F, 0x8090, 0x8091, 0x8092, 0x8093, 0x8094, 0x8095, 0x8096, 0x8097, 0x8098, 0x8099, 0x809A,
    0x809B, 0x809C, 0x81A0, 0x81AC, 0x81AD, 0x81AE, 0x81AF, 0x81B0, 0x81B1, 0x81B2, 0x81B3, 0x81B4, 0x81B5,
    0x81B6, 0x81B7, 0x81B8, 0x81BB, 0x81BC, 0x81BD, 0x81BE, 0x81BF, 0x81C0, 0x81C2, 0x81C3, 0x8F1B, 0x8F1C,
    0x8F1E, 0x8F30, 0x8F32, 0x8F33, 0x8F34, 0x8F35, 0x8F36, 0x8F37, 0x8F38, 0x8F39, 0x8F3A, 0x8F3B, 0x8F3C,
    0x8F3D, 0x8F3E, 0x8F3F, 0x8F43, 0x8F4C, 0x8F4D, 0x8F4E, 0x8F4F, 0x8F53, 0x8F57, 0x8F58, 0x8F59, 0x8F5A,
    0x8F60, 0x8F63, 0x8F64, 0x8F66, 0x8F67, 0x8F70, 0x8F72, 0x8F73, 0x8F74, 0x8F75, 0x8F76, 0x8F77, 0x8F78,
    0x8F85, 0x8F89, 0x8F8A, 0x8F8B,
})
DISCARDED = frozenset({
    0x8071, 0x810D, 0x810E, 0x8119, 0x8145, 0x8154, 0x8155, 0x8161, 0x8162, 0x8168, 0x8183, 0x8184, 0x819D,
    0x819E, 0x81A1, 0x81A2, 0x81A3, 0x81A4, 0x81A5, 0x81A6, 0x81A7, 0x81A8, 0x81A9, 0x81AA, 0x81AB, 0x81B9,
    0x81BA, 0x81C1, 0x81C4, 0x81C5, 0x81C6, 0x8F01, 0x8F0A, 0x8F0C, 0x8F0F, 0x8F12, 0x8F1D, 0x8F1F, 0x8F20,
    0x8F21, 0x8F22, 0x8F23, 0x8F24, 0x8F25, 0x8F26, 0x8F27, 0x8F28, 0x8F29, 0x8F2A, 0x8F2B, 0x8F2C, 0x8F2D,
    0x8F47, 0x8F48, 0x8F49, 0x8F4A, 0x8F4B, 0x8F51, 0x8F52, 0x8F5B, 0x8F69, 0x8F82, 0x8F83, 0x8F84, 0x8F86,
    0x8F87, 0x8F88,
})
# Named by the issue and the seeds: these must never be lost, or never leak.
MUST_DELIVER = {0x81AD: "metrology firmware verification failure", 0x81BE: "supply tamper",
                0x81BF: "uncontrolled gas flow", 0x8002: "average RMS over-voltage", 0x802C: "voltage sag",
                0x8F3F: "tamper", 0x8F1C: "firmware verification failed", 0x8F57: "supply interrupted",
                0x8F70: "security credentials updated", 0x8F89: "firmware transfer failed"}
MUST_DISCARD = {0x8F0A: "billing data log (consumption)", 0x8F01: "import power above the load limit",
                0x810D: "credit below the low-credit threshold", 0x8F0F: "credit below disablement threshold"}


def _restricted_dsp(policy: RestrictedPolicy | None = None) -> Dsp:
    d = Dsp(MemoryRepository(), policy, USERS)
    d.add_premises(Premises("P1", Region.NORTH, HUB))
    d.add_device(Device(HUB, "CHF", "P1", Status.COMMISSIONED))
    d.add_device(Device(ESME, "ESME", "P1", Status.COMMISSIONED, import_supplier=SUPPLIER))
    d.set_restricted(SUPPLIER, ESME, True, NOW)
    return d


def test_rm5_every_alert_code_has_exactly_one_decision() -> None:
    assert not DELIVERED & DISCARDED
    assert set(catalogue.alert_codes()) == DELIVERED | DISCARDED
    assert set(default_alert_list()) == set(catalogue.alert_codes())


def test_rm5_default_list_delivers_and_discards_as_written() -> None:
    d = _restricted_dsp()
    for code in sorted(DELIVERED | DISCARDED):
        signed = code in (0x8F0A, 0x8F66, 0x8F67)  # device-signed in the RTDS set: still the list decides
        d.on_alert(ESME, code, signed, "DF00", NOW)
    sat = {int(r["alert_code"], 16) for r in d.repo.read_log("sat")}
    diagnostics = {int(r["alert_code"], 16) for r in d.repo.read_log("diagnostics")}
    assert sat == DELIVERED
    assert diagnostics == DISCARDED


@pytest.mark.parametrize("code", sorted(MUST_DELIVER))
def test_rm5_critical_security_safety_and_firmware_alerts_are_kept(code: int) -> None:
    assert RestrictedPolicy().alert_delivered(code), MUST_DELIVER[code]


@pytest.mark.parametrize("code", sorted(MUST_DISCARD))
def test_rm5_consumption_alerts_never_reach_the_sat_log_signed_or_not(code: int) -> None:
    d = _restricted_dsp()
    assert d.on_alert(ESME, code, True, "DF00", NOW) == []
    assert d.repo.read_log("sat") == [] and d.repo.read_log("diagnostics")[0]["alert_code"] == f"0x{code:04X}"


def test_rm5_unrestricted_devices_deliver_everything() -> None:
    d = _restricted_dsp()
    d.set_restricted(SUPPLIER, ESME, False, NOW)
    d.on_alert(ESME, 0x8F0A, True, "DF00", NOW)
    assert [r["alert_code"] for r in d.repo.read_log("sat")] == ["0x8F0A"]


def test_rm5_a_users_list_replaces_the_default() -> None:
    text = "# mine\ncode,decision,category,reason\n0x8F32,discard,operational,not wanted\n0x8F0C,deliver,critical,x\n"
    policy = RestrictedPolicy().with_alert_list(text, "mine.csv")
    assert policy.alert_delivered(0x8F0C) and not policy.alert_delivered(0x8F32)
    assert not policy.alert_delivered(0x8F3F)  # absent from a custom list: discarded


@pytest.mark.parametrize("text, error", [
    ("code,decision\n", "header"),
    ("code,decision,category,reason\nzz,deliver,critical,x\n", "'zz' is not a hex alert code"),
    ("code,decision,category,reason\n0x8F0A,keep,critical,x\n", "decision 'keep'"),
    ("code,decision,category,reason\n0x8F0A,deliver,fun,x\n", "category 'fun'"),
    ("code,decision,category,reason\n0x8F0A,deliver,consumption,x\n", "never delivers"),
    ("code,decision,category,reason\n0x8F0A,discard,consumption,x\n0x8F0A,discard,consumption,x\n", "twice"),
])
def test_rm5_a_bad_list_is_refused_naming_the_line(text: str, error: str) -> None:
    with pytest.raises(PolicyError, match=r"bad\.csv") as e:
        parse_alert_list(text, "bad.csv")
    assert error in str(e.value)
