"""The Comms Hub Function (CHF): Zigbee coordinator and trust centre, GBCS router between the
WAN and the HAN, host of the GPF, and OTA server (DV-1, DV-5, IC-1, IC-2).

Theory of operation. A command from the WAN goes by its target EUI: the CHF's own
commands (CCS01/CCS02 device log, firmware version) are handled here; the GPF's are
answered by the GPF at once; an ESME's go down its tunnel (opened by the CHF when the
ESME joins, queued until it is open); a GSME's wait in a queue until the GSME wakes
and asks (GET). Responses and alerts from devices go up to the WAN as they come; the
CHF acknowledges a device alert with a ZCL Default Response. A device joins only after
SRV 8.11 (CCS01) put its EUI and install code in the device log, and only with the
link key derived from that code (the radio enforces the key; the CHF asks it to permit).
Firmware images distributed to the CHF are announced to their target devices (Image
Notify; the sleepy GSME asks on waking) and served block by block.

Towards the WAN the CHF keeps its own delivery promises (WN-1), on its own timer: a command
the DSP sends again (byte for byte: our answer was lost) is answered again from the answer
cache, never run twice; every alert it sends up is sent again every ``ALERT_RESEND_S`` until
the DSP acknowledges it by the frame's id (:meth:`Chf.wan_acknowledged`); and a command whose
HAN frame would not fit the radio (``max_han_payload``, told by the adapter) is refused at
once as unreachable rather than sent to be lost.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from emulator.devices.base import Output, WanFrame, earliest
from emulator.devices.credentials import due_update_alert
from emulator.devices.device_log import (
    DeviceLog,
    DeviceLogError,
    install_code_from_ccs01,
    log_statistics,
    security_details,
)
from emulator.devices.endpoint import GbcsEndpoint, accept_reporting
from emulator.devices.events import (
    AlertRaised,
    CommandRefused,
    DeviceLogChanged,
    DeviceUnreachable,
    ImageDistributed,
    Joined,
    JoinPermitted,
)
from emulator.devices.firmware import FUTURE_DATED_FIRMWARE_ALERT, FirmwareState
from emulator.devices.gpf import Gpf
from emulator.devices.key_establishment import ChfKeyEstablishment
from emulator.devices.usecase_handlers import asn1_response
from emulator.gbcs import asn1, dlms, frames, obis
from emulator.gbcs.credentials import credentials_alert_code
from emulator.gbcs.dlms_datetime import DlmsDateTime
from emulator.gbcs.errors import FrameError, GbcsError
from emulator.gbcs.frames import Cra
from emulator.gbcs.gbz import EPOCH_2000
from emulator.gbcs.identities import ACB
from emulator.zigbee import ota_file, zcl
from emulator.zigbee.clusters import ota, tunneling
from emulator.zigbee.errors import ZigbeeError
from emulator.zigbee.packet import CLUSTER_KEY_ESTABLISHMENT, CLUSTER_OTA, CLUSTER_TUNNELING, HanPacket

CCS01_ADD = 0x0001
CCS02_REMOVE = 0x0002
ALERT_DEVICE_LOG_CHANGED = 0x8F12
CS14_DEVICE_LOG_ALERT = 0x0018
ALERT_TRANSFER_FAIL = 0x8F89
ALERT_TRANSFER_SUCCESS = 0x8F8A
CCS08_FIRMWARE_TRANSFER_ALERT = 0x0128
NETWORK_CONTROL_CLASS = 104  # ZigBee network control: the device log (CCS01..CCS07)
# A device in the log may join whenever it comes (IC-1: installed, never commissioned, joins
# months later). Radios whose permits are time-bounded renew them in their adapter.
PERMIT_SECONDS = float("inf")
RESEND_S = 5.0
MAX_TRIES = 6
ALERT_RESEND_S = 30.0  # an alert the DSP has not acknowledged goes up again this often (WN-1)
REMEMBERED_COMMANDS = 10_000  # the answer cache's bound, per kind of device (a backstop to the times below)
#: How long an answer is kept for a repeat of its command. The DSP re-sends a command until its
#: deadline: 25 s on demand (RESPONSE_TIMEOUT_S of the DSP core), an hour for a GSME, which answers
#: when it next wakes. Kept a little longer than that, then dropped: kept up to the count bound, a
#: fleet read at 1,200 SRV/s held ~1.7 GB more each hour, and the premises were no longer cheap.
ANSWER_KEEP_S = 120.0
SLEEPY_ANSWER_KEEP_S = 3600.0 + 600.0
METERING = 0x0702
#: CCS01 device type enum -> device kind (GBCS DeviceType, as CS03/CS07 number them).
DEVICE_TYPES = {0: "GSME", 1: "ESME", 2: "CHF", 3: "GPF", 4: "HCALCS", 5: "PPMID", 6: "TYPE2"}
# CCS08 response codes.
TRANSFER_SUCCESS, IMAGE_DISCARDED, HARDWARE_MISMATCH, TRANSFER_FAILURE = 0, 1, 2, 3
#: The journeys' SRV 8.11 body key ``device_type`` (an emulator shorthand, not DUIS): ESME 0,
#: GSME 1, ... The CCS01 builder turns it into the GBCS enumeration above.
DEVICE_TYPE_CODES = {"ESME": 0, "GSME": 1, "PPMID": 2, "HCALCS": 3, "GPF": 5}


@dataclass(slots=True)
class HeldFirmware:
    data: bytes
    manufacturer_code: int
    image_type: int
    file_version: int
    targets: set[bytes] = field(default_factory=set)


@dataclass(slots=True)
class Outstanding:
    wire: bytes
    deadline: float
    tries: int


#: A command from the WAN: its digest, the answer that went up as (wire, device, counter) or None
#: while there is none, and until when it is kept. Atomic values only, so the garbage collector
#: stops tracking it: a worker keeps thousands, and as objects they were most of what each full
#: collection walked.
Answered = tuple[bytes, tuple[bytes, bytes, int] | None, float]


@dataclass(slots=True)
class UnackedAlert:
    frame: WanFrame
    resend_at: float


class Chf:
    def __init__(self, eui: bytes, endpoint: GbcsEndpoint, firmware_version: bytes, gpf: Gpf | None = None,
                 alert_target: bytes | None = None) -> None:
        self.eui = eui
        self.endpoint = endpoint
        self.firmware = FirmwareState(firmware_version)
        self.gpf = gpf
        self.device_log = DeviceLog()
        self.kinds: dict[bytes, str] = {}
        self.nwk: dict[bytes, int] = {}
        self.tunnels: dict[bytes, int] = {}  # ESME tunnels (CHF is client) and GSME tunnels (CHF is server)
        # Commands waiting for their device (a GSME's GET, an ESME's tunnel): (frame, its counter), decoded once.
        self.queues: dict[bytes, deque[tuple[bytes, int]]] = {}
        self.images: list[HeldFirmware] = []
        self.alert_target = alert_target or endpoint.trust.slots["supplier"]
        self._seq = 0
        self._next_tunnel = 1
        # Commands handed to a device and not yet answered, by (device, counter). A lost frame on
        # the HAN is re-sent; the meter answers an exact repeat from its cache.
        self.outstanding: dict[tuple[bytes, int], Outstanding] = {}
        # Commands from the WAN by (target, counter, originator): a byte-identical repeat is answered
        # from here; a response going up is remembered here for such a repeat. Oldest first, one
        # memory per keeping time (so the hour a GSME's answer is kept never holds an ESME's back).
        self.answered: OrderedDict[tuple[bytes, int, bytes], Answered] = OrderedDict()
        self.answered_sleepy: OrderedDict[tuple[bytes, int, bytes], Answered] = OrderedDict()
        # Alerts sent up and not yet acknowledged by the DSP, by frame id.
        self.unacked: dict[str, UnackedAlert] = {}
        #: The largest ZCL frame the HAN radio carries (None: no limit known); the adapter tells.
        self.max_han_payload: int | None = None
        # CBKE responder (docs/cbke.md): None keeps the install-code join alone, as before.
        self.key_establishment: ChfKeyEstablishment | None = None

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFF
        return self._seq

    def _packet(self, dst: bytes, cluster: int, payload: bytes) -> HanPacket:
        return HanPacket(self.eui, dst, cluster, payload, src_nwk=0x0000, dst_nwk=self.nwk.get(dst, 0xFFFE))

    # --- WAN side --------------------------------------------------------------------------
    def on_wan_command(self, wire: bytes, now: float) -> Output:
        try:
            msg = frames.decode(wire)
        except FrameError as e:
            return Output(events=[CommandRefused(self.eui, now, f"malformed frame from the WAN: {e}", 0)])
        key, digest = (msg.target, msg.counter, msg.originator), hashlib.blake2b(wire, digest_size=16).digest()
        answers, keep_s = self._answers(msg.target)
        seen = answers.get(key)
        if seen is not None and seen[0] == digest and seen[2] >= now:
            # The DSP sent it again (WN-1: our answer was lost): answer again, never run it twice.
            answer = seen[1]
            return Output(wan=[WanFrame(answer[0], "response", answer[1], answer[2])] if answer is not None else [])
        _forget_old(answers, now)
        answers[key] = (digest, None, now + keep_s)
        answers.move_to_end(key)  # a command sent again after its answer was dropped: newest again
        target = msg.target
        if target == self.eui:
            out = self._own_command(wire, now)
        elif self.gpf is not None and target == self.gpf.eui:
            out = self.gpf.on_gbcs(wire, now)
        elif target not in self.device_log or target not in self.nwk:
            why = "not in the device log" if target not in self.device_log else "in the device log but not joined"
            out = Output(events=[DeviceUnreachable(self.eui, now, target, msg.counter, why)])
        else:
            out = self._to_device(target, wire, msg.counter, now)
        if out.events and any(isinstance(e, DeviceUnreachable) for e in out.events):
            del answers[key]  # never delivered: a later copy (the device has joined since) goes down
        return self._going_up(out, now, msg.originator)

    def _answers(self, target: bytes) -> tuple[OrderedDict[tuple[bytes, int, bytes], Answered], float]:
        """The answer memory for commands to ``target``, and how long it keeps one."""
        if self.kinds.get(target) == "GSME":
            return self.answered_sleepy, SLEEPY_ANSWER_KEEP_S
        return self.answered, ANSWER_KEEP_S

    def _going_up(self, out: Output, now: float, recipient: bytes) -> Output:
        """Remember what goes up: a response (to ``recipient``) for a repeated command, an
        alert until the DSP acknowledges it."""
        for frame in out.wan:
            if frame.kind == "alert":
                self.unacked[frame.id] = UnackedAlert(frame, now + ALERT_RESEND_S)
            else:
                key = (frame.device, frame.counter, recipient)
                answers, _ = self._answers(frame.device)
                seen = answers.get(key)
                if seen is not None:
                    answers[key] = (seen[0], (frame.wire, frame.device, frame.counter), seen[2])
        return out

    def wan_acknowledged(self, ids: list[str]) -> None:
        """The DSP stored these alerts: stop sending them."""
        for frame_id in ids:
            self.unacked.pop(frame_id, None)

    def _to_device(self, target: bytes, wire: bytes, counter: int, now: float | None = None) -> Output:
        """Send ``wire`` (GBCS counter ``counter``, as the WAN side decoded it) down, or queue it."""
        kind = self.kinds.get(target, "ESME")
        if kind == "GSME" or target not in self.tunnels:
            self.queues.setdefault(target, deque()).append((wire, counter))
            return Output()
        frame = tunneling.TransferDataClient(self.tunnels[target], wire).encode(self._next_seq())
        limit = self.max_han_payload
        if limit is not None and len(frame) > limit:
            reason = f"the command needs a {len(frame)}-byte HAN frame and this radio carries at most {limit}"
            return Output(events=[DeviceUnreachable(self.eui, now or 0.0, target, counter, reason)])
        self._track(target, wire, counter, now)
        return Output(han=[self._packet(target, CLUSTER_TUNNELING, frame)])

    def _track(self, target: bytes, wire: bytes, counter: int, now: float | None) -> None:
        if now is None:
            return
        entry = self.outstanding.get((target, counter))
        self.outstanding[(target, counter)] = Outstanding(wire, now + RESEND_S, entry.tries + 1 if entry else 1)

    def handle_timer(self, now: float) -> Output:
        out = self._due(now)
        for alert in self.unacked.values():
            if alert.resend_at <= now:
                alert.resend_at = now + ALERT_RESEND_S
                out.wan.append(alert.frame)
        for key, entry in list(self.outstanding.items()):
            target = key[0]
            if entry.deadline > now:
                continue
            if entry.tries >= MAX_TRIES or target not in self.nwk:
                del self.outstanding[key]
                continue
            if self.kinds.get(target) == "GSME":  # delivered again at its next GET
                self.queues.setdefault(target, deque()).appendleft((entry.wire, key[1]))
                self.outstanding[key] = Outstanding(entry.wire, now + RESEND_S * 20, entry.tries + 1)
            else:
                out.extend(self._to_device(target, entry.wire, key[1], now))
        return out

    def get_timer(self) -> float | None:
        # Asked after every frame: the deadlines are listed only when there are some (a generator
        # and min() per call cost more than the usual one or two entries).
        pending = self.endpoint.trust.pending
        outstanding = min([e.deadline for e in self.outstanding.values()]) if self.outstanding else None
        unacked = min([a.resend_at for a in self.unacked.values()]) if self.unacked else None
        return earliest(outstanding, unacked, self.firmware.activation_at, pending[0] if pending else None)

    def _due(self, now: float) -> Output:
        """The hub's own future-dated CS06 / CS02b whose time has come, alerted as a meter does."""
        out = Output()
        done = self.firmware.due_activation(now)
        if done is not None:
            out.extend(self.raise_alert(done.alert_code, now, done.alert_payload(), critical=True,
                                        message_code=FUTURE_DATED_FIRMWARE_ALERT, target=done.originator))
        update = due_update_alert(self, now)
        if update is not None:
            payload, originator = update
            code = asn1.decode(payload).children[0].int()  # type: ignore[index]
            out.extend(self.raise_alert(code, now, payload, critical=True, message_code=credentials_alert_code(payload),
                                        target=originator))
        return out

    def _own_command(self, wire: bytes, now: float) -> Output:
        msg, events = accept_reporting(self.endpoint, wire, now)
        out = Output(events=events)
        if msg is None:  # refused: not answered, alerted (0x8F3D / 0x8F30) as a meter does
            refused = next((e for e in events if isinstance(e, CommandRefused)), None)
            if refused is not None and refused.alert_code:
                out.extend(self.raise_alert(refused.alert_code, now))
            return out
        if msg.message_code in (CCS01_ADD, CCS02_REMOVE):
            payload = self._device_log_command(msg.message_code, msg.payload, msg.counter, now, out)
        elif msg.payload[:1] == bytes((dlms.ACCESS_REQUEST,)):
            payload = self._dlms_generic(msg.payload, msg.counter, now)
        else:
            payload = asn1_response(self, msg, now)
        out.wan.append(WanFrame(self.endpoint.respond(msg, payload, now), "response", self.eui, msg.counter))
        for code in self.endpoint.take_alerts():
            out.extend(self.raise_alert(code, now, critical=True))
        return out

    def _network_control(self, spec: dlms.RequestSpec, arg: dlms.Data, now: float) -> tuple[dlms.Data, int]:
        """The CHF's device-log reads and restore: CCS04/05/06 (Get 4), CCS07 (Action 4 on the CHF's
        and the GPF's object), CCS03 (Action 5). Returns (data, result code)."""
        if spec.kind == dlms.GET and spec.obis == obis.ZIGBEE_NETWORK_CONTROL:
            return log_statistics(self.device_log, now), 0
        if spec.kind == dlms.ACTION and spec.attribute == 4:
            entries = list(self.device_log.entries.values())
            if spec.obis == obis.GPF_NETWORK_CONTROL:  # the GPF's partners: the gas devices
                entries = [e for e in entries if e.device_type in ("GSME", "PPMID")]
            return security_details(entries, self.eui, now), 0
        if spec.kind == dlms.ACTION and spec.attribute == 5 and arg.type == "structure":
            try:
                for row in arg.value[1].value:
                    eui, key = bytes(row.value[0].value), bytes(row.value[1].value)
                    self.device_log.restore(eui, self.kinds.get(eui, "ESME"), key, now)
            except (DeviceLogError, IndexError, TypeError, AttributeError):
                return dlms.NULL, 1
            return dlms.NULL, 0
        return dlms.NULL, 250

    def _dlms_generic(self, payload: bytes, counter: int, now: float = 0.0) -> bytes:
        invoke = dlms.invoke_id_for(counter)
        try:
            req = dlms.decode_access_request(payload)
        except GbcsError:
            return dlms.AccessResponse(invoke, (dlms.NULL,), ((dlms.GET, 250),)).encode()
        data, results = [], []
        for spec in req.specs:
            if spec.kind == dlms.GET and spec.class_id == 1 and spec.obis == obis.FIRMWARE_VERSION:
                data.append(dlms.Data("octet-string", self.firmware.version))
                results.append((spec.kind, 0))
            elif spec.class_id == NETWORK_CONTROL_CLASS and spec.attribute in (4, 5):
                value, result = self._network_control(spec, req.data[len(results)] if len(req.data) > len(results)
                                                      else dlms.NULL, now)
                data.append(value)
                results.append((spec.kind, result))
            else:
                data.append(dlms.NULL)
                results.append((spec.kind, 0 if spec.kind != dlms.GET else 4))
        return dlms.AccessResponse(invoke, tuple(data), tuple(results)).encode()

    def _device_log_command(self, code: int, payload: bytes, counter: int, now: float, out: Output) -> bytes:
        invoke = dlms.invoke_id_for(counter)
        try:
            req = dlms.decode_access_request(payload)
            first = req.data[0]
            if first.type == "octet-string":  # CCS02 names the device only
                eui, kind, raw_code = bytes(first.value), "ESME", b""
            else:  # CCS01 entry: {eui, device type, install code, ...}
                entry = next(d for d in req.data if d.type == "structure")
                eui = bytes(entry.value[0].value)
                kind = DEVICE_TYPES.get(int(entry.value[1].value), "ESME") if len(entry.value) > 1 else "ESME"
                raw_code = bytes(entry.value[2].value) if len(entry.value) > 2 else b""
        except (GbcsError, StopIteration, IndexError, TypeError, ValueError) as e:
            out.events.append(CommandRefused(self.eui, now, f"device log command not understood: {e}", 0, counter))
            return dlms.AccessResponse(invoke, (dlms.NULL,), ((dlms.ACTION, 250),)).encode()
        n = max(1, len(req.specs))
        try:
            if code == CCS01_ADD:
                install_code = install_code_from_ccs01(eui, raw_code)
                log_entry = self.device_log.add(eui, kind, install_code, now)
                self.kinds[eui] = kind
                out.events.append(JoinPermitted(self.eui, now, eui, log_entry.link_key, PERMIT_SECONDS))
            else:
                self.device_log.remove(eui)
                self.nwk.pop(eui, None)
                self.tunnels.pop(eui, None)
        except DeviceLogError as e:
            out.events.append(CommandRefused(self.eui, now, str(e), 0, counter))
            # Removing a device not in the log: action result 1, as the reference's CCS02 error.
            refused = 250 if code == CCS01_ADD else e.code
            results = tuple((s.kind, refused) for s in req.specs) or ((dlms.ACTION, refused),)
            return dlms.AccessResponse(invoke, tuple(dlms.NULL for _ in results), results).encode()
        out.events.append(DeviceLogChanged(self.eui, now, eui, code == CCS01_ADD))
        out.extend(self.device_log_alert(now))
        return dlms.AccessResponse(invoke, tuple(dlms.NULL for _ in range(n)),
                                   tuple((s.kind, 0) for s in req.specs) or ((dlms.ACTION, 0),)).encode()

    def raise_alert(self, code: int, now: float, payload: bytes | None = None, *, critical: bool = False,
                    message_code: int | None = None, target: bytes | None = None) -> Output:
        body = payload if payload is not None else dlms.DataNotification(
            dlms.invoke_id_for(self.endpoint.alert_counter.value + 1), code,
            DlmsDateTime.from_epoch(now).encode()).encode()
        counter, wire = self.endpoint.alert(body, now, critical=critical, message_code=message_code,
                                            target=target or self.alert_target)
        frame = WanFrame(wire, "alert", self.eui, counter)
        self.unacked[frame.id] = UnackedAlert(frame, now + ALERT_RESEND_S)
        return Output(wan=[frame], events=[AlertRaised(self.eui, now, code, critical, counter)])

    def device_log_alert(self, now: float) -> Output:
        """CS14 (message 0x0018, alert 0x8F12): the device log changed; the content is the log as
        CCS07 reads it (time, network id, each device with its link key), to the DCC (ACB), as in
        the reference alert."""
        timestamp = DlmsDateTime.from_epoch(now).encode()
        log = security_details(list(self.device_log.entries.values()), self.eui, now)
        invoke = dlms.invoke_id_for(self.endpoint.alert_counter.value + 1)
        body = dlms.DataNotification(invoke, ALERT_DEVICE_LOG_CHANGED, timestamp, (log,)).encode()
        return self.raise_alert(ALERT_DEVICE_LOG_CHANGED, now, body, message_code=CS14_DEVICE_LOG_ALERT, target=ACB)

    def add_image(self, data: bytes, targets: set[bytes], now: float) -> Output:
        """Firmware distributed to the hub (SRV 11.1): hold it and tell its targets."""
        f = ota_file.decode(data)  # raises OtaFileError naming the problem
        held = HeldFirmware(data, f.header.manufacturer_code, f.header.image_type, f.header.file_version,
                            set(targets))
        self.images = [i for i in self.images if (i.manufacturer_code, i.image_type) != (
            held.manufacturer_code, held.image_type)] + [held]
        out = Output(events=[ImageDistributed(self.eui, now, held.file_version, tuple(sorted(targets)))])
        for eui in sorted(targets):
            if eui in self.nwk:
                notify = ota.ImageNotify(3, 100, held.manufacturer_code, held.image_type, held.file_version)
                out.han.append(self._packet(eui, CLUSTER_OTA, notify.encode(self._next_seq())))
        return out

    # --- HAN side --------------------------------------------------------------------------
    def resume(self, now: float) -> Output:
        """Starting (again): every device in the log may join, as when it was added (a restored log)."""
        return Output(events=[JoinPermitted(self.eui, now, e.eui, e.link_key, PERMIT_SECONDS)
                              for e in self.device_log.entries.values()])

    def device_joined(self, eui: bytes, nwk: int, now: float) -> Output:
        self.device_log.joined(eui, nwk)
        self.nwk[eui] = nwk
        out = Output(events=[Joined(eui, now, nwk)])
        # With CBKE on, the tunnel opens once CBKE gives a key (_on_key_establishment). The join report
        # may come after the exchange on a real radio, so it leaves the key alone (a leave forgets it).
        if self.key_establishment is None and self.kinds.get(eui) != "GSME":
            out.han.append(self._packet(eui, CLUSTER_TUNNELING, tunneling.RequestTunnel().encode(self._next_seq())))
        return out

    def device_left(self, eui: bytes, now: float) -> Output:
        self.device_log.left(eui)
        self.nwk.pop(eui, None)
        self.tunnels.pop(eui, None)
        if self.key_establishment is not None:
            self.key_establishment.forget(eui)
        return Output()

    def on_packet(self, packet: HanPacket, now: float) -> Output:
        try:
            header, command = zcl.decode_command(packet.cluster, packet.payload)
        except ZigbeeError as e:
            reason = f"malformed ZCL frame from {packet.src.hex()}: {e}"
            return Output(events=[CommandRefused(self.eui, now, reason, 0)])
        src = packet.src
        if packet.src_nwk != 0xFFFE:
            self.nwk.setdefault(src, packet.src_nwk)
        if self.key_establishment is not None:
            if packet.cluster == CLUSTER_KEY_ESTABLISHMENT:
                return self._on_key_establishment(packet, header.sequence, command, now)
            refused = self.key_establishment.gate(packet, now)
            if refused is not None:
                return refused
        if packet.cluster == CLUSTER_TUNNELING and (header.disable_default_response or not header.cluster_specific):
            return self._on_tunnel(src, command, now)  # (an ESME's answer: no default response to add to)
        out = Output()
        if not header.disable_default_response and header.cluster_specific:
            out.han.append(self._packet(src, packet.cluster, zcl.default_response(header)))
        if packet.cluster == CLUSTER_TUNNELING:
            return out.extend(self._on_tunnel(src, command, now))
        if packet.cluster == CLUSTER_OTA:
            return out.extend(self._on_ota(src, command, now))
        if packet.cluster == METERING and self.gpf is not None and header.command_id == 0x0A and \
                isinstance(command, bytes) and self.kinds.get(src) == "GSME":
            self.gpf.update_mirror(METERING, command, now)
        return out

    def _on_key_establishment(self, packet: HanPacket, sequence: int, command: zcl.ZclCommand | bytes,
                              now: float) -> Output:
        assert self.key_establishment is not None
        out, established = self.key_establishment.on_packet(
            packet, command, sequence, now, lambda dst, frame: self._packet(dst, CLUSTER_KEY_ESTABLISHMENT, frame))
        if established and self.kinds.get(packet.src) != "GSME":  # GBCS: the tunnel follows CBKE
            out.han.append(self._packet(packet.src, CLUSTER_TUNNELING,
                                        tunneling.RequestTunnel().encode(self._next_seq())))
        return out

    def _up(self, src: bytes, gbcs: bytes, now: float) -> Output:
        try:
            msg = frames.decode(gbcs)
        except FrameError as e:
            return Output(events=[CommandRefused(self.eui, now, f"malformed GBCS from {src.hex()}: {e}", 0)])
        kind = "alert" if msg.cra is Cra.ALERT else "response"
        if kind == "response":
            self.outstanding.pop((src, msg.counter), None)
        return self._going_up(Output(wan=[WanFrame(gbcs, kind, src, msg.counter)]), now, msg.target)

    def _on_tunnel(self, src: bytes, command: zcl.ZclCommand | bytes, now: float) -> Output:
        out = Output()
        if isinstance(command, tunneling.RequestTunnelResponse) and command.tunnel_status == 0:
            self.tunnels[src] = command.tunnel_id  # ESME tunnel open: flush what waited for it
            for wire, counter in self._drain(src):
                out.extend(self._to_device(src, wire, counter, now))
        elif isinstance(command, tunneling.TransferDataServer):  # from an ESME
            return self._up(src, command.data, now)
        elif isinstance(command, tunneling.RequestTunnel):  # a GSME opens its tunnel
            self.tunnels[src] = self._next_tunnel
            self._next_tunnel += 1
            rsp = tunneling.RequestTunnelResponse(self.tunnels[src])
            out.han.append(self._packet(src, CLUSTER_TUNNELING, rsp.encode(self._next_seq())))
        elif isinstance(command, tunneling.TransferDataClient):  # GSME GET / PUT
            try:
                kind, _, body = tunneling.split_gb_header(command.data)
            except ZigbeeError:
                return out
            if kind == tunneling.GB_PUT:
                out.extend(self._up(src, body, now))
            elif kind == tunneling.GB_GET:
                queue = self.queues.get(src) or deque()
                wire = b""
                if queue:
                    wire, counter = queue.popleft()
                    self._track(src, wire, counter, now)
                data = tunneling.gb_get_response(wire, len(queue))
                frame = tunneling.TransferDataServer(command.tunnel_id, data).encode(self._next_seq())
                out.han.append(self._packet(src, CLUSTER_TUNNELING, frame))
        return out

    def _drain(self, eui: bytes) -> list[tuple[bytes, int]]:
        queue = self.queues.pop(eui, deque())
        return list(queue)

    def _image_for(self, src: bytes, mfr: int, image_type: int) -> HeldFirmware | None:
        for img in self.images:
            if (img.manufacturer_code, img.image_type) == (mfr, image_type) and src in img.targets:
                return img
        return None

    def _on_ota(self, src: bytes, command: zcl.ZclCommand | bytes, now: float) -> Output:
        out = Output()
        if isinstance(command, ota.QueryNextImage):
            img = self._image_for(src, command.manufacturer_code, command.image_type)
            if img is None or img.file_version == command.current_file_version:
                rsp = ota.QueryNextImageResponse(ota.NO_IMAGE_AVAILABLE)
            else:
                rsp = ota.QueryNextImageResponse(ota.SUCCESS, img.manufacturer_code, img.image_type,
                                                 img.file_version, len(img.data))
            out.han.append(self._packet(src, CLUSTER_OTA, rsp.encode(self._next_seq())))
        elif isinstance(command, ota.ImageBlockRequest):
            img = self._image_for(src, command.manufacturer_code, command.image_type)
            if img is None or img.file_version != command.file_version or command.file_offset > len(img.data):
                block = ota.ImageBlockResponse(ota.ABORT)
            else:
                chunk = img.data[command.file_offset:command.file_offset + min(command.maximum_data_size, 64)]
                block = ota.ImageBlockResponse(ota.SUCCESS, img.manufacturer_code, img.image_type,
                                               img.file_version, command.file_offset, chunk)
            out.han.append(self._packet(src, CLUSTER_OTA, block.encode(self._next_seq())))
        elif isinstance(command, ota.UpgradeEndRequest):
            ok = command.status == ota.SUCCESS
            # ZCL UTCTime counts seconds from 2000-01-01; upgrade time "wait": GBCS activates by CS06 only.
            rsp_end = ota.UpgradeEndResponse(command.manufacturer_code, command.image_type, command.file_version,
                                             max(0, int(now) - EPOCH_2000), ota.UPGRADE_WAIT)
            out.han.append(self._packet(src, CLUSTER_OTA, rsp_end.encode(self._next_seq())))
            # CCS08: the hub reports the transfer's outcome; the entity id names the device, not the hub.
            result = TRANSFER_SUCCESS if ok else (IMAGE_DISCARDED if command.status == ota.INVALID_IMAGE
                                                  else TRANSFER_FAILURE)
            body = asn1.firmware_transfer_alert(ALERT_TRANSFER_SUCCESS if ok else ALERT_TRANSFER_FAIL, now, src,
                                                command.file_version.to_bytes(4, "big"), result)
            out.extend(self.raise_alert(ALERT_TRANSFER_SUCCESS if ok else ALERT_TRANSFER_FAIL, now, body,
                                        critical=True, message_code=CCS08_FIRMWARE_TRANSFER_ALERT, target=ACB))
        return out


def _forget_old(answers: OrderedDict[tuple[bytes, int, bytes], Answered], now: float) -> None:
    """Drop the answers kept long enough, oldest first (one keeping time per memory, so the
    oldest is also the first due), and the oldest beyond :data:`REMEMBERED_COMMANDS`."""
    while answers:
        first = next(iter(answers.values()))
        if first[2] >= now and len(answers) < REMEMBERED_COMMANDS:
            return
        answers.popitem(last=False)
