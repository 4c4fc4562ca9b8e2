"""Every route by which a Service User can make a device act, tried against a Restricted meter
as an attacker would (MP169 RM-3, RM-4, RM-5, RM-10; docs/restricted.md lists the routes).

Expectations are literal: the consumption read is SRV 4.1.1 (use case ECS17b, message code
0x0027), Set Clock is SRV 6.11 (ECS70, 0x0062), Update Payment Mode to prepayment is ECS03
(0x001B); the Restricted rejection code is E72 and the project's code for a signed
Pre-Command the DSP did not issue is E51.
"""

from __future__ import annotations

from typing import Any

import pytest

from emulator.dsp.core import Dsp
from emulator.dsp.events import Answer, DspOutput, SendCommand
from emulator.dsp.model import Device, Premises, Region, ServiceRequest, Status
from emulator.dsp.policy import RestrictedPolicy
from emulator.dsp.repository import MemoryRepository
from emulator.gbcs import frames, security
from emulator.gbcs.frames import Cra, Message
from emulator.scenarios.world import NETWORK_OPERATOR, SECOND_SUPPLIER, SUPPLIER, USERS, key_stores, view
from emulator.zigbee.eui64 import Eui64

NOW = 1767225600.0  # 2026-01-01T00:00:00Z
HUB, ESME, GSME, GPF = "00DB1234567890A2", "00DB1234567890A0", "00DB1234567890A1", "00DB1234567890A3"
E = Eui64.from_hex  # the DSP core takes EUIs typed; requests name them as DUIS text
ECS17B_READ_IMPORT = 0x0027
ECS70_SET_CLOCK = 0x0062
ECS03_TO_PREPAYMENT = 0x001B
PREPAYMENT_BODY = {"Prepayment": {"SuspendDebtDisabled": "false", "SuspendDebtEmergency": "false",
                                  "DisablementThreshold": "0"}}


@pytest.fixture(scope="module")
def keys() -> Any:
    full, _ = key_stores(1, 1)
    return full


class Attack:
    """A DSP with one premises, its ESME Restricted, and a supplier that can sign."""

    def __init__(self, keys: Any, restricted: bool = True) -> None:
        self.keys = keys
        self.dsp = Dsp(MemoryRepository(), RestrictedPolicy(), USERS,
                       keys=view(keys, []))  # public keys only, as the DCC holds them
        self.dsp.add_premises(Premises("P1", Region.NORTH, E(HUB)))
        self.dsp.add_device(Device(E(HUB), "CHF", "P1", Status.COMMISSIONED))
        self.dsp.add_device(Device(E(ESME), "ESME", "P1", Status.COMMISSIONED, import_supplier=SUPPLIER))
        self.dsp.add_device(Device(E(GSME), "GSME", "P1", Status.COMMISSIONED, gas_supplier=SUPPLIER))
        self.dsp.add_device(Device(E(GPF), "GPF", "P1", Status.COMMISSIONED, gas_supplier=SUPPLIER,
                                   paired_gsme=E(GSME)))
        self.counter = 1000
        if restricted:
            self.restrict()

    def restrict(self, eui: str = ESME) -> None:
        outs = self.dsp.set_restricted(SUPPLIER, E(eui), True, NOW)
        assert _answer(outs).code == "I0"

    def req(self, srv: str, cv: int, target: str = ESME, user: str = SUPPLIER, role: str = "IS",
            body: dict[str, Any] | None = None, signed: str | None = None,
            at: float | None = None) -> ServiceRequest:
        self.counter += 1
        duis = "-".join(user[i:i + 2] for i in range(0, 16, 2)), "-".join(target[i:i + 2] for i in range(0, 16, 2))
        return ServiceRequest(f"{duis[0]}:{duis[1]}:{self.counter}", srv, cv, dict(body or {}), role,
                              execution_time=at, signed_command=signed)

    def sign(self, frame: Message, signer: str = SUPPLIER) -> str:
        signed = security.sign(view(self.keys, [bytes.fromhex(signer)]), frame.with_(precommand=True),
                               signer=bytes.fromhex(signer))
        return frames.encode(signed.with_(mac_protected=False)).hex().upper()

    def precommand(self, srv: str, body: dict[str, Any] | None = None, target: str = ESME) -> tuple[Message, str]:
        """CV 4: the Pre-Command the DSP issues; (decoded, hex)."""
        outs = self.dsp.submit(SUPPLIER, self.req(srv, 4, target, body=body), NOW)
        a = _answer(outs)
        assert a.code == "I0", a.message
        hex_pre = a.body["precommand"]
        return frames.decode(bytes.fromhex(hex_pre)), hex_pre


def _answer(outs: list[DspOutput]) -> Any:
    answers = [o.response for o in outs if isinstance(o, Answer)]
    assert answers, f"no answer in {outs}"
    return answers[0]


def _sends(outs: list[DspOutput]) -> list[SendCommand]:
    return [o for o in outs if isinstance(o, SendCommand)]


def _own_frame(message_code: int, payload: bytes, counter: int = 99) -> Message:
    """A frame the attacker makes itself (never issued by the DSP)."""
    return Message(Cra.COMMAND, counter, bytes.fromhex(SUPPLIER), bytes.fromhex(ESME), message_code, payload,
                   precommand=True)


# --- route 1: direct (CV 1/2) --------------------------------------------------------------------
def test_rm4_route_direct_consumption_read_is_refused_before_the_wan(keys: Any) -> None:
    a = Attack(keys)
    outs = a.dsp.submit(SUPPLIER, a.req("4.1.1", 1), NOW)
    assert _answer(outs).code == "E72" and not _sends(outs)
    assert "ECS17b" in _answer(outs).message


def test_rm4_route_direct_command_variant_3_is_not_a_way_around(keys: Any) -> None:
    a = Attack(keys)
    outs = a.dsp.submit(SUPPLIER, a.req("4.1.1", 3), NOW)
    assert _answer(outs).code in ("E12", "E72") and not _sends(outs)


# --- route 2: transform (CV 4 -> CV 5) ---------------------------------------------------------
def test_rm4_bypass_1_own_consumption_read_signed_as_an_allowed_critical_srv_is_refused(keys: Any) -> None:
    """The reported bypass: a signed ECS17b (4.1.1) sent as the Signed Pre-Command of 6.11."""
    a = Attack(keys)
    read = bytes.fromhex("D92000000100010100030100010800FF020100")  # a DLMS get of the import register
    outs = a.dsp.submit(SUPPLIER, a.req("6.11", 5, signed=a.sign(_own_frame(ECS17B_READ_IMPORT, read))), NOW)
    assert _answer(outs).code == "E51" and not _sends(outs)


def test_rm4_bypass_1b_even_with_a_real_precommand_counter_the_use_case_must_be_the_issued_one(keys: Any) -> None:
    a = Attack(keys)
    issued, _ = a.precommand("6.11")
    assert issued.message_code == ECS70_SET_CLOCK
    read = bytes.fromhex("D92000000100010100030100010800FF020100")
    forged = issued.with_(message_code=ECS17B_READ_IMPORT, payload=read)
    outs = a.dsp.submit(SUPPLIER, a.req("6.11", 5, signed=a.sign(forged)), NOW)
    assert _answer(outs).code == "E51" and not _sends(outs)


def test_cv5_altered_payload_is_refused(keys: Any) -> None:
    a = Attack(keys)
    issued, _ = a.precommand("6.11")
    forged = issued.with_(payload=issued.payload[:-1] + bytes([issued.payload[-1] ^ 1]))
    outs = a.dsp.submit(SUPPLIER, a.req("6.11", 5, signed=a.sign(forged)), NOW)
    assert _answer(outs).code == "E51" and "differs" in _answer(outs).message and not _sends(outs)


def test_cv5_the_issued_precommand_signed_by_its_user_goes_out_once(keys: Any) -> None:
    a = Attack(keys)
    issued, _ = a.precommand("6.11")
    signed = a.sign(issued)
    first = a.dsp.submit(SUPPLIER, a.req("6.11", 5, signed=signed), NOW)
    assert _answer(first).code == "I99" and len(_sends(first)) == 1 and _sends(first)[0].signed_command == signed
    again = a.dsp.submit(SUPPLIER, a.req("6.11", 5, signed=signed), NOW + 1)  # replayed
    assert _answer(again).code == "E51" and "already" in _answer(again).message and not _sends(again)


def test_cv5_signed_by_someone_else_or_for_another_srv_or_expired_is_refused(keys: Any) -> None:
    a = Attack(keys)
    issued, _ = a.precommand("6.11")
    by_other = a.dsp.submit(SUPPLIER, a.req("6.11", 5, signed=a.sign(issued, signer=SECOND_SUPPLIER)), NOW)
    assert _answer(by_other).code == "E51" and "signature" in _answer(by_other).message
    claimed = a.dsp.submit(SUPPLIER, a.req("1.6", 5, signed=a.sign(issued)), NOW)
    assert _answer(claimed).code == "E51" and "6.11" in _answer(claimed).message
    late = a.dsp.submit(SUPPLIER, a.req("6.11", 5, signed=a.sign(issued)), NOW + 2 * 86400)
    assert _answer(late).code == "E51" and "expired" in _answer(late).message
    for outs in (by_other, claimed, late):
        assert not _sends(outs)


def test_cv5_another_users_precommand_is_refused(keys: Any) -> None:
    a = Attack(keys)
    issued, _ = a.precommand("6.11")
    stolen = issued.with_(originator=bytes.fromhex(SECOND_SUPPLIER))
    outs = a.dsp.submit(SECOND_SUPPLIER, a.req("6.11", 5, user=SECOND_SUPPLIER,
                                               signed=a.sign(stolen, signer=SECOND_SUPPLIER)), NOW)
    assert _answer(outs).code in ("E4", "E51") and not _sends(outs)


def test_rm3_precommand_issued_before_the_flag_is_checked_again_when_it_comes_back_signed(keys: Any) -> None:
    a = Attack(keys, restricted=False)
    issued, _ = a.precommand("1.6", PREPAYMENT_BODY)
    assert issued.message_code == ECS03_TO_PREPAYMENT
    a.restrict()
    outs = a.dsp.submit(SUPPLIER, a.req("1.6", 5, signed=a.sign(issued)), NOW + 10)
    assert _answer(outs).code == "E72" and "prepayment" in _answer(outs).message and not _sends(outs)


@pytest.mark.parametrize("body", [PREPAYMENT_BODY, {"UpdatePaymentMode": PREPAYMENT_BODY},
                                  {"payment_mode": "prepayment"}])
def test_rm3_prepayment_refused_however_the_body_says_it(keys: Any, body: dict[str, Any]) -> None:
    a = Attack(keys)
    outs = a.dsp.submit(SUPPLIER, a.req("1.6", 4, body=body), NOW)
    assert _answer(outs).code == "E72" and "RM-3" in _answer(outs).message


# --- route 3: future-dated ---------------------------------------------------------------------
def test_rm4_bypass_2_future_dated_read_accepted_before_the_flag_is_not_sent_after_it(keys: Any) -> None:
    a = Attack(keys, restricted=False)
    outs = a.dsp.submit(SUPPLIER, a.req("4.1.1", 1, at=NOW + 3600), NOW)
    assert _answer(outs).code == "I99" and not _sends(outs)
    assert a.dsp.get_timer() == NOW + 3600
    a.restrict()
    released = a.dsp.handle_timer(NOW + 3600)
    assert _answer(released).code == "E72" and not _sends(released)
    assert a.dsp.get_timer() is None


def test_future_dated_allowed_command_is_sent_at_its_time(keys: Any) -> None:
    a = Attack(keys)
    outs = a.dsp.submit(SUPPLIER, a.req("11.2", 1, at=NOW + 60), NOW)
    assert _answer(outs).code == "I99" and not _sends(outs)
    assert a.dsp.handle_timer(NOW + 59) == []
    sent = a.dsp.handle_timer(NOW + 60)
    assert len(_sends(sent)) == 1 and _sends(sent)[0].future_dated


# --- route 4: DCC schedules (SRV 5.1) -----------------------------------------------------------
def _schedule(a: Attack, srv: str = "4.6.1") -> ServiceRequest:
    return a.req("5.1", 8, target="90B3D51F30000002", body={"CreateSchedule": {
        "ScheduleFrequency": "Daily", "ScheduleStartDate": "2026-01-01", "ScheduleExecutionStartTime": "01:00:00",
        "DSPScheduledServiceReferenceVariant": srv, "DeviceID": "00-DB-12-34-56-78-90-A0"}})


def test_rm4_route_schedule_created_while_restricted_is_refused(keys: Any) -> None:
    a = Attack(keys)
    outs = a.dsp.submit(SUPPLIER, _schedule(a), NOW)
    assert _answer(outs).code == "E72" and a.dsp.get_timer() is None


def test_rm4_route_schedule_runs_are_checked_each_time(keys: Any) -> None:
    a = Attack(keys, restricted=False)
    outs = a.dsp.submit(SUPPLIER, _schedule(a), NOW)
    assert _answer(outs).code == "I0"
    assert a.dsp.get_timer() == NOW + 3600  # 2026-01-01T01:00:00Z
    first = a.dsp.handle_timer(NOW + 3600)
    assert len(_sends(first)) == 1 and _sends(first)[0].srv == "4.6.1"
    run = _sends(first)[0].request_id
    assert a.dsp.on_response(run, True, "", NOW + 3601)  # the first run's reading reaches the user
    a.restrict()
    second = a.dsp.handle_timer(NOW + 3600 + 86400)
    assert _answer(second).code == "E72" and not _sends(second)


# --- route 5: re-sends ------------------------------------------------------------------------
def test_rm4_route_resend_after_the_flag_is_refused_and_a_late_answer_is_not_delivered(keys: Any) -> None:
    a = Attack(keys, restricted=False)
    a.dsp.response_timeout_s = 60.0  # time for two re-sends
    req = a.req("4.1.1", 1)
    outs = a.dsp.submit(SUPPLIER, req, NOW)
    assert len(_sends(outs)) == 1 and a.dsp.get_timer() == NOW + 20  # re-sent after 20 s unanswered
    again = a.dsp.handle_timer(NOW + 20)
    assert [(s.request_id, s.resend) for s in _sends(again)] == [(req.request_id, True)]
    a.restrict()
    refused = a.dsp.handle_timer(NOW + 40)
    assert _answer(refused).code == "E72" and not _sends(refused)
    assert a.dsp.get_timer() is None  # no deadline left: the request is answered
    assert a.dsp.on_response(req.request_id, True, "", NOW + 41, {"register": 1234}) == []
    assert a.dsp.repo.read_log("diagnostics")[-1]["request_id"] == req.request_id


# --- route 6: what comes up from the hub --------------------------------------------------------
def test_rm5_signed_billing_data_alert_from_a_restricted_meter_goes_to_diagnostics(keys: Any) -> None:
    a = Attack(keys)
    assert a.dsp.on_alert(E(ESME), 0x8F0A, True, "DF00", NOW) == []
    assert a.dsp.repo.read_log("sat") == []
    assert a.dsp.repo.read_log("diagnostics")[0]["alert_code"] == "0x8F0A"


def test_rm5_hub_reported_firmware_failure_is_about_the_meter(keys: Any) -> None:
    a = Attack(keys)
    outs = a.dsp.on_alert(E(HUB), 0x8F89, False, "DD00", NOW, subject=E(ESME))
    assert outs and a.dsp.repo.read_log("firmware")[0]["device"] == ESME


# --- identity: who may act at all ---------------------------------------------------------------
def test_route_impersonation_and_wrong_party_are_refused(keys: Any) -> None:
    a = Attack(keys, restricted=False)
    as_other = a.req("4.1.1", 1, user=SUPPLIER)
    assert _answer(a.dsp.submit(SECOND_SUPPLIER, as_other, NOW)).code == "E3"
    not_responsible = a.dsp.submit(SECOND_SUPPLIER, a.req("4.1.1", 1, user=SECOND_SUPPLIER), NOW)
    assert _answer(not_responsible).code == "E4"
    network_operator_clock = a.dsp.submit(NETWORK_OPERATOR, a.req("6.11", 4, user=NETWORK_OPERATOR, role="ED"), NOW)
    assert _answer(network_operator_clock).code == "E3"


# --- the core's timers: every deadline and re-send decided in the core, not in an adapter -------
def test_deadlines_are_the_cores_e21_after_25_s_and_e30_after_22_h_for_future_dated(keys: Any) -> None:
    a = Attack(keys, restricted=False)
    now_req = a.req("11.2", 1)
    a.dsp.submit(SUPPLIER, now_req, NOW)
    fd = a.req("11.2", 1, at=NOW + 100)
    a.dsp.submit(SUPPLIER, fd, NOW)
    outs: list[DspOutput] = []
    t = NOW
    while (nxt := a.dsp.get_timer()) is not None and nxt <= NOW + 23 * 3600:
        t = nxt
        outs += a.dsp.handle_timer(t)
    answers = {o.response.request_id: (o.response.code, o.time) for o in outs if isinstance(o, Answer)}
    assert answers == {now_req.request_id: ("E21", NOW + 25), fd.request_id: ("E30", NOW + 100 + 22 * 3600)}
    resends = [o.time for o in outs if isinstance(o, SendCommand) and o.resend and o.request_id == now_req.request_id]
    assert resends == [NOW + 20]


def test_a_gsme_has_an_hour_to_answer(keys: Any) -> None:
    a = Attack(keys, restricted=False)
    req = a.req("11.2", 1, target=GSME, role="GS")
    a.dsp.submit(SUPPLIER, req, NOW)
    outs: list[DspOutput] = []
    while (nxt := a.dsp.get_timer()) is not None:
        outs += a.dsp.handle_timer(nxt)
    assert [(o.response.code, o.time) for o in outs if isinstance(o, Answer)] == [("E21", NOW + 3600)]


def test_timers_survive_a_restart_of_the_core(keys: Any, tmp_path: Any) -> None:
    from emulator.dsp.store import SqliteRepository

    repo = SqliteRepository(tmp_path / "dsp.sqlite")
    a = Attack.__new__(Attack)
    Attack.__init__(a, keys, restricted=False)
    first = Dsp(repo, RestrictedPolicy(), USERS)
    for d in a.dsp.repo.devices():
        first.add_device(d)
    for p in a.dsp.repo.all_premises():
        first.add_premises(p)
    req = a.req("11.2", 1, at=NOW + 600)
    assert _answer(first.submit(SUPPLIER, req, NOW)).code == "I99"
    repo.close()
    again = Dsp(SqliteRepository(tmp_path / "dsp.sqlite"), RestrictedPolicy(), USERS)
    assert again.get_timer() == NOW + 600
    assert [s.request_id for s in _sends(again.handle_timer(NOW + 600))] == [req.request_id]


def test_cv5_under_the_cv4_request_id_is_taken_once_and_only_for_its_own_precommand(keys: Any) -> None:
    """DCC Boxed's client sends CV 5 with the RequestID (and counter) of its CV 4."""
    a = Attack(keys)
    cv4 = a.req("6.11", 4)
    pre = _answer(a.dsp.submit(SUPPLIER, cv4, NOW))
    signed = a.sign(frames.decode(bytes.fromhex(pre.body["precommand"])))
    same_id = ServiceRequest(cv4.request_id, "6.11", 5, {}, "IS", signed_command=signed)
    assert _answer(a.dsp.submit(SUPPLIER, same_id, NOW + 1)).code == "I99"
    assert _answer(a.dsp.submit(SUPPLIER, same_id, NOW + 2)).code == "E2"  # once: then it is a replay
    other = a.req("6.11", 4)
    a.dsp.submit(SUPPLIER, other, NOW + 3)
    # A CV 1 (or a CV 5 of another Pre-Command) cannot reuse a counter.
    reused = ServiceRequest(other.request_id, "11.2", 1, {}, "IS")
    assert _answer(a.dsp.submit(SUPPLIER, reused, NOW + 4)).code == "E2"
