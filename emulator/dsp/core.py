"""The DSP stub's rules, sans-IO: access control, Restricted mode, alerts, inventory.

Theory of operation. A Service Request passes checks in a fixed order, each refusal a
DUIS code and a message naming the field: the RequestID format (E1), the user's counter
(E2), the SRV and its command variant (E12), the user's role (E3), the device (E19), the
device type (E11), responsibility for the device (E4), the device status (E5), and last
Restricted (RM-4: E72 by default) - all before anything reaches the WAN. An accepted
device SRV is acknowledged (I99) and becomes a :class:`SendCommand`; the device's
response later completes it (I0). Alerts from a Restricted device are split between the
SAT log (delivered) and the diagnostics log (discarded) by policy (RM-5). Every change
of the Restricted flag, every rejection and every discarded alert is written to the
repository before the call returns (RM-12). Time is always the ``now`` argument.

Restricted holds on every route by which a user can make a device act (docs/restricted.md):
the rules are applied to the use case of the GBCS that will go out (its message code), not
to the SRV a user names; a command variant 5 must be the very Pre-Command the DSP issued for
that request; and a command is checked again whenever it is sent: a future-dated request at
its execution time, a DCC schedule at each run, a re-send (:meth:`Dsp.gate`). The core owns
its timers: :meth:`Dsp.next_timer` says when it next needs :meth:`Dsp.handle_timer`.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import replace
from typing import Any

from emulator.dsp.due import Due, DueIndex
from emulator.dsp.events import AlertForUser, Answer, CspNotification, DspOutput, SendCommand, SendFirmware
from emulator.dsp.install_codes import InstallCodeExchange
from emulator.dsp.model import (
    CODES,
    CodeExchange,
    Device,
    FirmwareDistribution,
    Premises,
    RequestRecord,
    Response,
    Schedule,
    ServiceRequest,
    Status,
    User,
)
from emulator.dsp.policy import RestrictedPolicy
from emulator.dsp.precommands import Issued, PreCommandLedger
from emulator.dsp.repository import Repository
from emulator.gbcs import catalogue, commands, frames, security
from emulator.gbcs.errors import GbcsError
from emulator.gbcs.keys import KeyStore
from emulator.gbcs.usecases import select_use_case, srvs_for_message_code, use_case_for
from emulator.zigbee.eui64 import Eui64
from emulator.zigbee.jsonvalue import Json, JsonObject

_REQUEST_ID = re.compile(r"^([0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}):([0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}):(\d{1,20})$")
DCC_EUI = "90B3D51F30000002"
# SRVs a device may receive before it is commissioned (installing and commissioning it).
_PRE_COMMISSION = frozenset({"8.1.1", "8.7.1", "8.7.2", "8.11", "6.15.1", "6.21", "6.23", "11.2", "8.5", "6.11"})
_COMMISSION_SRV = "8.1.1"
_SCHEDULE_SRVS = ("5.1", "5.2", "5.3")
# The use cases that switch a meter to prepayment (ECS03, GCS03): never on a Restricted meter (RM-3).
_TO_PREPAYMENT = frozenset({0x001B, 0x006D})
_PAYMENT_MODE_OF = {0x001A: "credit", 0x001B: "prepayment", 0x006C: "credit", 0x006D: "prepayment"}
_ROLE_FOR_FUEL = {"ESME": ("IS", "ES"), "GSME": ("GS",), "GPF": ("GS",)}
RESPONSE_TIMEOUT_S = 25.0  # DCC target for an on-demand round trip (gbcs.md)
FUTURE_DATED_TIMEOUT_S = 22 * 3600.0  # DCC target for a future-dated request
COMMAND_RESEND_S = 20.0


class Dsp:
    def __init__(self, repo: Repository, policy: RestrictedPolicy | None = None,
                 users: dict[str, User] | None = None, keys: KeyStore | None = None) -> None:
        self.repo = repo
        self.policy = policy or RestrictedPolicy()
        self.users: dict[str, User] = dict(users or {})
        #: Users' public DS keys, to check a command variant 5's signature before it is accepted.
        self.keys = keys
        self.precommands = PreCommandLedger(repo, keys)
        self.install_codes = InstallCodeExchange(repo, self.audit)
        self._schedule_counter = security.CounterSource()
        self.due = DueIndex(repo)
        self.response_timeout_s = RESPONSE_TIMEOUT_S
        #: How long a command may wait for its device: a GSME answers when it next wakes.
        self.device_timeouts: dict[str, float] = {"GSME": 3600.0}
        #: An unanswered command is sent again this often (WN-1): a broker that died after
        #: acknowledging it may never have delivered it; the hub answers a repeat from its cache.
        self.resend_s = COMMAND_RESEND_S

    # --- helpers --------------------------------------------------------------------------
    def _refuse(self, user: str, req_id: str, code: str, message: str, now: float) -> list[DspOutput]:
        self.repo.log("audit", {"time": now, "who": user, "what": "rejected", "request_id": req_id, "code": code,
                                "detail": message})
        return [Answer(now, user, Response(req_id, code, message))]

    def audit(self, now: float, who: str, what: str, **detail: Json | Eui64) -> None:
        doc: JsonObject = {k: str(v) if isinstance(v, Eui64) else v for k, v in detail.items()}  # logs are JSON
        self.repo.log("audit", {"time": now, "who": who, "what": what, **doc})

    # --- inventory ------------------------------------------------------------------------
    def add_premises(self, premises: Premises) -> None:
        self.repo.put_premises(premises)

    def add_device(self, device: Device) -> None:
        self.repo.put_device(device)

    def set_status(self, eui: Eui64, status: Status, now: float, who: str = "DCC") -> None:
        dev = self.repo.device(eui)
        if dev is None:
            return
        dev.status = status
        self.repo.put_device(dev)
        self.audit(now, who, "status", device=eui, status=status.value)

    # --- service requests -----------------------------------------------------------------
    def submit(self, user_eui: str, req: ServiceRequest, now: float) -> list[DspOutput]:
        """Run access control and Restricted checks; accept, or refuse before the WAN."""
        user = self.users.get(user_eui)
        rid = req.request_id
        m = _REQUEST_ID.match(rid)
        if m is None:
            return self._refuse(user_eui, rid, "E1", "RequestID must be originator:target:counter with EUIs as "
                                                     "8 hex pairs joined by '-' (e.g. 90-B3-D5-1F-30-01-00-00)", now)
        if user is None or req.originator != user_eui:
            return self._refuse(user_eui, rid, "E3", f"RequestID originator {req.originator} is not a known user "
                                                     f"sending as itself", now)
        counter = req.counter  # parsed from the RequestID once
        last = self.repo.last_counter(user_eui)
        if last is not None and counter <= last and not self._completes_transform(user_eui, req):
            return self._refuse(user_eui, rid, "E2", f"RequestID counter {counter} is not above {last}",
                                now)
        self.repo.put_last_counter(user_eui, counter)
        srv = catalogue.srvs().get(req.srv)
        if srv is None:
            return self._refuse(user_eui, rid, "E12", f"ServiceReferenceVariant {req.srv!r} is not a known SRV", now)
        if srv.command_variants and req.command_variant not in srv.command_variants and not (
                srv.critical and req.command_variant in (4, 5)):
            return self._refuse(user_eui, rid, "E12", f"CommandVariant {req.command_variant} is not valid for SRV "
                                                      f"{req.srv} (allowed {list(srv.command_variants)})", now)
        if req.command_variant == 5 and not srv.critical:
            return self._refuse(user_eui, rid, "E12", f"CommandVariant 5 carries a signed Pre-Command: SRV {req.srv} "
                                                      f"is not critical", now)
        role = req.role or next(iter(sorted(user.roles)), "")
        if role not in user.roles or role not in srv.roles:
            return self._refuse(user_eui, rid, "E3", f"role {role!r} may not send SRV {req.srv} "
                                                     f"(roles {','.join(srv.roles)})", now)
        if srv.non_device:
            return self._non_device(user, role, req, now)
        device = self.repo.device_named(req.target)
        if device is None:
            return self._refuse(user_eui, rid, "E19", f"target {req.target} is not in the inventory", now)
        if use_case_for(req.srv, device.device_type) is None:
            return self._refuse(user_eui, rid, "E11", f"SRV {req.srv} is not valid for a {device.device_type}", now)
        if device.device_type in _ROLE_FOR_FUEL and role in ("IS", "ES", "GS") and \
                device.responsible_supplier not in (None, user_eui):
            return self._refuse(user_eui, rid, "E4", f"{user_eui} is not the responsible supplier of {device.eui}",
                                now)
        if device.status in (Status.DECOMMISSIONED, Status.WITHDRAWN, Status.SUSPENDED) or (
                device.status != Status.COMMISSIONED and req.srv not in _PRE_COMMISSION):
            return self._refuse(user_eui, rid, "E5", f"device status {device.status.value} is incompatible with "
                                                     f"SRV {req.srv}", now)
        issued: Issued | None = None
        if req.command_variant == 5:
            issued_or_refusal = self.precommands.match(user_eui, req.srv, device.eui, req.signed_command, now)
            if isinstance(issued_or_refusal, str):
                return self._refuse(user_eui, rid, self.policy.precommand_mismatch_code, issued_or_refusal, now)
            issued = issued_or_refusal
            message_code = issued.message_code
        else:
            message_code = commands.message_code_for(req.srv, device.device_type, req.body) or 0
        refusal = self._restricted_refusal(device, message_code, req.srv)
        if refusal:
            return self._restricted_rejection(user_eui, rid, req.srv, device.eui, refusal, now)
        premises = self.repo.premises(device.premises)
        hub = premises.hub if premises else None
        rec = RequestRecord(rid, user_eui, req.srv, device.eui, hub, device.device_type, counter,
                            srv.restricted_class, message_code, device.restricted, dict(req.body), req.signed_command,
                            sent=now)
        if srv.critical and req.command_variant == 4:
            # CV 4: the DSP frames the Pre-Command for the user to sign and keeps it, to hold the
            # signed command that comes back (CV 5) to exactly these bytes; nothing goes to the WAN.
            return self._issue_precommand(user_eui, req, rec, now)
        if issued is not None:
            self.precommands.use(issued)
        if req.execution_time is not None and req.execution_time > now:
            # A future-dated request (DUIS) waits in the DSP until its execution time, and is
            # checked again then; its answer is due within FUTURE_DATED_TIMEOUT_S of that time, else E30.
            rec.state, rec.execute_at = "waiting", req.execution_time
            self.repo.put_request(rec)
            self.due.set(Due.SEND, rid, req.execution_time)
            return [Answer(now, user_eui, Response(rid, "I99", CODES["I99"]))]
        return [Answer(now, user_eui, Response(rid, "I99", CODES["I99"])), self._send(rec, now)]

    def _completes_transform(self, user: str, req: ServiceRequest) -> bool:
        """A CV 5 sent under the RequestID of its CV 4 (as DCC Boxed's client does): the counter is not
        new, and need not be, for the one Pre-Command issued under that RequestID and not yet used."""
        if req.command_variant != 5:
            return False
        target = Eui64.from_hex_or_none(req.target)
        issued = self.precommands.issued_for(req.request_id, user, target, req.counter) if target else None
        return issued is not None

    def _restricted_rejection(self, user: str, rid: str, srv: str, device: Eui64, refusal: str,
                              now: float) -> list[DspOutput]:
        self.repo.log("audit", {"time": now, "who": user, "what": "restricted-rejection", "request_id": rid,
                                "srv": srv, "device": str(device), "detail": refusal})
        return [Answer(now, user, Response(rid, self.policy.rejection_code, refusal))]

    def _restricted_refusal(self, device: Device, message_code: int, srv: str) -> str:
        """Why a command with ``message_code`` may not reach ``device`` now (RM-3, RM-4), or '' if it may.

        The use case inside the frame decides, whatever SRV the user named for it."""
        if not device.restricted:
            return ""
        info = catalogue.message_codes().get(message_code)
        name = info.use_case_id if info else f"message code 0x{message_code:04X}"
        if message_code in _TO_PREPAYMENT:
            return f"device {device.eui} is Restricted: it may not be switched to prepayment ({name}, RM-3)"
        if not self.policy.frame_allowed(message_code):
            srvs = ", ".join(sorted(srvs_for_message_code(message_code))) or "none"
            return (f"device {device.eui} is Restricted: use case {name} (SRV {srvs}) is not on the allow-list "
                    f"(RM-4; requested as SRV {srv})")
        if not self.policy.srv_allowed(srv):
            cls = catalogue.srvs()[srv].restricted_class
            return f"device {device.eui} is Restricted: SRV {srv} ({cls}) is not on the allow-list (RM-4)"
        return ""

    # --- command variants 4 and 5: the Pre-Command the DSP issued, signed by the user -----------
    def _issue_precommand(self, user: str, req: ServiceRequest, rec: RequestRecord, now: float) -> list[DspOutput]:
        rid = req.request_id
        try:
            built = commands.build(req.srv, rec.device_type, bytes.fromhex(user), bytes(rec.target),
                                   req.counter, req.body)
        except KeyError as e:
            return self._refuse(user, rid, "E1", f"SRV {req.srv}: the request body lacks {e}", now)
        except (GbcsError, ValueError) as e:
            return self._refuse(user, rid, "E1", f"cannot frame a Pre-Command for SRV {req.srv}: {e}", now)
        pre = built.message.with_(precommand=True, mac_protected=False)
        hex_pre = frames.encode(pre).hex().upper()
        rec.state, rec.message_code = "precommand", pre.message_code
        self.repo.put_request(rec)
        self.precommands.issue(Issued(rid, user, req.srv, rec.target, req.counter, pre.message_code, hex_pre, now,
                                      now + self.policy.precommand_lifetime_s))
        self.audit(now, user, "precommand-issued", request_id=rid, srv=req.srv, device=rec.target,
                   use_case=built.use_case)
        return [Answer(now, user, Response(rid, "I0", "Pre-Command to sign", {"precommand": hex_pre}))]

    def _recheck(self, rec: RequestRecord) -> str:
        device = self.repo.device(rec.target)
        if device is None:
            return f"device {rec.target} is no longer in the inventory"
        if device.status in (Status.DECOMMISSIONED, Status.WITHDRAWN, Status.SUSPENDED):
            return f"device {device.eui} is {device.status.value}"
        return self._restricted_refusal(device, rec.message_code, rec.srv)

    def _refuse_on_send(self, rec: RequestRecord, refusal: str, when: str, now: float) -> list[DspOutput]:
        rec.state, rec.done = "refused", now
        self.repo.put_request(rec)
        self.due.clear(rec.request_id)
        return self._restricted_rejection(rec.user, rec.request_id, rec.srv, rec.target, f"{refusal}; {when}", now)

    # --- timers: future-dated sends, deadlines, re-sends, DCC schedules ---------------------
    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` must next run (None: nothing waits)."""
        return self.due.earliest()

    def handle_timer(self, now: float) -> list[DspOutput]:
        """Do what is due: each send and re-send checked again now, each deadline answered."""
        outs: list[DspOutput] = []
        for entry in self.due.pop_due(now):
            if entry.kind is Due.SCHEDULE:
                sched = self.repo.schedule(entry.key)
                if sched is not None and sched.active:
                    outs += self._run_schedule(sched, now)
                continue
            rec = self.repo.request(entry.key)
            if rec is None:
                continue
            if entry.kind is Due.SEND and rec.state == "waiting":
                refusal = self._recheck(rec)
                if refusal:
                    outs += self._refuse_on_send(rec, refusal, "the future-dated command was not sent", now)
                else:
                    outs.append(self._send(rec, now, future_dated=True))
            elif entry.kind is Due.RESEND and rec.state == "sent":
                refusal = self._recheck(rec)
                if refusal:
                    outs += self._refuse_on_send(rec, refusal, "the command was not sent again", now)
                else:
                    self.due.set(Due.RESEND, entry.key, now + self.resend_s)
                    outs.append(self._command(rec, now, resend=True))
            elif entry.kind is Due.DEADLINE and rec.state == "sent":
                outs += self._time_out(rec, now)
        return outs

    def _send(self, rec: RequestRecord, now: float, future_dated: bool = False) -> SendCommand:
        """Send the request's command now; its answer is due by a deadline, and it is re-sent until then."""
        wait = FUTURE_DATED_TIMEOUT_S if future_dated else self.device_timeouts.get(rec.device_type,
                                                                                     self.response_timeout_s)
        rec.state, rec.sent, rec.deadline, rec.future_dated = "sent", now, now + wait, future_dated
        self.repo.put_request(rec)
        self.due.set(Due.DEADLINE, rec.request_id, now + wait)
        self.due.set(Due.RESEND, rec.request_id, now + self.resend_s)
        return self._command(rec, now)

    @staticmethod
    def _command(rec: RequestRecord, now: float, resend: bool = False) -> SendCommand:
        return SendCommand(now, rec.request_id, rec.hub, rec.target, rec.device_type, rec.srv, rec.counter, rec.user,
                           dict(rec.body), rec.signed_command, future_dated=rec.future_dated, resend=resend)

    def _log_response(self, rec: RequestRecord, ok: bool, now: float) -> None:
        self.repo.log("responses", {"time": now, "request_id": rec.request_id, "srv": rec.srv, "ok": ok,
                                    "class": rec.srv_class, "device": str(rec.target), "restricted": rec.restricted})

    def _time_out(self, rec: RequestRecord, now: float, code: str = "", reason: str = "") -> list[DspOutput]:
        self.due.clear(rec.request_id)
        future = rec.future_dated
        code = code or ("E30" if future else "E21")
        waited = (rec.deadline or now) - rec.sent
        reason = reason or (f"future-dated request timed out: no response from {rec.target} after its execution"
                            if future else f"no response from {rec.target} within {waited:.0f} s")
        rec.state, rec.done = "timeout", now
        self.repo.put_request(rec)
        if not future:
            self._log_response(rec, False, now)
        return [Answer(now, rec.user, Response(rec.request_id, code, reason))]

    def on_unreachable(self, request_id: str, reason: str, now: float) -> list[DspOutput]:
        """The hub says it cannot reach the device (it left the HAN, or the command cannot fit): E20."""
        rec = self.repo.request(request_id)
        if rec is None or rec.state != "sent":
            return []
        return self._time_out(rec, now, "E20", f"cannot reach {rec.target}: {reason}")

    def on_device_joined(self, eui: Eui64, now: float) -> None:
        """A whitelisted device joined its hub's HAN: Installed Not Commissioned."""
        dev = self.repo.device(eui)
        if dev is not None and dev.status in (Status.PENDING, Status.WHITELISTED):
            self.set_status(eui, Status.INSTALLED_NOT_COMMISSIONED, now, "CHF")

    # --- DCC schedules (SRV 5.1 to 5.3): the DSP sends a read on the user's behalf, each run checked
    def _schedule_request(self, user: User, role: str, req: ServiceRequest, now: float) -> list[DspOutput]:
        rid, body = req.request_id, _unwrap(req.body, "CreateSchedule", "DeleteSchedule", "ReadSchedule")
        if req.srv == "5.2":
            mine = {s.schedule_id: s.view() for s in self.repo.schedules() if s.user == user.eui and s.active}
            return [Answer(now, user.eui, Response(rid, "I0", f"{len(mine)} schedule(s)", {"schedules": mine}))]
        if req.srv == "5.3":
            sid = str(body.get("ScheduleID", ""))
            sched = self.repo.schedule(sid)
            if sched is None or sched.user != user.eui:
                return self._refuse(user.eui, rid, "E19", f"ScheduleID {sid!r} is not a schedule of {user.eui}", now)
            self.repo.put_schedule(replace(sched, active=False, deleted=now))
            self.due.clear(sid, Due.SCHEDULE)
            self.audit(now, user.eui, "schedule-deleted", schedule=sid)
            return [Answer(now, user.eui, Response(rid, "I0", f"schedule {sid} deleted"))]
        srv = str(body.get("DSPScheduledServiceReferenceVariant", ""))
        info = catalogue.srvs().get(srv)
        if info is None or not info.dcc_scheduled:
            return self._refuse(user.eui, rid, "E1", f"DSPScheduledServiceReferenceVariant {srv!r} is not an SRV the "
                                                     f"DSP can schedule", now)
        if role not in info.roles:
            return self._refuse(user.eui, rid, "E3", f"role {role!r} may not send SRV {srv}", now)
        device_id = str(body.get("DeviceID", ""))
        device = self.repo.device_named(device_id)
        if device is None:
            return self._refuse(user.eui, rid, "E19", f"DeviceID {device_id.replace('-', '').upper()!r} is not in "
                                                      f"the inventory", now)
        target = device.eui
        uc = select_use_case(srv, device.device_type)
        if uc is None:
            return self._refuse(user.eui, rid, "E11", f"SRV {srv} is not valid for a {device.device_type}", now)
        if device.responsible_supplier not in (None, user.eui) and role in ("IS", "ES", "GS"):
            return self._refuse(user.eui, rid, "E4", f"{user.eui} is not the responsible supplier of {target}", now)
        try:
            first = schedule_start(str(body.get("ScheduleStartDate", "")), str(body.get("ScheduleExecutionStartTime",
                                                                                       "00:00:00")))
            period = _FREQUENCY_S[str(body.get("ScheduleFrequency", "Daily"))]
        except (ValueError, KeyError) as e:
            return self._refuse(user.eui, rid, "E1", f"schedule dates or frequency are not valid: {e}", now)
        refusal = self._restricted_refusal(device, uc.message_code, srv)
        if refusal:
            return self._restricted_rejection(user.eui, rid, req.srv, target, refusal, now)
        while first < now:
            first += period
        premises = self.repo.premises(device.premises)
        self.repo.put_schedule(Schedule(rid, user.eui, srv, target, device.device_type,
                                        premises.hub if premises else None, first, period, uc.message_code,
                                        info.restricted_class))
        self.due.set(Due.SCHEDULE, rid, first)
        self.audit(now, user.eui, "schedule-created", schedule=rid, srv=srv, device=target)
        return [Answer(now, user.eui, Response(rid, "I0", f"schedule {rid} created; first run at {first:.0f}",
                                               {"ScheduleID": rid}))]

    def _run_schedule(self, sched: Schedule, now: float) -> list[DspOutput]:
        sid, runs, following = sched.schedule_id, sched.runs + 1, sched.next + sched.period
        self.repo.put_schedule(replace(sched, runs=runs, next=following))
        self.due.set(Due.SCHEDULE, sid, following)
        rid = f"{sid}#{runs}"
        device = self.repo.device(sched.target)
        rec = RequestRecord(rid, sched.user, sched.srv, sched.target, sched.hub, sched.device_type,
                            self._schedule_counter.next(now), sched.srv_class, sched.message_code,
                            bool(device and device.restricted), schedule=sid, sent=now)
        refusal = self._recheck(rec)
        if refusal:
            rec.state, rec.done = "refused", now
            self.repo.put_request(rec)
            return self._restricted_rejection(rec.user, rid, rec.srv, rec.target,
                                              f"{refusal}; scheduled run {runs} of {sid} not sent", now)
        return [self._send(rec, now)]

    def _non_device(self, user: User, role: str, req: ServiceRequest, now: float) -> list[DspOutput]:
        if req.srv in _SCHEDULE_SRVS:
            return self._schedule_request(user, role, req, now)
        if req.srv == "8.2":
            return [Answer(now, user.eui, Response(req.request_id, "I0", "", {"inventory": self.read_inventory(
                req.body.get("premises"))}))]
        if req.srv == "11.1":
            targets: list[Eui64] = []
            for t in req.body.get("targets", []):
                dev = self.repo.device_named(str(t))
                if dev is None:
                    return self._refuse(user.eui, req.request_id, "E19", f"firmware target {str(t).upper()} is "
                                                                         f"unknown", now)
                targets.append(dev.eui)
            hubs = {self._hub_of(t) for t in targets}
            outs: list[DspOutput] = [Answer(now, user.eui, Response(req.request_id, "I99", CODES["I99"]))]
            for hub in sorted(h for h in hubs if h):
                self.repo.put_firmware_distribution(FirmwareDistribution(req.request_id, hub, user.eui, now))
                outs.append(SendFirmware(now, req.request_id, hub, str(req.body.get("image", "")),
                                         tuple(t for t in targets if self._hub_of(t) == hub)))
            return outs
        if req.srv in ("8.3", "8.14.1"):
            named = str(req.body.get("device", ""))
            dev = self.repo.device_named(named)
            if dev is None:
                shown = named.replace("-", "").upper()
                return self._refuse(user.eui, req.request_id, "E19", f"body field 'device' {shown!r} is unknown", now)
            eui = dev.eui
            if dev.responsible_supplier not in (None, user.eui) and dev.device_type != "CHF":
                return self._refuse(user.eui, req.request_id, "E4", f"{user.eui} is not responsible for {eui}", now)
            status = Status.DECOMMISSIONED if req.srv == "8.3" else Status.COMMISSIONED
            self.set_status(eui, status, now, user.eui)
            return [Answer(now, user.eui, Response(req.request_id, "I0", f"{eui} is {status.value}"))]
        return [Answer(now, user.eui, Response(req.request_id, "I0", f"non-device SRV {req.srv} accepted"))]

    def _hub_of(self, eui: Eui64) -> Eui64 | None:
        dev = self.repo.device(eui)
        prem = self.repo.premises(dev.premises) if dev else None
        return prem.hub if prem else None

    def read_inventory(self, premises: str | None = None) -> list[JsonObject]:
        """SRV 8.2 and the SSI inventory view: the Restricted flag included (RM-6)."""
        return [d.public_view() for d in sorted(self.repo.devices(), key=lambda d: d.eui)
                if premises is None or d.premises == premises]

    # --- device responses and alerts --------------------------------------------------------
    def on_response(self, request_id: str, ok: bool, detail: str, now: float,
                    body: dict[str, Any] | None = None) -> list[DspOutput]:
        rec = self.repo.request(request_id)
        if rec is not None and rec.state == "refused":
            # Sent once, then refused when it was due again (the device became Restricted): the
            # user was told so, and what the device answered to the first send goes to diagnostics.
            self.repo.log("diagnostics", {"time": now, "request_id": request_id, "device": str(rec.target),
                                          "srv": rec.srv,
                                          "reason": "answer to a request refused on re-send (RM-4): not delivered"})
            return []
        if rec is None or rec.state != "sent":
            return []  # unknown or already answered: a duplicate never reaches the user twice
        self.due.clear(request_id)
        rec.state, rec.ok, rec.done = "done", ok, now
        self.repo.put_request(rec)
        if ok and rec.srv == _COMMISSION_SRV:
            self._commissioned(rec.target, rec.user, now)
        self._log_response(rec, ok, now)
        mode = _PAYMENT_MODE_OF.get(rec.message_code)
        device = self.repo.device(rec.target)
        if ok and mode is not None and device is not None and device.payment_mode != mode:
            device.payment_mode = mode  # the inventory follows SRV 1.6 (RM-3 reads it)
            self.repo.put_device(device)
            self.audit(now, rec.user, "payment-mode", device=device.eui, payment_mode=mode)
        # The device answered: I0 carries its response, whatever result it holds (DUIS).
        return [Answer(now, rec.user, Response(request_id, "I0", detail, body or {}))]

    def _commissioned(self, eui: Eui64, who: str, now: float) -> None:
        """8.1.1 succeeded: the device is Commissioned, and a GSME's GPF in the hub with it."""
        self.set_status(eui, Status.COMMISSIONED, now, who)
        for gpf in self.repo.devices():
            if gpf.device_type == "GPF" and gpf.paired_gsme == eui:
                self.set_status(gpf.eui, Status.COMMISSIONED, now, who)

    def on_alert(self, device_eui: Eui64, alert_code: int, critical: bool, gbcs_hex: str,
                 now: float, subject: Eui64 | None = None) -> list[DspOutput]:
        """RM-5: deliver to the user and the SAT log, or discard to the diagnostics log.

        ``subject`` is the device an alert is about when another raised it (the CHF's firmware
        transfer alert 0x8F89 names the meter): the Restricted flag, the firmware log (RM-11) and
        the user are the subject's. Only the configured alert list decides; a signature does not."""
        about = subject or device_eui
        device = self.repo.device(about)
        record: JsonObject = {"time": now, "device": str(about), "raised_by": str(device_eui),
                              "alert_code": f"0x{alert_code:04X}", "critical": critical, "gbcs": gbcs_hex}
        if device is not None and device.restricted and not self.policy.alert_delivered(alert_code):
            self.repo.log("diagnostics", {**record, "reason": "device is Restricted and the alert is not on the "
                                                              "delivered list (RM-5)"})
            self.audit(now, "DSP", "alert-discarded", device=about, alert_code=f"0x{alert_code:04X}")
            return []
        self.repo.log("sat", record)
        if alert_code in (0x8F89, 0x8F1C) and device is not None:
            self.firmware_result(about, False, now, f"alert 0x{alert_code:04X} from {device_eui}")
        user = device.responsible_supplier if device else None
        return [AlertForUser(now, user or "", about, alert_code, gbcs_hex)] if user else []

    def note_firmware(self, eui: Eui64, version: str | None, activation_ok: bool | None, now: float) -> None:
        """A response reported a device's firmware version (11.2) or an activation's outcome (CS06):
        the inventory follows, and the firmware log feeds RM-11."""
        dev = self.repo.device(eui)
        if dev is not None and version is not None and dev.firmware_version != version:
            dev.firmware_version = version
            self.repo.put_device(dev)
        if activation_ok is not None:
            self.firmware_result(eui, activation_ok, now, "CS06 activation")

    def firmware_result(self, device_eui: Eui64, ok: bool, now: float, detail: str = "") -> None:
        self.repo.log("firmware", {"time": now, "device": str(device_eui), "ok": ok, "detail": detail})

    # --- Restricted flag (RM-1, RM-2, RM-3, RM-7) --------------------------------------------
    def set_restricted(self, user_eui: str, device_eui: Eui64, restricted: bool, now: float) -> list[DspOutput]:
        rid = f"restricted:{device_eui}:{now}"
        device = self.repo.device(device_eui)
        if device is None:
            return self._refuse(user_eui, rid, "E19", f"device {device_eui} is not in the inventory", now)
        if device.device_type not in ("ESME", "GSME"):
            return self._refuse(user_eui, rid, "E11", f"Restricted applies to an ESME or a GSME, not a "
                                                      f"{device.device_type} (RM-1)", now)
        if device.responsible_supplier != user_eui:
            return self._refuse(user_eui, rid, "E4", f"only the responsible supplier ({device.responsible_supplier}) "
                                                     f"may set or clear Restricted on {device_eui} (RM-2)", now)
        premises = self.repo.premises(device.premises)
        if restricted:
            hub = self.repo.device(premises.hub) if premises else None
            if device.status != Status.COMMISSIONED:
                return self._refuse(user_eui, rid, "E5", f"RM-3: device {device_eui} is {device.status.value}, "
                                                         f"not Commissioned", now)
            if hub is None or hub.status != Status.COMMISSIONED:
                return self._refuse(user_eui, rid, "E5", f"RM-3: the hub of {device_eui} is not commissioned", now)
            if device.payment_mode != "credit":
                return self._refuse(user_eui, rid, "E5", f"RM-3: {device_eui} is in {device.payment_mode} mode; "
                                                         f"only a credit-mode meter may be Restricted", now)
            if premises is not None and premises.communications_mandatory:
                return self._refuse(user_eui, rid, "E5", f"RM-3: premises {premises.id} must keep communications "
                                                         f"(Economy 7/load control, RTS or network managed)", now)
        what = "set" if restricted else "cleared"
        changed = self._with_gpf(device)
        outs: list[DspOutput] = [Answer(now, user_eui, Response(
            rid, "I0", f"Restricted {what} on {', '.join(str(d.eui) for d in changed)}"))]
        return outs + self._change_flag(changed, restricted, user_eui, now)

    def _with_gpf(self, device: Device) -> list[Device]:
        """RM-1: a GSME's Restricted flag applies to its GPF."""
        if device.device_type != "GSME":
            return [device]
        return [device] + [d for d in self.repo.devices() if d.device_type == "GPF" and d.paired_gsme == device.eui]

    def _change_flag(self, devices: list[Device], restricted: bool, who: str, now: float,
                     reason: str = "") -> list[DspOutput]:
        """Set or clear the flag; the flag, its audit record and the CSP notification are one
        transaction (RM-12), so a crash leaves all three or none."""
        outs: list[DspOutput] = []
        with self.repo.transaction():
            for d in devices:
                d.restricted = restricted
                self.repo.put_device(d)
                detail = {"reason": reason} if reason else {}
                self.audit(now, who, "restricted-set" if restricted else "restricted-cleared", device=d.eui, **detail)
                premises = self.repo.premises(d.premises)
                if self.policy.notify_csp and premises is not None:
                    note = CspNotification(now, premises.region.value, premises.hub, d.eui, restricted)
                    self.repo.log("csp", {"time": now, "region": note.region, "hub": str(note.hub),
                                          "device": str(d.eui), "restricted": restricted})
                    outs.append(note)
        return outs

    # --- changes of supplier and tenancy (RM-9, IC-3) ------------------------------------------
    def change_of_supplier(self, device_eui: Eui64, gaining: str, now: float) -> None:
        device = self.repo.device(device_eui)
        if device is None:
            return
        old = device.responsible_supplier
        if device.device_type in ("GSME", "GPF"):
            device.gas_supplier = gaining
        else:
            device.import_supplier = gaining
        device.losing_supplier = old  # IC-3: the gaining supplier asks this one for the install code
        self.repo.put_device(device)  # RM-9: Restricted is kept as it is
        self.audit(now, "DCC", "change-of-supplier", device=device_eui, losing=old, gaining=gaining,
                   restricted=device.restricted)

    def change_of_tenancy(self, device_eui: Eui64, now: float) -> list[DspOutput]:
        """RM-9: clear the flag when the policy says so (with the GSME's GPF, and telling the CSP)."""
        device = self.repo.device(device_eui)
        if device is None:
            return []
        if device.restricted and self.policy.clear_on_change_of_tenancy:
            return self._change_flag(self._with_gpf(device), False, "DCC", now, reason="change of tenancy (RM-9)")
        self.audit(now, "DCC", "change-of-tenancy", device=device_eui, restricted=device.restricted)
        return []

    # --- install-code exchange between suppliers (MP121: IC-3, IC-4): emulator/dsp/install_codes.py
    def request_install_code(self, gaining: str, device_eui: Eui64, now: float) -> Response:
        return self.install_codes.request(gaining, device_eui, now)

    def answer_install_code(self, losing: str, exchange_id: str, now: float) -> Response:
        return self.install_codes.answer(losing, exchange_id, now)

    def overdue_install_code_requests(self, now: float) -> list[CodeExchange]:
        return self.install_codes.overdue(now)


def _unwrap(body: dict[str, Any], *wrappers: str) -> dict[str, Any]:
    """A DUIS body whether it comes as its elements or wrapped in its SRV element."""
    for name in wrappers:
        inner = body.get(name)
        if isinstance(inner, dict):
            return inner
    return body


_FREQUENCY_S = {"Daily": 86400.0, "Weekly": 7 * 86400.0}


def schedule_start(date: str, time: str) -> float:
    """A DUIS ScheduleStartDate (xs:date) and ScheduleExecutionStartTime (xs:time) as a UTC timestamp."""
    day = datetime.date.fromisoformat(date[:10])
    hour, minute, second = (int(x) for x in (time[:8] if time else "00:00:00").split(":"))
    return datetime.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=datetime.UTC).timestamp()
