"""The DSP stub as a running service: the sans-IO :class:`~emulator.dsp.core.Dsp` between
Service Users (Python API, HTTP) and the WAN. One loop: outputs of the core become GBCS
frames on the WAN or answers to users; what comes up the WAN is checked (MAC or
signature) and fed back into the core. No rule is decided here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulator.clock import Clock
from emulator.dsp.core import FUTURE_DATED_TIMEOUT_S, RESPONSE_TIMEOUT_S, Dsp
from emulator.dsp.events import AlertForUser, Answer, CspNotification, DspOutput, SendCommand, SendFirmware
from emulator.dsp.model import Response, ServiceRequest, Status
from emulator.dsp.reports import CspStub
from emulator.gbcs import asn1, commands, dlms, frames, gbz, security
from emulator.gbcs.errors import GbcsError, UnknownKeyError
from emulator.gbcs.frames import Cra, Message
from emulator.gbcs.identities import ACB, TRANSITIONAL_COS
from emulator.gbcs.keys import KeyStore
from emulator.gbcs.payload import decode_payload
from emulator.transport.wan import DspPort, WanMessage

log = logging.getLogger(__name__)
# Use cases the DCC itself originates, by message code: device-log changes come from the
# ACB (as in the reference set); a change-of-supplier credential update from the
# Transitional CoS party, which also signs it (CS02b supplierByTransCoS, MP121 / IC-3).
COMMAND_RESEND_S = 20.0
_DCC_ORIGINATED = {0x0001: ACB, 0x0002: ACB, 0x0107: TRANSITIONAL_COS}


@dataclass(slots=True)
class Pending:
    request_id: str
    user: str
    srv: str
    done: asyncio.Future[Response]
    timer: asyncio.TimerHandle | None = None


@dataclass(slots=True)
class UserInbox:
    answers: list[Response] = field(default_factory=list)
    alerts: list[AlertForUser] = field(default_factory=list)


class DspService:
    def __init__(self, core: Dsp, port: DspPort, keys: KeyStore, clock: Clock,
                 response_timeout_s: float = RESPONSE_TIMEOUT_S) -> None:
        self.core = core
        self.port = port
        self.keys = keys
        self.clock = clock
        self.timeout = response_timeout_s
        self.csps = {"NORTH": CspStub("NORTH"), "CENTRAL_SOUTH": CspStub("CENTRAL_SOUTH")}
        self.inbox: dict[str, UserInbox] = defaultdict(UserInbox)
        self.pending: dict[str, Pending] = {}
        self.by_frame: dict[tuple[bytes, int, bytes], str] = {}  # (device, counter, originator) -> request id
        self.precommands: dict[str, str] = {}
        self.acb_counter = security.CounterSource()
        self.delivered_per_hub: dict[str, int] = defaultdict(int)
        self.seen: dict[str, None] = {}
        self.completed: dict[str, Response] = {}
        self._resenders: set[asyncio.Task[None]] = set()
        #: How long a command may wait for its device: a GSME answers when it next wakes.
        self.timeouts = {"GSME": 3600.0}
        #: Told of every answer and alert that reaches a user after the synchronous answer
        #: (device responses, time-outs, alerts): the DUIS delivery adapter listens here.
        self.user_listeners: list[Callable[[str, Response | AlertForUser], None]] = []

    async def start(self) -> None:
        await self.port.start(self.on_up)

    async def stop(self) -> None:
        for task in list(self._resenders):
            task.cancel()
        await self.port.stop()

    # --- user API ---------------------------------------------------------------------------
    async def submit(self, user: str, req: ServiceRequest) -> Response:
        """Submit a Service Request; returns the immediate answer (I99, I0, a Pre-Command, or a refusal)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Response] = loop.create_future()
        self.pending[req.request_id] = Pending(req.request_id, user, req.srv, fut)
        outs = self.core.submit(user, req, self.clock.now())
        first = await self._apply(outs)
        if first is None:
            self.pending.pop(req.request_id, None)
            return Response(req.request_id, "E1", "no answer from the DSP core")
        if first.code != "I99":
            self.pending.pop(req.request_id, None)
        return first

    async def result(self, request_id: str) -> Response:
        """The device's response (I0), or E21 after the time-out."""
        done = self.completed.pop(request_id, None)
        if done is not None:
            return done
        pending = self.pending.get(request_id)
        if pending is None:
            raise KeyError(f"no request {request_id} is waiting for a device response")
        return await pending.done

    async def call(self, user: str, req: ServiceRequest) -> tuple[Response, Response | None]:
        ack = await self.submit(user, req)
        if ack.code != "I99":
            return ack, None
        return ack, await self.result(req.request_id)

    async def set_restricted(self, user: str, device: str, restricted: bool) -> Response:
        first = await self._apply(self.core.set_restricted(user, device, restricted, self.clock.now()))
        return first or Response("", "E1", "no answer")

    # --- core outputs -------------------------------------------------------------------------
    async def _apply(self, outs: list[DspOutput]) -> Response | None:
        first: Response | None = None
        for out in outs:
            if isinstance(out, Answer):
                first = first or out.response
                self.inbox[out.user].answers.append(out.response)
            elif isinstance(out, SendCommand) and out.execute_at is not None:
                self._later(out)
            elif isinstance(out, SendCommand):
                r = await self._send_command(out)
                first = first or r
            elif isinstance(out, SendFirmware):
                message = {"kind": "firmware", "id": f"fw:{out.request_id}:{out.hub}", "request_id": out.request_id,
                           "image": out.image_hex, "targets": list(out.targets)}
                await self.port.send(bytes.fromhex(out.hub), message)
                self._finish_later(out.request_id, Response(out.request_id, "I0", "firmware distributed to the hub"))
            elif isinstance(out, AlertForUser):
                self.inbox[out.user].alerts.append(out)
                self._tell_user(out.user, out)
            elif isinstance(out, CspNotification):
                self.csps[out.region].notify(out)
        return first

    def _later(self, cmd: SendCommand) -> None:
        """A future-dated request: frame and send it at its execution time."""
        async def at_time() -> None:
            await self.clock.sleep_until(cmd.execute_at or self.clock.now())
            await self._send_command(cmd, future_dated=True)

        task = asyncio.ensure_future(at_time())
        self._resenders.add(task)
        task.add_done_callback(self._resenders.discard)

    def _finish_later(self, request_id: str, response: Response) -> None:
        pending = self.pending.pop(request_id, None)
        if pending is not None and not pending.done.done():
            self.inbox[pending.user].answers.append(response)
            pending.done.set_result(response)
            if pending.timer is not None:
                pending.timer.cancel()
            self.completed[request_id] = response
            self._tell_user(pending.user, response)

    def _tell_user(self, user: str, item: Response | AlertForUser) -> None:
        for listener in self.user_listeners:
            listener(user, item)

    async def _send_command(self, cmd: SendCommand, future_dated: bool = False) -> Response | None:
        now = self.clock.now()
        target = bytes.fromhex(cmd.target)
        try:
            if cmd.signed_command:
                msg = frames.decode(bytes.fromhex(cmd.signed_command))
                if msg.target != target:
                    raise GbcsError("the signed command is for another device")
                msg = security.precommand_to_command(self.keys, msg.with_(precommand=True), msg.signature or b"")
            else:
                uc = commands.build(cmd.srv, cmd.device_type, bytes.fromhex(cmd.originator), target, cmd.counter,
                                    cmd.body)
                msg = uc.message
                dcc_party = _DCC_ORIGINATED.get(msg.message_code)
                if dcc_party is not None:
                    msg = msg.with_(originator=dcc_party, counter=self.acb_counter.next(now))
                    if dcc_party == TRANSITIONAL_COS:
                        msg = security.sign(self.keys, msg.with_(mac_protected=True, precommand=False))
                if not cmd.precommand and uc.critical and dcc_party is None:
                    raise ValueError(f"use case {uc.use_case} is critical: send the SRV as command variant 4")
                if cmd.precommand:
                    pre = msg.with_(precommand=True, mac_protected=False)
                    hex_pre = frames.encode(pre).hex().upper()
                    self.precommands[cmd.request_id] = hex_pre
                    self.pending.pop(cmd.request_id, None)
                    return Response(cmd.request_id, "I0", "Pre-Command to sign", {"precommand": hex_pre})
            wire = security.seal(self.keys, msg)
        except (GbcsError, ValueError, KeyError) as e:
            self._finish_later(cmd.request_id, Response(cmd.request_id, "E1", f"cannot frame the command: {e}"))
            return None
        self.by_frame[(target, msg.counter, msg.originator)] = cmd.request_id
        pending = self.pending.get(cmd.request_id)
        message = {"kind": "command", "id": cmd.request_id, "request_id": cmd.request_id, "gbcs": wire.hex().upper()}
        if pending is not None:
            loop = asyncio.get_running_loop()
            wait = FUTURE_DATED_TIMEOUT_S if future_dated else self.timeouts.get(cmd.device_type, self.timeout)
            pending.timer = loop.call_later(wait, lambda: asyncio.ensure_future(
                self._timeout(cmd.request_id, future_dated)))
            self._resend(cmd.request_id, bytes.fromhex(cmd.hub), message)
        await self.port.send(bytes.fromhex(cmd.hub), message)
        return None

    def _resend(self, request_id: str, hub: bytes, message: WanMessage) -> None:
        """Until the answer comes, send the command again now and then (WN-1): a broker that
        died after acknowledging it may never have delivered it; the hub answers a repeat from
        its cache and never acts twice."""

        async def again() -> None:
            while request_id in self.pending:
                await asyncio.sleep(COMMAND_RESEND_S)
                if request_id in self.pending:
                    await self.port.send(hub, message)

        task = asyncio.ensure_future(again())
        self._resenders.add(task)
        task.add_done_callback(self._resenders.discard)

    async def _timeout(self, request_id: str, future_dated: bool = False) -> None:
        outs = self.core.on_timeout(request_id, self.clock.now(), future_dated)
        for out in outs:
            if isinstance(out, Answer):
                self._finish_later(request_id, out.response)

    # --- the WAN, upwards -------------------------------------------------------------------
    async def on_up(self, hub: bytes, message: WanMessage) -> None:
        mid = str(message.get("id", ""))
        if mid in self.seen:
            if message.get("kind") == "alert":  # our acknowledgement was lost: acknowledge again
                await self.port.send(hub, {"kind": "ack", "id": f"ack:{mid}:{self.clock.now()}", "ids": [mid]})
            return  # redelivered: never reaches the user twice (WN-1)
        if mid:
            self.seen[mid] = None
        kind = message.get("kind")
        now = self.clock.now()
        self.delivered_per_hub[hub.hex().upper()] += 1
        if kind == "event":
            await self._on_event(message, now)
            return
        try:
            msg = frames.decode(bytes.fromhex(str(message.get("gbcs", ""))))
            if msg.mac is not None:
                # MACed for the Service User: without the user's keys the user checks it, as in the DCC.
                with contextlib.suppress(UnknownKeyError):
                    security.verify_mac(self.keys, msg)
            if msg.signature is not None:
                security.verify_signature(self.keys, msg)
        except (GbcsError, ValueError) as e:
            log.warning("DSP: refused a frame from hub %s: %s", hub.hex(), e)
            return
        if msg.cra is Cra.ALERT:
            code = alert_code_of(msg)
            await self._apply(self.core.on_alert(msg.originator.hex().upper(), code, msg.signature is not None,
                                                 frames.encode(msg).hex().upper(), now))
            await self.port.send(hub, {"kind": "ack", "id": f"ack:{mid}", "ids": [mid]})  # stored: stop re-sending
            return
        request_id = self.by_frame.pop((msg.originator, msg.counter, msg.target), None)
        if request_id is None:
            return
        body = {"gbcs": message.get("gbcs"), "payload": decode_payload(msg.payload, message_code=msg.message_code,
                                                                       cra=2).to_tree()}
        self._note_firmware(msg, now)
        pending = self.pending.get(request_id)
        if pending is not None and pending.timer is not None:
            pending.timer.cancel()
        for out in self.core.on_response(request_id, True, "", now, body):
            if isinstance(out, Answer):
                self._finish_later(request_id, out.response)
        self._after_success(request_id, msg, now)

    def _note_firmware(self, msg: Message, now: float) -> None:
        """Keep the inventory's firmware version current from 11.2 / 11.3 responses."""
        eui = msg.originator.hex().upper()
        version = firmware_version_in(msg)
        dev = self.core.repo.device(eui)
        if dev is not None and version is not None:
            dev.firmware_version = version.hex().upper()
            self.core.repo.put_device(dev)
        if msg.message_code == 0x0012 and msg.payload[:1] == b"\x30":
            try:
                ok = asn1.decode(msg.payload).children[0].int() == 0  # type: ignore[index]
            except (GbcsError, TypeError, IndexError):
                ok = False
            self.core.firmware_result(eui, ok, now, "CS06 activation")

    def _after_success(self, request_id: str, msg: Message, now: float) -> None:
        state = self.core.repo.get("request", request_id) or {}
        srv = state.get("srv")
        if srv == "8.1.1":
            eui = msg.originator.hex().upper()
            self.core.set_status(eui, Status.COMMISSIONED, now, state.get("user", "DCC"))
            for gpf in self.core.repo.devices():  # the GPF in the hub is commissioned with its GSME
                if gpf.device_type == "GPF" and gpf.paired_gsme == eui:
                    self.core.set_status(gpf.eui, Status.COMMISSIONED, now, state.get("user", "DCC"))

    async def _on_event(self, message: WanMessage, now: float) -> None:
        device = str(message.get("device", ""))
        event = message.get("event")
        dev = self.core.repo.device(device)
        if event == "joined" and dev is not None and dev.status in (Status.PENDING, Status.WHITELISTED):
            self.core.set_status(device, Status.INSTALLED_NOT_COMMISSIONED, now, "CHF")
        elif event == "unreachable":
            rid = str(message.get("request_id", ""))
            pending = self.pending.get(rid)
            if pending is not None and pending.timer is not None:
                pending.timer.cancel()
            for out in self.core.on_timeout(rid, now):
                if isinstance(out, Answer):
                    self._finish_later(rid, Response(rid, "E20", f"cannot reach {device}: {message.get('reason')}"))


def alert_code_of(msg: Message) -> int:
    """The alert code of a GBCS alert: from its DLMS, GBZ or ASN.1 payload, else the message code."""
    p = decode_payload(msg.payload, message_code=msg.message_code, cra=3)
    parsed: Any = p.parsed
    if isinstance(parsed, dlms.DataNotification):
        return int(parsed.alert_code)
    if isinstance(parsed, gbz.GbzPayload) and parsed.alert_code is not None:
        return parsed.alert_code
    if isinstance(parsed, asn1.Tlv) and parsed.children and parsed.children[0].tag == asn1.INTEGER:
        return parsed.children[0].int() & 0xFFFF
    return msg.message_code


def firmware_version_in(msg: Message) -> bytes | None:
    """The firmware version a response reports (ECS52 DLMS, GCS38 ZCL, CS06/CS08 ASN.1)."""
    try:
        if msg.message_code == 0x0059:
            rsp = dlms.decode_access_response(msg.payload)
            if rsp.data and rsp.data[0].type == "octet-string":
                return bytes(rsp.data[0].value)
        elif msg.message_code == 0x0084:
            g = gbz.decode(msg.payload)
            payload = g.components[0].zcl().payload
            if len(payload) >= 5 and payload[2] == 0 and payload[3] == 0x41:
                return payload[5:5 + payload[4]]
        elif msg.message_code in (0x0012, 0x0129) and msg.payload[:1] == b"\x30":
            kids = asn1.decode(msg.payload).children or ()
            for k in kids:
                if k.tag == asn1.OCTET_STRING:
                    return k.value
    except (GbcsError, IndexError):
        return None
    return None
