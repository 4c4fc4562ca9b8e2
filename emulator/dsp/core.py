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
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from emulator.dsp.events import AlertForUser, Answer, CspNotification, DspOutput, SendCommand, SendFirmware
from emulator.dsp.model import CODES, Device, Premises, Response, ServiceRequest, Status, User
from emulator.dsp.policy import RestrictedPolicy
from emulator.dsp.repository import Repository
from emulator.gbcs import catalogue
from emulator.gbcs.usecases import use_case_for

_REQUEST_ID = re.compile(r"^([0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}):([0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}):(\d{1,20})$")
DCC_EUI = "90B3D51F30000002"
# SRVs a device may receive before it is commissioned (installing and commissioning it).
_PRE_COMMISSION = frozenset({"8.1.1", "8.7.1", "8.7.2", "8.11", "6.15.1", "6.21", "6.23", "11.2", "8.5", "6.11"})
_PAYMENT_MODE_SRV = "1.6"
_ROLE_FOR_FUEL = {"ESME": ("IS", "ES"), "GSME": ("GS",), "GPF": ("GS",)}
RESPONSE_TIMEOUT_S = 25.0  # DCC target for an on-demand round trip (gbcs.md)
FUTURE_DATED_TIMEOUT_S = 22 * 3600.0  # DCC target for a future-dated request


class Dsp:
    def __init__(self, repo: Repository, policy: RestrictedPolicy | None = None,
                 users: dict[str, User] | None = None) -> None:
        self.repo = repo
        self.policy = policy or RestrictedPolicy()
        self.users: dict[str, User] = dict(users or {})

    # --- helpers --------------------------------------------------------------------------
    def _refuse(self, user: str, req_id: str, code: str, message: str, now: float) -> list[DspOutput]:
        self.repo.log("audit", {"time": now, "who": user, "what": "rejected", "request_id": req_id, "code": code,
                                "detail": message})
        return [Answer(now, user, Response(req_id, code, message))]

    def audit(self, now: float, who: str, what: str, **detail: Any) -> None:
        self.repo.log("audit", {"time": now, "who": who, "what": what, **detail})

    # --- inventory ------------------------------------------------------------------------
    def add_premises(self, premises: Premises) -> None:
        self.repo.put_premises(premises)

    def add_device(self, device: Device) -> None:
        self.repo.put_device(device)

    def set_status(self, eui: str, status: Status, now: float, who: str = "DCC") -> None:
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
        last = self.repo.get("counter", user_eui)
        if last is not None and req.counter <= int(last["value"]):
            return self._refuse(user_eui, rid, "E2", f"RequestID counter {req.counter} is not above {last['value']}",
                                now)
        self.repo.put("counter", user_eui, {"value": req.counter})
        srv = catalogue.srvs().get(req.srv)
        if srv is None:
            return self._refuse(user_eui, rid, "E12", f"ServiceReferenceVariant {req.srv!r} is not a known SRV", now)
        if srv.command_variants and req.command_variant not in srv.command_variants and not (
                srv.critical and req.command_variant in (4, 5)):
            return self._refuse(user_eui, rid, "E12", f"CommandVariant {req.command_variant} is not valid for SRV "
                                                      f"{req.srv} (allowed {list(srv.command_variants)})", now)
        role = req.role or next(iter(sorted(user.roles)), "")
        if role not in user.roles or role not in srv.roles:
            return self._refuse(user_eui, rid, "E3", f"role {role!r} may not send SRV {req.srv} "
                                                     f"(roles {','.join(srv.roles)})", now)
        if srv.non_device:
            return self._non_device(user, role, req, now)
        device = self.repo.device(req.target)
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
        if device.restricted:
            refusal = self._restricted_refusal(device, req)
            if refusal:
                self.repo.log("audit", {"time": now, "who": user_eui, "what": "restricted-rejection",
                                        "request_id": rid, "srv": req.srv, "device": device.eui})
                return [Answer(now, user_eui, Response(rid, self.policy.rejection_code, refusal))]
        premises = self.repo.premises(device.premises)
        hub = premises.hub if premises else ""
        self.repo.put("request", rid, {"user": user_eui, "srv": req.srv, "target": device.eui, "hub": hub,
                                       "sent": now, "state": "sent", "counter": req.counter,
                                       "class": srv.restricted_class, "restricted": device.restricted})
        outs: list[DspOutput] = [Answer(now, user_eui, Response(rid, "I99", CODES["I99"]))]
        if srv.critical and req.command_variant == 4:
            # CV 4: the DSP frames the Pre-Command for the user to sign; nothing goes to the WAN yet.
            state = self.repo.get("request", rid) or {}
            self.repo.put("request", rid, {**state, "state": "precommand"})
            return [SendCommand(now, rid, hub, device.eui, device.device_type, req.srv, req.counter, user_eui,
                                dict(req.body), None, precommand=True)]
        if req.srv == "11.1":
            outs.append(SendFirmware(now, rid, hub, str(req.body.get("image", "")),
                                     tuple(req.body.get("targets", [device.eui]))))
        else:
            # A future-dated request (DUIS) waits in the DSP until its execution time; its answer
            # is due within FUTURE_DATED_TIMEOUT_S of that time, else E30.
            at = req.execution_time if req.execution_time is not None and req.execution_time > now else None
            outs.append(SendCommand(now, rid, hub, device.eui, device.device_type, req.srv, req.counter,
                                    user_eui, dict(req.body), req.signed_command, execute_at=at))
        return outs

    def _restricted_refusal(self, device: Device, req: ServiceRequest) -> str:
        """Why ``req`` may not reach Restricted ``device`` (RM-3, RM-4), or '' if it may."""
        if not self.policy.srv_allowed(req.srv):
            cls = catalogue.srvs()[req.srv].restricted_class
            return f"device {device.eui} is Restricted: SRV {req.srv} ({cls}) is not on the allow-list (RM-4)"
        if req.srv == _PAYMENT_MODE_SRV and str(req.body.get("payment_mode", "")).lower() == "prepayment":
            return f"device {device.eui} is Restricted: it may not be switched to prepayment (RM-3)"
        return ""

    def _non_device(self, user: User, role: str, req: ServiceRequest, now: float) -> list[DspOutput]:
        if req.srv == "8.2":
            return [Answer(now, user.eui, Response(req.request_id, "I0", "", {"inventory": self.read_inventory(
                req.body.get("premises"))}))]
        if req.srv == "11.1":
            targets = [str(t).upper() for t in req.body.get("targets", [])]
            for t in targets:
                if self.repo.device(t) is None:
                    return self._refuse(user.eui, req.request_id, "E19", f"firmware target {t} is unknown", now)
            hubs = {self._hub_of(t) for t in targets}
            outs: list[DspOutput] = [Answer(now, user.eui, Response(req.request_id, "I99", CODES["I99"]))]
            for hub in sorted(h for h in hubs if h):
                self.repo.put("request", f"{req.request_id}#{hub}", {"user": user.eui, "srv": "11.1", "hub": hub,
                                                                    "sent": now, "state": "sent"})
                outs.append(SendFirmware(now, req.request_id, hub, str(req.body.get("image", "")),
                                         tuple(t for t in targets if self._hub_of(t) == hub)))
            return outs
        if req.srv in ("8.3", "8.14.1"):
            eui = str(req.body.get("device", "")).replace("-", "").upper()
            dev = self.repo.device(eui)
            if dev is None:
                return self._refuse(user.eui, req.request_id, "E19", f"body field 'device' {eui!r} is unknown", now)
            if dev.responsible_supplier not in (None, user.eui) and dev.device_type != "CHF":
                return self._refuse(user.eui, req.request_id, "E4", f"{user.eui} is not responsible for {eui}", now)
            status = Status.DECOMMISSIONED if req.srv == "8.3" else Status.COMMISSIONED
            self.set_status(eui, status, now, user.eui)
            return [Answer(now, user.eui, Response(req.request_id, "I0", f"{eui} is {status.value}"))]
        return [Answer(now, user.eui, Response(req.request_id, "I0", f"non-device SRV {req.srv} accepted"))]

    def _hub_of(self, eui: str) -> str:
        dev = self.repo.device(eui)
        prem = self.repo.premises(dev.premises) if dev else None
        return prem.hub if prem else ""

    def read_inventory(self, premises: str | None = None) -> list[dict[str, Any]]:
        """SRV 8.2 and the SSI inventory view: the Restricted flag included (RM-6)."""
        return [d.public_view() for d in sorted(self.repo.devices(), key=lambda d: d.eui)
                if premises is None or d.premises == premises]

    # --- device responses and alerts --------------------------------------------------------
    def on_response(self, request_id: str, ok: bool, detail: str, now: float,
                    body: dict[str, Any] | None = None) -> list[DspOutput]:
        state = self.repo.get("request", request_id)
        if state is None or state.get("state") != "sent":
            return []  # unknown or already answered: a duplicate never reaches the user twice
        state.update(state="done", ok=ok, done=now)
        self.repo.put("request", request_id, state)
        self.repo.log("responses", {"time": now, "request_id": request_id, "srv": state["srv"], "ok": ok,
                                    "class": state.get("class"), "device": state.get("target"),
                                    "restricted": state.get("restricted", False)})
        # The device answered: I0 carries its response, whatever result it holds (DUIS).
        return [Answer(now, state["user"], Response(request_id, "I0", detail, body or {}))]

    def on_timeout(self, request_id: str, now: float, future_dated: bool = False) -> list[DspOutput]:
        state = self.repo.get("request", request_id)
        if state is None or state.get("state") != "sent":
            return []
        if future_dated:
            state.update(state="timeout", done=now)
            self.repo.put("request", request_id, state)
            return [Answer(now, state["user"], Response(request_id, "E30", "future-dated request timed out: no "
                                                        f"response from {state.get('target')} after its execution"))]
        state.update(state="timeout", done=now)
        self.repo.put("request", request_id, state)
        self.repo.log("responses", {"time": now, "request_id": request_id, "srv": state["srv"], "ok": False,
                                    "class": state.get("class"), "device": state.get("target"),
                                    "restricted": state.get("restricted", False)})
        return [Answer(now, state["user"], Response(request_id, "E21", f"no response from {state.get('target')} "
                                                                        f"within {RESPONSE_TIMEOUT_S:.0f} s"))]

    def on_alert(self, device_eui: str, alert_code: int, critical: bool, gbcs_hex: str,
                 now: float) -> list[DspOutput]:
        """RM-5: deliver to the user and the SAT log, or discard to the diagnostics log."""
        device = self.repo.device(device_eui)
        record = {"time": now, "device": device_eui, "alert_code": f"0x{alert_code:04X}", "critical": critical,
                  "gbcs": gbcs_hex}
        if device is not None and device.restricted and not self.policy.alert_delivered(alert_code, critical):
            self.repo.log("diagnostics", {**record, "reason": "device is Restricted (RM-5)"})
            self.audit(now, "DSP", "alert-discarded", device=device_eui, alert_code=f"0x{alert_code:04X}")
            return []
        self.repo.log("sat", record)
        if alert_code in (0x8F89, 0x8F1C) and device is not None:
            self.firmware_result(device_eui, False, now, f"alert 0x{alert_code:04X}")
        user = device.responsible_supplier if device else None
        return [AlertForUser(now, user or "", device_eui, alert_code, gbcs_hex)] if user else []

    def firmware_result(self, device_eui: str, ok: bool, now: float, detail: str = "") -> None:
        self.repo.log("firmware", {"time": now, "device": device_eui, "ok": ok, "detail": detail})

    # --- Restricted flag (RM-1, RM-2, RM-3, RM-7) --------------------------------------------
    def set_restricted(self, user_eui: str, device_eui: str, restricted: bool, now: float) -> list[DspOutput]:
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
        changed = [device]
        if device.device_type == "GSME":  # RM-1: a GSME's Restricted flag applies to its GPF
            changed += [d for d in self.repo.devices() if d.device_type == "GPF" and d.paired_gsme == device.eui]
        what = "set" if restricted else "cleared"
        outs: list[DspOutput] = [Answer(now, user_eui, Response(
            rid, "I0", f"Restricted {what} on {', '.join(d.eui for d in changed)}"))]
        for d in changed:
            d.restricted = restricted
            self.repo.put_device(d)
            self.audit(now, user_eui, "restricted-set" if restricted else "restricted-cleared", device=d.eui)
            if self.policy.notify_csp and premises is not None:
                outs.append(CspNotification(now, premises.region.value, premises.hub, d.eui, restricted))
        return outs

    # --- changes of supplier and tenancy (RM-9, IC-3) ------------------------------------------
    def change_of_supplier(self, device_eui: str, gaining: str, now: float) -> None:
        device = self.repo.device(device_eui)
        if device is None:
            return
        old = device.responsible_supplier
        if device.device_type in ("GSME", "GPF"):
            device.gas_supplier = gaining
        else:
            device.import_supplier = gaining
        self.repo.put_device(device)  # RM-9: Restricted is kept as it is
        self.audit(now, "DCC", "change-of-supplier", device=device_eui, losing=old, gaining=gaining,
                   restricted=device.restricted)

    def change_of_tenancy(self, device_eui: str, now: float) -> None:
        device = self.repo.device(device_eui)
        if device is None:
            return
        if device.restricted and self.policy.clear_on_change_of_tenancy:
            device.restricted = False
            self.repo.put_device(device)
            self.audit(now, "DCC", "restricted-cleared", device=device_eui, reason="change of tenancy (RM-9)")
        else:
            self.audit(now, "DCC", "change-of-tenancy", device=device_eui, restricted=device.restricted)

    # --- install-code exchange between suppliers (MP121: IC-3, IC-4) -------------------------
    def request_install_code(self, gaining: str, device_eui: str, now: float) -> Response:
        """The gaining supplier asks the losing one for a device's install code (tracked, 10 working days)."""
        device = self.repo.device(device_eui)
        rid = f"ic:{device_eui}:{now}"
        if device is None:
            return Response(rid, "E19", f"device {device_eui} is not in the inventory")
        if device.responsible_supplier != gaining:
            return Response(rid, "E4", f"{gaining} is not the responsible supplier of {device_eui}")
        losing = device.installing_supplier or ""
        record = {"device": device_eui, "gaining": gaining, "losing": losing, "requested": now,
                  "deadline": add_working_days(now, 10), "state": "open"}
        self.repo.put("install-code", rid, record)
        self.audit(now, gaining, "install-code-requested", device=device_eui, exchange=rid, losing=losing)
        return Response(rid, "I0", f"request sent to {losing}; answer due by {record['deadline']:.0f}", record)

    def answer_install_code(self, losing: str, exchange_id: str, now: float) -> Response:
        """The losing supplier answers: the code if it installed the device, else that it did not (IC-3).

        The DSP hands a code only to the gaining supplier of an open exchange (IC-4)."""
        record = self.repo.get("install-code", exchange_id)
        if record is None:
            return Response(exchange_id, "E19", f"no install-code exchange {exchange_id}")
        if record["losing"] != losing:
            return Response(exchange_id, "E4", f"{losing} is not the supplier asked in {exchange_id}")
        device = self.repo.device(record["device"])
        late = now > record["deadline"]
        if device is not None and device.installing_supplier == losing and device.install_code:
            record.update(state="answered", answered=now, late=late)
            self.repo.put("install-code", exchange_id, record)
            self.audit(now, losing, "install-code-given", device=record["device"], to=record["gaining"], late=late)
            return Response(exchange_id, "I0", "install code provided", {"install_code": device.install_code,
                                                                         "late": late})
        record.update(state="not-installer", answered=now, late=late)
        self.repo.put("install-code", exchange_id, record)
        self.audit(now, losing, "install-code-not-installer", device=record["device"])
        return Response(exchange_id, "I0", f"{losing} did not install {record['device']}", {"install_code": None})

    def overdue_install_code_requests(self, now: float) -> list[dict[str, Any]]:
        items = self.repo.items("install-code")
        return [dict(r, id=k) for k, r in items if r["state"] == "open" and now > r["deadline"]]


def add_working_days(start: float, days: int) -> float:
    """``start`` plus ``days`` working days (Monday to Friday, UTC), end of that day."""
    t = datetime.datetime.fromtimestamp(start, datetime.UTC)
    added = 0
    while added < days:
        t += datetime.timedelta(days=1)
        if t.weekday() < 5:
            added += 1
    return t.replace(hour=23, minute=59, second=59).timestamp()
