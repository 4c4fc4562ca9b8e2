"""Restricted mode in the DSP core (MP169: RM-1 ... RM-12), without I/O."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from emulator.dsp.core import Dsp
from emulator.dsp.events import Answer, CspNotification, SendCommand
from emulator.dsp.model import Device, Premises, Region, ServiceRequest, Status
from emulator.dsp.policy import RestrictedPolicy
from emulator.dsp.reports import CspStub, device_extract_csv, firmware_monitoring, monthly_report
from emulator.dsp.repository import MemoryRepository
from emulator.dsp.store import SqliteRepository
from emulator.gbcs import catalogue, frames, security, usecases
from emulator.scenarios.world import NETWORK_OPERATOR, SECOND_SUPPLIER, SUPPLIER, USERS, key_stores
from emulator.zigbee.eui64 import Eui64

NOW = 1767225600.0  # Thursday 2026-01-01T00:00:00Z (New Year's Day, a bank holiday)
# RM-4's default block list, written from the requirement ("exactly the SRVs that read or relate to
# consumption"): the instantaneous, billing, daily, profile, maximum-demand and power reads, and
# the gas network data record. A catalogue change that moves one of them fails these tests.
CONS_SRVS = frozenset({"4.1.1", "4.1.2", "4.1.3", "4.1.4", "4.2", "4.4.2", "4.4.3", "4.6.1", "4.6.2", "4.8.1",
                       "4.8.2", "4.8.3", "4.12.1", "4.12.2", "4.14", "4.16", "4.17", "14.1"})
# Consumption-derived or financial reads ("CONS?"): allowed by default, blocked by the stricter choice.
CONS_QUESTION_SRVS = frozenset({"4.3", "4.4.4", "4.4.5", "4.10", "4.18"})
HUB, ESME, GSME, GPF = (Eui64.from_hex(e) for e in ("00DB1234567890A2", "00DB1234567890A0", "00DB1234567890A1",
                                                    "00DB1234567890A3"))


def _dsp(repo: MemoryRepository | SqliteRepository | None = None, policy: RestrictedPolicy | None = None,
         **premises_flags: bool) -> Dsp:
    d = Dsp(repo or MemoryRepository(), policy, USERS)
    d.add_premises(Premises("P1", Region.NORTH, HUB, **premises_flags))
    d.add_device(Device(HUB, "CHF", "P1", Status.COMMISSIONED))
    d.add_device(Device(ESME, "ESME", "P1", Status.COMMISSIONED, import_supplier=SUPPLIER, installing_supplier=SUPPLIER,
                        install_code="AA"))
    d.add_device(Device(GSME, "GSME", "P1", Status.COMMISSIONED, gas_supplier=SUPPLIER))
    d.add_device(Device(GPF, "GPF", "P1", Status.COMMISSIONED, gas_supplier=SUPPLIER, paired_gsme=GSME))
    return d


_counter = [0]


def _req(srv: str, target: Eui64 | str, user: str = SUPPLIER, role: str = "IS", cv: int = 1,
         **body: object) -> ServiceRequest:
    _counter[0] += 1

    def duis(e: Eui64 | str) -> str:
        return "-".join(str(e)[i:i + 2] for i in range(0, 16, 2))
    return ServiceRequest(f"{duis(user)}:{duis(target)}:{_counter[0]}", srv, cv, dict(body), role)


def _code(outs: list[object]) -> str:
    """The DUIS code the user sees; a CV 4 Pre-Command hand-back counts as accepted (I0)."""
    for o in outs:
        if isinstance(o, Answer):
            return o.response.code
        if isinstance(o, SendCommand) and o.precommand:
            return "I0"
    raise AssertionError(f"no answer in {outs}")


def test_rm1_restricted_is_a_flag_not_a_status_and_follows_gsme_to_gpf():
    d = _dsp()
    d.set_restricted(SUPPLIER, GSME, True, NOW)
    gsme, gpf = d.repo.device(GSME), d.repo.device(GPF)
    assert gsme is not None and gpf is not None
    assert gsme.restricted and gpf.restricted and gsme.status == Status.COMMISSIONED
    assert "Restricted" not in [s.value for s in Status]


def test_rm2_only_the_responsible_supplier_sets_or_clears():
    d = _dsp()
    for who in (SECOND_SUPPLIER, NETWORK_OPERATOR):
        outs = d.set_restricted(who, ESME, True, NOW)
        assert _code(outs) == "E4" and "RM-2" in outs[0].response.message  # type: ignore[attr-defined]
    assert not d.repo.device(ESME).restricted  # type: ignore[union-attr]
    assert _code(d.set_restricted(SUPPLIER, ESME, True, NOW)) == "I0"


def test_rm3_preconditions_each_name_their_rule():
    d = _dsp()
    d.repo.device(ESME).status = Status.INSTALLED_NOT_COMMISSIONED  # type: ignore[union-attr]
    assert "Commissioned" in d.set_restricted(SUPPLIER, ESME, True, NOW)[0].response.message  # type: ignore[attr-defined]
    d = _dsp()
    d.repo.device(HUB).status = Status.INSTALLED_NOT_COMMISSIONED  # type: ignore[union-attr]
    assert "hub" in d.set_restricted(SUPPLIER, ESME, True, NOW)[0].response.message  # type: ignore[attr-defined]
    d = _dsp()
    d.repo.device(ESME).payment_mode = "prepayment"  # type: ignore[union-attr]
    assert "credit-mode" in d.set_restricted(SUPPLIER, ESME, True, NOW)[0].response.message  # type: ignore[attr-defined]
    for flag in ("economy7_load_control", "radio_teleswitch", "network_managed"):
        d = _dsp(**{flag: True})
        assert "must keep communications" in d.set_restricted(SUPPLIER, ESME, True, NOW)[0].response.message  # type: ignore[attr-defined]
    d = _dsp()
    d.set_restricted(SUPPLIER, ESME, True, NOW)
    assert _code(d.submit(SUPPLIER, _req("1.6", ESME, cv=4, payment_mode="prepayment"), NOW)) == "E72"


def test_rm4_every_cons_srv_is_rejected_before_the_wan_and_others_pass():
    d = _dsp()
    d.set_restricted(SUPPLIER, ESME, True, NOW)
    refused = set()
    for srv in catalogue.srvs().values():
        if srv.non_device or usecases.use_case_for(srv.srv, "ESME") is None or "IS" not in srv.roles:
            continue
        outs = d.submit(SUPPLIER, _req(srv.srv, ESME, cv=4 if srv.critical else 1), NOW)
        if _code(outs) == "E72":
            refused.add(srv.srv)
            assert not any(isinstance(o, SendCommand) for o in outs)
    assert refused == {s for s in CONS_SRVS if s not in ("4.1.4", "4.2", "4.6.2", "4.8.3", "4.12.2", "14.1")}
    # (the exceptions: no IS role, or no ESME use case: gas-only, export-only or network-data SRVs)


def test_rm4_allow_list_is_configurable_cons_question():
    strict = _dsp(policy=RestrictedPolicy.with_cons_question(blocked=True))
    strict.set_restricted(SUPPLIER, ESME, True, NOW)
    for srv in sorted(CONS_QUESTION_SRVS):
        info = catalogue.srvs()[srv]
        if usecases.use_case_for(srv, "ESME") is None or "IS" not in info.roles:
            continue
        assert _code(strict.submit(SUPPLIER, _req(srv, ESME, cv=4 if info.critical else 1), NOW)) == "E72", srv
        assert _code(_restricted_default().submit(SUPPLIER, _req(srv, ESME), NOW)) == "I99", srv


def _restricted_default() -> Dsp:
    d = _dsp()
    d.set_restricted(SUPPLIER, ESME, True, NOW)
    return d


def test_rm6_flag_in_8_2_inventory_and_extract():
    d = _dsp()
    d.set_restricted(SUPPLIER, ESME, True, NOW)
    outs = d.submit(SUPPLIER, _req("8.2", "90B3D51F30000002", cv=8), NOW)
    inv = {r["eui"]: r["restricted"] for r in outs[0].response.body["inventory"]}  # type: ignore[attr-defined]
    assert inv[str(ESME)] is True and inv[str(GSME)] is False
    lines = device_extract_csv(d.repo).splitlines()
    assert lines[0].split(",")[4] == "restricted" and f"{ESME},ESME,P1,Commissioned,Y" in lines[1:][0] + "".join(lines)
    assert all("install_code" not in r for r in d.read_inventory())


def test_rm7_csp_notified_on_set_and_clear_and_switchable():
    d = _dsp()
    outs = d.set_restricted(SUPPLIER, ESME, True, NOW) + d.set_restricted(SUPPLIER, ESME, False, NOW + 1)
    notes = [o for o in outs if isinstance(o, CspNotification)]
    assert [(n.region, n.hub, n.restricted) for n in notes] == [("NORTH", HUB, True), ("NORTH", HUB, False)]
    quiet = _dsp(policy=RestrictedPolicy(notify_csp=False))
    assert not [o for o in quiet.set_restricted(SUPPLIER, ESME, True, NOW) if isinstance(o, CspNotification)]


def test_rm7a_rm8_csp_stores_indicator_and_reports_exceptions():
    d = _dsp()
    north = CspStub("NORTH")
    for o in d.set_restricted(SUPPLIER, ESME, True, NOW):
        if isinstance(o, CspNotification):
            north.notify(o)
    assert north.restricted_hubs() == [str(HUB)]
    hub, other = "00DB1234567890A2", "00DB1234000190A2"
    rep = north.monthly_report([hub, other], {hub: 1, other: 9}, {hub: 10, other: 10})
    assert rep["exceptions"] == [hub] and rep["delivery_rate"] == 0.9


def test_rm8_monthly_report_excludes_restricted_devices_and_says_so():
    d = _dsp()
    d.repo.log("responses", {"time": NOW, "request_id": "a", "srv": "4.1.1", "ok": True, "class": "CONS",
                             "device": str(GSME), "restricted": False})
    d.repo.log("responses", {"time": NOW, "request_id": "b", "srv": "4.1.1", "ok": False, "class": "CONS",
                             "device": str(ESME), "restricted": False})
    d.set_restricted(SUPPLIER, ESME, True, NOW)
    d.submit(SUPPLIER, _req("4.1.1", ESME), NOW)
    rep = monthly_report(d.repo, NOW - 1, NOW + 86400 * 30)
    assert rep["consumption_requests"] == 1 and rep["consumption_success_rate"] == 1.0
    assert rep["exceptions"] == [str(ESME)] and "excluded" in rep["note"] and rep["excluded_restricted_requests"] == 2


def test_rm9_kept_on_change_of_supplier_cleared_on_change_of_tenancy_by_policy():
    d = _dsp()
    d.set_restricted(SUPPLIER, ESME, True, NOW)
    d.change_of_supplier(ESME, SECOND_SUPPLIER, NOW)
    dev = d.repo.device(ESME)
    assert dev is not None and dev.restricted and dev.responsible_supplier == SECOND_SUPPLIER
    keep = _dsp(policy=RestrictedPolicy(clear_on_change_of_tenancy=False))
    keep.set_restricted(SUPPLIER, ESME, True, NOW)
    keep.change_of_tenancy(ESME, NOW)
    assert keep.repo.device(ESME).restricted  # type: ignore[union-attr]
    d.change_of_tenancy(ESME, NOW)
    assert not d.repo.device(ESME).restricted  # type: ignore[union-attr]
    assert any(a["what"] == "restricted-cleared" and "tenancy" in a.get("reason", "") for a in d.repo.read_log("audit"))


def test_rm9_rm1_change_of_tenancy_clears_the_gsme_and_its_gpf_and_tells_the_csp():
    d = _dsp()
    d.set_restricted(SUPPLIER, GSME, True, NOW)
    outs = d.change_of_tenancy(GSME, NOW + 1)
    assert not d.repo.device(GSME).restricted and not d.repo.device(GPF).restricted  # type: ignore[union-attr]
    notes = [(o.region, o.hub, o.device, o.restricted) for o in outs if isinstance(o, CspNotification)]
    assert notes == [("NORTH", HUB, GSME, False), ("NORTH", HUB, GPF, False)]


def test_rm3_payment_mode_follows_srv_1_6_and_blocks_restricted_afterwards():
    d = _dsp()
    req = _req("1.6", ESME, cv=4, Prepayment={"SuspendDebtDisabled": "false", "SuspendDebtEmergency": "false",
                                              "DisablementThreshold": "0"})
    pre = d.submit(SUPPLIER, req, NOW)
    assert _code(pre) == "I0"
    frame = frames.decode(bytes.fromhex(pre[0].response.body["precommand"]))  # type: ignore[attr-defined]
    assert frame.message_code == 0x001B  # ECS03 Set ESME Payment Mode to Prepayment
    keys, _ = key_stores(1, 1)
    signed = frames.encode(security.sign(keys, frame).with_(mac_protected=False)).hex().upper()
    cv5 = dataclasses.replace(_req("1.6", ESME, cv=5), signed_command=signed)
    sends = [o for o in d.submit(SUPPLIER, cv5, NOW + 1) if isinstance(o, SendCommand)]
    assert len(sends) == 1
    # The meter answers: the inventory now says prepayment.
    d.on_response(cv5.request_id, True, "", NOW + 5)
    assert d.repo.device(ESME).payment_mode == "prepayment"  # type: ignore[union-attr]
    refused = d.set_restricted(SUPPLIER, ESME, True, NOW + 6)
    assert _code(refused) == "E5" and "prepayment" in refused[0].response.message  # type: ignore[attr-defined]


def test_rm11_firmware_monitoring_lists_restricted_devices_whose_updates_keep_failing():
    d = _dsp()
    d.set_restricted(SUPPLIER, ESME, True, NOW)
    for _ in range(3):
        d.on_alert(HUB, 0x8F89, False, "AA", NOW, subject=ESME)  # the hub reports the meter's transfer failing
    d.on_alert(HUB, 0x8F89, False, "AA", NOW, subject=GSME)  # not Restricted: not listed
    report = firmware_monitoring(d.repo, d.policy)
    assert [(r["device"], r["consecutive_failures"]) for r in report] == [(str(ESME), 3)]


def test_rm12_changes_rejections_and_discards_are_durable_and_auditable(tmp_path: Path):
    db = tmp_path / "dsp.sqlite"
    repo = SqliteRepository(db)
    d = _dsp(repo)
    d.set_restricted(SUPPLIER, ESME, True, NOW)
    d.submit(SUPPLIER, _req("4.1.1", ESME), NOW + 1)
    d.on_alert(ESME, 0x8F0A, True, "BB", NOW + 2)  # billing data: consumption, discarded even when signed
    repo.close()
    again = SqliteRepository(db)  # a restarted DSP
    assert again.device(ESME).restricted  # type: ignore[union-attr]
    audit = again.read_log("audit")
    assert [(a["what"], a["who"], a["time"]) for a in audit] == [
        ("restricted-set", SUPPLIER, NOW), ("restricted-rejection", SUPPLIER, NOW + 1),
        ("alert-discarded", "DSP", NOW + 2)]
    assert [r["alert_code"] for r in again.read_log("diagnostics")] == ["0x8F0A"]
    assert [(c["device"], c["restricted"]) for c in again.read_log("csp")] == [(str(ESME), True)]


def test_ic3_ic4_install_code_exchange_asks_the_losing_supplier_within_10_working_days():
    d = _dsp()
    esme = d.repo.device(ESME)
    assert esme is not None
    esme.status = Status.INSTALLED_NOT_COMMISSIONED  # installed, never commissioned (IC-1)
    d.repo.put_device(esme)
    assert d.request_install_code(SUPPLIER, ESME, NOW).code == "E4"  # no change of supplier yet
    d.change_of_supplier(ESME, SECOND_SUPPLIER, NOW)
    r = d.request_install_code(SECOND_SUPPLIER, ESME, NOW)
    assert r.code == "I0" and r.body["losing"] == SUPPLIER
    # Thu 1 Jan 2026 (bank holiday): working days are 2, 5, 6, 7, 8, 9, 12, 13, 14, 15 January.
    assert r.body["deadline"] == 1768521599.0  # 2026-01-15T23:59:59Z
    assert d.answer_install_code(NETWORK_OPERATOR, r.request_id, NOW).code == "E4"
    assert not d.overdue_install_code_requests(1768521599.0)
    assert d.overdue_install_code_requests(1768521600.0)
    ans = d.answer_install_code(SUPPLIER, r.request_id, NOW + 86400)
    assert ans.code == "I0" and ans.body["install_code"] == "AA" and ans.body["late"] is False
    assert d.answer_install_code(SUPPLIER, r.request_id, NOW + 86400).code == "E1"  # answered once


def test_ic3_ic4_a_commissioned_meters_code_is_never_released():
    d = _dsp()
    d.change_of_supplier(ESME, SECOND_SUPPLIER, NOW)
    assert d.request_install_code(SECOND_SUPPLIER, ESME, NOW).code == "E5"
    esme = d.repo.device(ESME)
    assert esme is not None
    esme.status = Status.INSTALLED_NOT_COMMISSIONED
    d.repo.put_device(esme)
    r = d.request_install_code(SECOND_SUPPLIER, ESME, NOW)
    esme.status = Status.COMMISSIONED  # commissioned meanwhile
    d.repo.put_device(esme)
    ans = d.answer_install_code(SUPPLIER, r.request_id, NOW + 60)
    assert ans.code == "E5" and "install_code" not in ans.body


def test_ic3_a_losing_supplier_that_did_not_install_says_so():
    d = _dsp()
    gsme = d.repo.device(GSME)
    assert gsme is not None
    gsme.status, gsme.installing_supplier = Status.INSTALLED_NOT_COMMISSIONED, NETWORK_OPERATOR
    d.repo.put_device(gsme)
    d.change_of_supplier(GSME, SECOND_SUPPLIER, NOW)
    r = d.request_install_code(SECOND_SUPPLIER, GSME, NOW)
    ans = d.answer_install_code(SUPPLIER, r.request_id, NOW)
    assert ans.code == "I0" and ans.body["install_code"] is None and "did not install" in ans.message


ROLES = st.sampled_from([("IS", SUPPLIER), ("GS", SUPPLIER), ("ED", NETWORK_OPERATOR), ("GT", NETWORK_OPERATOR)])
DEVICE_SRVS = [s.srv for s in catalogue.srvs().values() if not s.non_device]


@given(st.sampled_from(DEVICE_SRVS), st.sampled_from([ESME, GSME, GPF, HUB]), st.booleans(), ROLES)
def test_rm4_property_never_forwards_cons_to_restricted_and_always_answers(srv: str, target: str, restricted: bool,
                                                                           role: tuple[str, str]) -> None:
    d = _dsp()
    if restricted and target in (ESME, GSME):
        d.set_restricted(SUPPLIER, target, True, NOW)
    outs = d.submit(role[1], _req(srv, target, user=role[1], role=role[0],
                                  cv=4 if catalogue.srvs()[srv].critical else 1), NOW)
    answers = [o for o in outs if isinstance(o, Answer)]
    sends = [o for o in outs if isinstance(o, SendCommand)]
    dev = d.repo.device(target)
    assert answers or sends, "every request gets an answer"
    if dev is not None and dev.restricted and srv in CONS_SRVS:
        assert not sends
    for a in answers:
        assert a.response.code in ("I0", "I99", "E1", "E3", "E4", "E5", "E11", "E12", "E72")


def test_future_dated_request_is_sent_at_its_time_and_answered():
    from emulator.clock import VirtualClock, run
    from emulator.devices.profile import PremisesProfile
    from emulator.scenarios.steps import commission, install
    from emulator.scenarios.world import build_world

    async def main() -> None:
        w = await build_world(VirtualClock(), [PremisesProfile(gas=None)])
        p = w.premises[0]
        sup = w.users[SUPPLIER]
        await install(w, p, sup)
        await commission(w, p, sup)
        at = w.clock.now() + 6 * 3600
        req = ServiceRequest(sup.request_id(p.esme.hex().upper()), "11.2", 1, {}, "IS", execution_time=at)
        ack, final = await w.dsp.call(SUPPLIER, req)
        assert ack.code == "I99" and final is not None and final.code == "I0"
        assert w.clock.now() >= at  # not before its time
        # To a meter that never answers: E30 after the future-dated time-out.
        assert p.esme_runner is not None
        await p.esme_runner.link.leave()
        req2 = ServiceRequest(sup.request_id(p.esme.hex().upper()), "11.2", 1, {}, "IS", execution_time=at + 60)
        ack, final = await w.dsp.call(SUPPLIER, req2)
        assert final is not None and final.code == "E30"
        await w.stop()

    run(main())
