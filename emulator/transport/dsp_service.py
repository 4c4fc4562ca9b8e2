"""The DSP stub as a running service: the sans-IO :class:`~emulator.dsp.core.Dsp` between
Service Users (Python API, HTTP) and the WAN. Outputs of the core become GBCS frames on the
WAN or answers to users; what comes up the WAN is checked (MAC or signature) and fed back
into the core; the core's timers (deadlines, re-sends, future-dated sends, schedules) run when
:meth:`Dsp.get_timer` says. No rule and no timer is decided here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from emulator.clock import Clock
from emulator.dsp.core import RESPONSE_TIMEOUT_S, Dsp
from emulator.dsp.events import AlertForUser, Answer, CspNotification, DspOutput, SendCommand, SendFirmware
from emulator.dsp.model import Response, ServiceRequest
from emulator.dsp.reports import CspStub
from emulator.dsp.response_body import ResponseBody
from emulator.gbcs import asn1, catalogue, commands, dlms, frames, gbz, security
from emulator.gbcs.errors import GbcsError, UnknownKeyError
from emulator.gbcs.frames import Cra, Message
from emulator.gbcs.identities import ACB, TRANSITIONAL_COS
from emulator.gbcs.keys import KeyStore
from emulator.gbcs.payload import decode_payload
from emulator.transport.wan import DspPort
from emulator.transport.wan_messages import (
    Ack,
    Command,
    DeviceAlert,
    DownMessage,
    Firmware,
    JoinedEvent,
    JoinRefusedEvent,
    UnreachableEvent,
    UpMessage,
)
from emulator.zigbee import zcl
from emulator.zigbee.errors import ZigbeeError
from emulator.zigbee.eui64 import Eui64

log = logging.getLogger(__name__)
# Use cases the DCC itself originates, by message code: device-log changes come from the
# ACB (as in the reference set); a change-of-supplier credential update from the
# Transitional CoS party, which also signs it (CS02b supplierByTransCoS, MP121 / IC-3); the
# SRV 6.21 handover of a DCC-controlled device (CS02b supplierBySupplier or
# networkOperatorByNetworkOperator) from the ACB, signed with the ACB's DS key, as the RTDS
# 6.21 commands are: on such a device the cell handed over holds the ACB's certificate, so
# the ACB is that cell's authority. A device whose cell the user already holds refuses it
# (0x8F30): there is nothing for the DCC to hand over. 6.15.1 frames the same two codes but is
# critical, so it arrives signed by the user (command variant 5) and never takes this path.
REMEMBER = 100_000
#: A user's inbox (answers and alerts, for tests and diagnostics; the DUIS adapter is told through
#: ``user_listeners``) keeps this many of each, the latest: each one kept is walked by every full
#: garbage collection (up to 200,000 answers were kept, a stall of over 100 ms in a long fleet run).
INBOX_KEEP = 1_000
_DCC_ORIGINATED = {0x0001: ACB, 0x0002: ACB, 0x0102: ACB, 0x0103: ACB, 0x0107: TRANSITIONAL_COS}
_V = TypeVar("_V")


def _signed_by_originator(message_code: int) -> bool:
    """The reference command always carries its originator's signature (catalogue, RTDS column)."""
    info = catalogue.message_codes().get(message_code)
    return info is not None and info.command_always_signed


@dataclass(slots=True)
class Pending:
    request_id: str
    user: str
    srv: str
    done: asyncio.Future[Response]
    awaited: bool = False  # someone waits in result(): the answer goes to them, not to ``completed``


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
        core.response_timeout_s = response_timeout_s  # configuration handed to the core, which times out
        self.csps = {"NORTH": CspStub("NORTH"), "CENTRAL_SOUTH": CspStub("CENTRAL_SOUTH")}
        self.inbox: dict[str, UserInbox] = defaultdict(UserInbox)
        self.pending: dict[str, Pending] = {}
        self.by_frame: dict[tuple[bytes, int, bytes], str] = {}  # (device, counter, originator) -> request id
        self.acb_counter = security.CounterSource()
        self.delivered_per_hub: dict[str, int] = defaultdict(int)
        # Bounded memories (a long run must not grow without end): ids seen (repeats of a message
        # come within minutes, not after REMEMBER others) and answers nobody collected yet.
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.completed: OrderedDict[str, Response] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wire: dict[str, tuple[bytes, DownMessage]] = {}  # request id -> (hub, the command as sent)
        # The one loop timer that runs the core's timers: (when, handle), armed for the core's next.
        self._armed: tuple[float, asyncio.TimerHandle] | None = None
        self._stopped = False
        #: Told of every answer and alert that reaches a user after the synchronous answer
        #: (device responses, time-outs, alerts): the DUIS delivery adapter listens here.
        self.user_listeners: list[Callable[[str, Response | AlertForUser], None]] = []

    async def start(self) -> None:
        await self.port.start(self.on_up)
        self._arm()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _arm(self) -> None:
        """Arm the loop timer for the core's next timer, unless one is armed at or before it. One
        that fires early (the core's next moved later) finds nothing due and arms again: cheaper
        than re-arming on every output, which a task and a wait per SRV used to do."""
        due = self.core.get_timer()
        if due is None or self._stopped or (self._armed is not None and self._armed[0] <= due):
            return
        if self._armed is not None:
            self._armed[1].cancel()
        loop = asyncio.get_running_loop()
        self._armed = (due, loop.call_later(max(0.0, due - self.clock.now()), self._fire))

    def _fire(self) -> None:
        self._armed = None
        self._spawn(self._timers_due())

    async def _timers_due(self) -> None:
        await self._apply(self.core.handle_timer(self.clock.now()))  # arms the next one

    async def stop(self) -> None:
        self._stopped = True
        if self._armed is not None:
            self._armed[1].cancel()
            self._armed = None
        for task in list(self._tasks):
            task.cancel()
        await self.port.stop()

    # --- user API ---------------------------------------------------------------------------
    async def submit(self, user: str, req: ServiceRequest) -> Response:
        """Submit a Service Request; returns the immediate answer (I99, I0, a Pre-Command, or a refusal)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Response] = loop.create_future()
        self.pending[req.request_id] = Pending(req.request_id, user, req.srv, fut)
        outs = self.core.submit(user, req, self.clock.now())
        first = await self._apply(outs, initial=True)
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
        pending.awaited = True
        return await pending.done

    async def call(self, user: str, req: ServiceRequest) -> tuple[Response, Response | None]:
        ack = await self.submit(user, req)
        if ack.code != "I99":
            return ack, None
        return ack, await self.result(req.request_id)

    async def set_restricted(self, user: str, device: Eui64, restricted: bool) -> Response:
        first = await self._apply(self.core.set_restricted(user, device, restricted, self.clock.now()), initial=True)
        return first or Response("", "E1", "no answer")

    # --- core outputs -------------------------------------------------------------------------
    async def _apply(self, outs: list[DspOutput], initial: bool = False) -> Response | None:
        """Carry out the core's outputs; ``initial``: they answer a call (submit), not a timer."""
        first: Response | None = None
        for out in outs:
            if isinstance(out, Answer):
                first = first or out.response
                if out.response.code != "I99":
                    self._wire.pop(out.response.request_id, None)  # answered: nothing more to re-send
                if not initial and out.response.request_id in self.pending:
                    self._finish_later(out.response.request_id, out.response)  # a final answer from a timer
                else:
                    _append(self.inbox[out.user].answers, out.response)
                    if not initial:  # a DCC schedule's run, say: nobody waits on it, the user is told
                        self._tell_user(out.user, out.response)
            elif isinstance(out, SendCommand) and out.resend:
                hub_and_message = self._wire.get(out.request_id)
                if hub_and_message is not None:
                    await self.port.send(*hub_and_message)  # byte for byte the frame sent before
            elif isinstance(out, SendCommand):
                await self._send_command(out)
            elif isinstance(out, SendFirmware):
                message = Firmware(f"fw:{out.request_id}:{out.hub}", out.request_id, bytes.fromhex(out.image_hex),
                                   out.targets)
                await self.port.send(bytes(out.hub), message)
                self._finish_later(out.request_id, Response(out.request_id, "I0", "firmware distributed to the hub"))
            elif isinstance(out, AlertForUser):
                _append(self.inbox[out.user].alerts, out)
                self._tell_user(out.user, out)
            elif isinstance(out, CspNotification):
                self.csps[out.region].notify(out)
        self._arm()  # the core's next timer may have changed
        return first

    def _finish_later(self, request_id: str, response: Response) -> None:
        pending = self.pending.pop(request_id, None)
        if pending is not None and not pending.done.done():
            _append(self.inbox[pending.user].answers, response)
            pending.done.set_result(response)
            if not pending.awaited:  # kept for a later result(); one awaited is delivered, not kept
                _remember(self.completed, request_id, response)
            self._tell_user(pending.user, response)

    def _tell_user(self, user: str, item: Response | AlertForUser) -> None:
        for listener in self.user_listeners:
            listener(user, item)

    async def _send_command(self, cmd: SendCommand) -> None:
        now = self.clock.now()
        target = bytes(cmd.target)
        try:
            if cmd.signed_command:
                # CV 5: the core matched it to the Pre-Command it issued; the DCC adds its MAC.
                msg = frames.decode(bytes.fromhex(cmd.signed_command))
                msg = security.precommand_to_command(self.keys, msg.with_(precommand=True), msg.signature or b"")
            else:
                # A use case the DCC originates is built as its party from the start, so the
                # counters inside the payload (CS02b's sequence number, CCS01's invoke-id) are the
                # envelope's, as in every RTDS file.
                code = commands.message_code_for(cmd.srv, cmd.device_type, cmd.body) or 0
                dcc_party = _DCC_ORIGINATED.get(code)
                originator = dcc_party or bytes.fromhex(cmd.originator)
                counter = self.acb_counter.next(now) if dcc_party else cmd.counter
                msg = commands.build(cmd.srv, cmd.device_type, originator, target, counter, cmd.body).message
                if dcc_party and _signed_by_originator(code):
                    # the DCC party is the authority here, so its signature is the one GBCS asks for
                    msg = security.sign(self.keys, msg.with_(mac_protected=True, precommand=False))
            wire = security.seal(self.keys, msg)
        except (GbcsError, ValueError, KeyError) as e:
            self._finish_later(cmd.request_id, Response(cmd.request_id, "E1", f"cannot frame the command: {e}"))
            return
        self.by_frame[(target, msg.counter, msg.originator)] = cmd.request_id
        if len(self.by_frame) > REMEMBER:  # frames whose answer never came (timed out long ago)
            del self.by_frame[next(iter(self.by_frame))]
        message = Command(cmd.request_id, cmd.request_id, wire)
        hub = bytes(cmd.hub) if cmd.hub is not None else b""  # no premises: the WAN says no hub is there
        self._wire[cmd.request_id] = (hub, message)
        await self.port.send(hub, message)

    # --- the WAN, upwards -------------------------------------------------------------------
    async def on_up(self, hub: bytes, message: UpMessage) -> None:
        mid = message.id
        if mid in self.seen:
            if isinstance(message, DeviceAlert):  # our acknowledgement was lost: acknowledge again
                await self.port.send(hub, Ack(f"ack:{mid}:{self.clock.now()}", (mid,)))
            return  # redelivered: never reaches the user twice (WN-1)
        if mid:
            _remember(self.seen, mid, None)
        now = self.clock.now()
        self.delivered_per_hub[hub.hex().upper()] += 1
        if isinstance(message, JoinedEvent | JoinRefusedEvent | UnreachableEvent):
            await self._on_event(message, now)
            return
        try:
            msg = frames.decode(message.gbcs)
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
            subject = alert_subject_of(msg)
            await self._apply(self.core.on_alert(Eui64(msg.originator), code, msg.signature is not None,
                                                 frames.encode(msg).hex().upper(), now, subject))
            await self.port.send(hub, Ack(f"ack:{mid}", (mid,)))  # stored: stop re-sending
            return
        request_id = self.by_frame.pop((msg.originator, msg.counter, msg.target), None)
        if request_id is None:
            return
        # The DCC forwards the response; its payload's tree is made only if someone reads it.
        body = ResponseBody.device_response(message.gbcs.hex().upper(), msg.payload, msg.message_code, cra=2)
        version, activated = firmware_version_in(msg), activation_result_in(msg)
        if version is not None or activated is not None:  # most responses report neither
            self.core.note_firmware(Eui64(msg.originator), version.hex().upper() if version else None, activated, now)
        await self._apply(self.core.on_response(request_id, True, "", now, body))

    async def _on_event(self, message: JoinedEvent | JoinRefusedEvent | UnreachableEvent, now: float) -> None:
        if isinstance(message, JoinedEvent):
            self.core.on_device_joined(message.device, now)
        elif isinstance(message, UnreachableEvent):
            await self._apply(self.core.on_unreachable(message.request_id, message.reason, now))


def _append(items: list[_V], item: _V) -> None:
    """A user's inbox keeps its last INBOX_KEEP items (trimmed in halves): a long run stays bounded."""
    items.append(item)
    if len(items) >= 2 * INBOX_KEEP:
        del items[:len(items) - INBOX_KEEP]


def _remember(memory: OrderedDict[str, _V], key: str, value: _V) -> None:
    memory[key] = value
    if len(memory) > REMEMBER:
        memory.popitem(last=False)


def alert_code_of(msg: Message) -> int:
    """The alert code of a GBCS alert: from its DLMS, GBZ or ASN.1 payload, else the message code."""
    p = decode_payload(msg.payload, message_code=msg.message_code, cra=3)
    parsed: object = p.parsed
    if isinstance(parsed, dlms.DataNotification):
        return int(parsed.alert_code)
    if isinstance(parsed, gbz.GbzPayload) and parsed.alert_code is not None:
        return parsed.alert_code
    if isinstance(parsed, asn1.Tlv) and parsed.children and parsed.children[0].tag == asn1.INTEGER:
        return parsed.children[0].int() & 0xFFFF
    return msg.message_code


def alert_subject_of(msg: Message) -> Eui64 | None:
    """The device a hub's alert is about: CCS08 (firmware transfer, 0x8F89/0x8F8A) names it in its
    third element (RTDS: SEQUENCE { code, time, device EUI-64, version, result })."""
    if msg.message_code != 0x0128 or msg.payload[:1] != b"\x30":
        return None
    try:
        kids = asn1.decode(msg.payload).children or ()
    except GbcsError:
        return None
    devices = [k.value for k in kids if k.tag == asn1.OCTET_STRING and len(k.value) == 8]
    return Eui64(devices[0]) if devices else None


def activation_result_in(msg: Message) -> bool | None:
    """A CS06 Activate Firmware response's outcome (None: not one)."""
    if msg.message_code != 0x0012 or msg.payload[:1] != b"\x30":
        return None
    try:
        return bool(asn1.decode(msg.payload).children[0].int() == 0)  # type: ignore[index]
    except (GbcsError, TypeError, IndexError):
        return False


def firmware_version_in(msg: Message) -> bytes | None:
    """The firmware version a response reports (ECS52 DLMS, GCS38 ZCL, CS06/CS08 ASN.1)."""
    try:
        if msg.message_code == 0x0059:
            rsp = dlms.decode_access_response(msg.payload)
            if rsp.data and rsp.data[0].type == "octet-string":
                return bytes(rsp.data[0].value)
        elif msg.message_code == 0x0084:
            records = zcl.decode_read_attributes_response(gbz.decode(msg.payload).components[0].zcl().payload)
            if records and records[0].data_type == zcl.DataType.OCTET_STRING and isinstance(records[0].value, bytes):
                return records[0].value
        elif msg.message_code in (0x0012, 0x0129) and msg.payload[:1] == b"\x30":
            kids = asn1.decode(msg.payload).children or ()
            for k in kids:
                if k.tag == asn1.OCTET_STRING:
                    return k.value
    except (GbcsError, ZigbeeError, IndexError):
        return None
    return None
