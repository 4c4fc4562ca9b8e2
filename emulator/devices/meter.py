"""What ESME and GSME share: the HAN side of a meter (tunnel, alerts, OTA client) around
an application that answers GBCS commands (DV-1, DV-5, DV-6).

Theory of operation. GBCS travels in the SE Tunneling cluster. Towards an ESME the CHF
is the tunnel client: it opens the tunnel and sends commands as Transfer Data; the
ESME answers on the same tunnel. A GSME sleeps: it opens its own tunnel to the CHF,
and on each wake sends GET to collect one queued command, and PUT to send a response
or an alert. Alerts are sent with ZCL default responses enabled; the CHF's Default
Response is the acknowledgement that stops the retries. Firmware comes over the OTA
Upgrade cluster, the meter as client: it fetches the offered image block by block from
its current offset (so an interrupted transfer resumes), verifies the manufacturer's
signature, holds the image and reports by alert; CS06 activates it. When it joins, the
coordinator interviews it: ZDO descriptors (:meth:`Meter.zdo_descriptor`), then ZCL Read
Attributes on Basic (make, model, power source) and on the OTA client (firmware version),
which the meter answers itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from cryptography.hazmat.primitives.asymmetric import ec

from emulator.devices import alerts
from emulator.devices.alerts import AlertContext, AlertOutbox
from emulator.devices.base import Output, earliest
from emulator.devices.credentials import due_update_alert
from emulator.devices.endpoint import GbcsEndpoint, Refused
from emulator.devices.events import (
    AlertAcknowledged,
    AlertRaised,
    AlertRetried,
    CommandAccepted,
    CommandRefused,
    FirmwareActivated,
    FirmwareBlockReceived,
    FirmwareTransferEnded,
)
from emulator.devices.firmware import (
    ALERT_VERIFICATION_FAILED,
    FUTURE_DATED_FIRMWARE_ALERT,
    Download,
    FirmwareState,
    HeldImage,
)
from emulator.devices.key_establishment import KeyEstablished, MeterKeyEstablishment
from emulator.gbcs import asn1, security
from emulator.gbcs.credentials import credentials_alert_code
from emulator.gbcs.frames import Message
from emulator.zigbee import ota_file, zcl
from emulator.zigbee.clusters import ota
from emulator.zigbee.errors import OtaFileError, ZigbeeError
from emulator.zigbee.packet import CLUSTER_KEY_ESTABLISHMENT, CLUSTER_OTA, CLUSTER_TUNNELING, HanPacket
from emulator.zigbee.status import ZclStatus
from emulator.zigbee.zcl import AttributeValue, DataType, ReadAttributeRecord
from emulator.zigbee.zdo import CLUSTER_BASIC, DeviceDescriptor, meter_descriptor

OTA_RETRY_S = 5.0
OTA_QUERY_PERIOD_S = 600.0  # a mains meter also asks for new images on its own timer (ZCL OTA client)
DEFAULT_BLOCK_SIZE = 50  # zigpy's cap; configurable up to ~64 (zigbee.md section 6)
ALERT_FIRMWARE_RECEIPT = 0x8F72  # Firmware Verification Successful: the distribution receipt (FDRA)

# Basic cluster attributes a coordinator reads at join (zigpy: manufacturer and model).
BASIC_ZCL_VERSION = 0x0000
BASIC_MANUFACTURER_NAME = 0x0004
BASIC_MODEL_IDENTIFIER = 0x0005
BASIC_POWER_SOURCE = 0x0007
ZCL_VERSION = 3
POWER_SOURCE_MAINS = 1
POWER_SOURCE_BATTERY = 3
MANUFACTURER_NAME = "smets2-emu"  # profiles carry a manufacturer code but no name


class Meter(ABC):
    """The HAN shell of a meter. Subclasses implement :meth:`execute` (the application)."""

    KIND = "meter"
    SLEEPY = False

    def __init__(self, eui: bytes, endpoint: GbcsEndpoint, chf: bytes, firmware_version: bytes,
                 manufacturer_code: int, image_type: int, manufacturer_key: ec.EllipticCurvePublicKey | None,
                 block_size: int = DEFAULT_BLOCK_SIZE) -> None:
        self.eui = eui
        self.endpoint = endpoint
        self.chf = chf
        self.nwk = 0xFFFE
        self.chf_nwk = 0x0000
        self.firmware = FirmwareState(firmware_version)
        self.manufacturer_code = manufacturer_code
        self.image_type = image_type
        self.manufacturer_key = manufacturer_key
        self.block_size = block_size
        self.outbox = AlertOutbox()
        self.tunnel_id: int | None = None
        self._seq = 0
        self._alert_by_seq: dict[int, int] = {}
        self.offered: ota.QueryNextImageResponse | None = None
        self.ota_deadline: float | None = None
        self.next_query: float | None = None
        self._last_command: bytes = b""
        self._last_response: bytes | None = None
        self.querying = False
        # CBKE initiator (docs/cbke.md): None keeps the install-code join alone, as before.
        self.key_establishment: MeterKeyEstablishment | None = None

    # --- helpers -------------------------------------------------------------------------
    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFF
        return self._seq

    def _packet(self, cluster: int, payload: bytes) -> HanPacket:
        return HanPacket(self.eui, self.chf, cluster, payload, src_nwk=self.nwk, dst_nwk=self.chf_nwk)

    def file_version(self) -> int:
        return int.from_bytes(self.firmware.version, "big")

    def zdo_descriptor(self) -> DeviceDescriptor:
        """What the meter answers to ZDO discovery (node descriptor, SE endpoint 1)."""
        return meter_descriptor(self.eui, self.nwk, self.KIND, self.manufacturer_code)

    @abstractmethod
    def execute(self, msg: Message, now: float) -> bytes:
        """The response payload for an accepted command."""

    def alert_payload(self, code: int, now: float) -> bytes:
        """The payload of an alert with ``code`` (DLMS for ESME, GBZ for GSME): :meth:`alert_body`."""
        return self.alert_body(code, now)

    @abstractmethod
    def tunnel_frame(self, gbcs: bytes, *, ack: bool) -> bytes:
        """A ZCL Transfer Data frame carrying ``gbcs`` towards the CHF."""

    # --- GBCS ---------------------------------------------------------------------------
    def on_gbcs(self, wire: bytes, now: float) -> Output:
        """A command arrived (through the tunnel): check it, act, answer."""
        out = Output()
        if wire == self._last_command and self._last_response is not None:
            # The CHF re-sent a command we answered (our answer was lost): answer it again, do not redo it.
            out.han.append(self._packet(CLUSTER_TUNNELING, self.tunnel_frame(self._last_response, ack=False)))
            return out
        try:
            msg = self.endpoint.accept(wire)
        except Refused as r:
            out.events.append(CommandRefused(self.eui, now, r.reason, r.alert_code,
                                             r.msg.counter if r.msg else None))
            if r.alert_code:
                out.extend(self.raise_alert(r.alert_code, now))
            return out
        out.events.append(CommandAccepted(self.eui, now, msg.message_code, msg.counter, msg.originator))
        before = self.firmware.version
        payload = self.execute(msg, now)
        if self.firmware.version != before:
            out.events.append(FirmwareActivated(self.eui, now, before, self.firmware.version))
        response = self.endpoint.respond(msg, payload, now)
        self._last_command, self._last_response = wire, response
        out.han.append(self._packet(CLUSTER_TUNNELING, self.tunnel_frame(response, ack=False)))
        for code in self.endpoint.take_alerts():  # alerts the command's outcome calls for (e.g. 8F4D)
            out.extend(self.raise_alert(code, now))
        return out

    def raise_alert(self, code: int, now: float, payload: bytes | None = None, *,
                    message_code: int | None = None, critical: bool | None = None) -> Output:
        return self.raise_alert_to(None, code, now, payload, message_code=message_code, critical=critical)

    def raise_alert_to(self, target: bytes | None, code: int, now: float, payload: bytes | None = None, *,
                       message_code: int | None = None, critical: bool | None = None) -> Output:
        """Send alert ``code`` to ``target`` (None: the supplier; a future-dated outcome goes to the
        command's originator): framed as GBCS defines it for this device type (its use case's
        message code and signing, :func:`emulator.devices.alerts.route`), with the body the use
        case defines unless ``payload`` is given."""
        how = alerts.route(self.KIND, code)
        crit = how.signed if critical is None else critical
        if payload is None:
            payload = self.alert_body(code, now)
        counter, wire = self.endpoint.alert(payload, now, critical=crit,
                                            message_code=how.message_code if message_code is None else message_code,
                                            target=target)
        self.outbox.sent(counter, code, wire, now)
        out = Output(events=[AlertRaised(self.eui, now, code, crit, counter)])
        out.han.append(self._alert_packet(counter, wire))
        return out

    def raise_alert_about(self, code: int, now: float, context: AlertContext) -> Output:
        """Send alert ``code`` whose content names ``context`` (the image received, the
        command a future-dated outcome is about, ...)."""
        return self.raise_alert(code, now, self.alert_body(code, now, context))

    def alert_context(self, code: int, now: float) -> AlertContext:
        """What an alert raised on its own names (subclasses add their registers)."""
        return AlertContext(originator=self.eui, recipient=self.endpoint.trust.slots.get("supplier", bytes(8)))

    def alert_body(self, code: int, now: float, context: AlertContext | None = None) -> bytes:
        """The alert's payload: DLMS for an ESME, GBZ for a GSME, with the use case's content."""
        how = alerts.route(self.KIND, code)
        ctx = context or self.alert_context(code, now)
        counter = alerts.next_counter(self.endpoint.alert_counter.value, now)
        recipient = self.endpoint.trust.slots.get("supplier", bytes(8))

        def encrypt(plain: bytes) -> bytes:
            return security.encrypt_part(self.endpoint.keys, self.eui, recipient, counter, plain)

        keys = self.endpoint.keys
        can = keys.has(self.eui, "ka", private=True) and keys.has(recipient, "ka")
        build = alerts.gbz_body if self.KIND == "GSME" else alerts.dlms_body
        return build(code, now, counter, how.body, ctx, encrypt if can else None)

    def _alert_packet(self, counter: int, wire: bytes) -> HanPacket:
        frame = self.tunnel_frame(wire, ack=True)
        header, _ = zcl.ZclHeader.decode(frame)
        self._alert_by_seq[header.sequence] = counter
        return self._packet(CLUSTER_TUNNELING, frame)

    # --- HAN ----------------------------------------------------------------------------
    def on_packet(self, packet: HanPacket, now: float) -> Output:
        """A frame from the CHF. Malformed frames are dropped with an event, never raised."""
        try:
            header, command = zcl.decode_command(packet.cluster, packet.payload)
        except ZigbeeError as e:
            return Output(events=[CommandRefused(self.eui, now, f"malformed ZCL frame: {e}", 0)])
        if self.key_establishment is not None:
            if packet.cluster == CLUSTER_KEY_ESTABLISHMENT:
                return self._on_key_establishment(command, now)
            refused = self.key_establishment.gate(packet, now)
            if refused is not None:
                return refused
        if zcl.is_default_response(header):  # an ack
            counter = self._alert_by_seq.pop(header.sequence, None)
            if counter is not None and self.outbox.acknowledged(counter):
                return Output(events=[AlertAcknowledged(self.eui, now, counter)])
            return Output()
        if (not header.cluster_specific and header.command_id == zcl.READ_ATTRIBUTES
                and packet.cluster in (CLUSTER_BASIC, CLUSTER_OTA) and isinstance(command, bytes)):
            return self.on_read_attributes(packet, header, command)
        if packet.cluster == CLUSTER_TUNNELING:
            return self.on_tunnel(command, now)
        if packet.cluster == CLUSTER_OTA:
            return self.on_ota(command, now)
        return Output()

    # --- CBKE (initiator) ------------------------------------------------------------------
    def start_key_establishment(self, now: float) -> Output:
        """Just joined: begin CBKE with the CHF (nothing when CBKE is off)."""
        if self.key_establishment is None:
            return Output()
        frames = self.key_establishment.start(now, self._next_seq())
        return Output(han=[self._packet(CLUSTER_KEY_ESTABLISHMENT, frame) for frame in frames])

    def _on_key_establishment(self, command: zcl.ZclCommand | bytes, now: float) -> Output:
        assert self.key_establishment is not None
        # Our next request (Ephemeral Data, Confirm Key Data) or Terminate: a new transaction number.
        frames, events = self.key_establishment.on_command(command, self._next_seq(), now)
        out = Output(han=[self._packet(CLUSTER_KEY_ESTABLISHMENT, frame) for frame in frames], events=events)
        if self.key_establishment.established and any(isinstance(e, KeyEstablished) for e in events):
            out.extend(self.on_key_established(now))
        return out

    def _key_establishment_timer(self, now: float) -> Output:
        if self.key_establishment is None:
            return Output()
        retry, events = self.key_establishment.handle_timer(now)
        out = Output(events=events)
        return out.extend(self.start_key_establishment(now)) if retry else out

    def on_key_established(self, now: float) -> Output:
        """CBKE gave a link key: what the meter does next (a GSME opens its tunnel)."""
        return Output()

    @abstractmethod
    def on_tunnel(self, command: zcl.ZclCommand | bytes, now: float) -> Output: ...

    # --- attribute reads (the coordinator's interview) -----------------------------------
    def attribute_value(self, cluster: int, attribute_id: int) -> tuple[DataType, AttributeValue] | None:
        """(ZCL data type, value) of a Basic or OTA-client attribute, None if the meter has no such one."""
        if cluster == CLUSTER_BASIC:
            basic: dict[int, tuple[DataType, AttributeValue]] = {
                BASIC_ZCL_VERSION: (DataType.UINT8, ZCL_VERSION),
                BASIC_MANUFACTURER_NAME: (DataType.CHAR_STRING, MANUFACTURER_NAME),
                BASIC_MODEL_IDENTIFIER: (DataType.CHAR_STRING, self.KIND),
                BASIC_POWER_SOURCE: (DataType.ENUM8, POWER_SOURCE_BATTERY if self.SLEEPY else POWER_SOURCE_MAINS),
            }
            return basic.get(attribute_id)
        if cluster == CLUSTER_OTA:
            dl = self.firmware.download
            if dl is not None:
                status = ota.ImageUpgradeStatus.DOWNLOAD_IN_PROGRESS
            elif self.firmware.held is not None:
                status = ota.ImageUpgradeStatus.DOWNLOAD_COMPLETE  # verified, held for CS06
            else:
                status = ota.ImageUpgradeStatus.NORMAL
            client: dict[int, tuple[DataType, AttributeValue]] = {
                ota.Attribute.UPGRADE_SERVER_ID: (DataType.EUI64, self.chf),
                ota.Attribute.FILE_OFFSET: (DataType.UINT32, dl.offset if dl is not None else 0),
                ota.Attribute.CURRENT_FILE_VERSION: (DataType.UINT32, self.file_version()),
                ota.Attribute.IMAGE_UPGRADE_STATUS: (DataType.ENUM8, int(status)),
            }
            return client.get(attribute_id)
        return None

    def on_read_attributes(self, packet: HanPacket, header: zcl.ZclHeader, payload: bytes) -> Output:
        """Answer a Read Attributes request, whichever direction it came in (zigpy reads the
        OTA *client* cluster server-to-client), in the opposite direction on the same TSN."""
        try:
            ids = zcl.decode_read_attributes(payload)
        except ZigbeeError:
            return Output(han=[self._reply(packet, zcl.default_response(header, ZclStatus.MALFORMED_COMMAND))])
        records = []
        for attribute_id in ids:
            # A manufacturer-specific read names the manufacturer's attributes, of which we have none.
            found = None if header.manufacturer_specific else self.attribute_value(packet.cluster, attribute_id)
            records.append(ReadAttributeRecord.unsupported(attribute_id) if found is None
                           else ReadAttributeRecord(attribute_id, ZclStatus.SUCCESS, found[0], found[1]))
        return Output(han=[self._reply(packet, zcl.read_attributes_response(header, records))])

    def _reply(self, packet: HanPacket, payload: bytes) -> HanPacket:
        # Back to whoever asked, endpoints swapped, with the profile and APS security it used.
        return HanPacket(self.eui, packet.src, packet.cluster, payload, src_ep=packet.dst_ep, dst_ep=packet.src_ep,
                         profile=packet.profile, src_nwk=self.nwk, dst_nwk=packet.src_nwk,
                         aps_secured=packet.aps_secured)

    # --- OTA client ---------------------------------------------------------------------
    def query_next_image(self, now: float) -> HanPacket:
        self.querying = True
        self.ota_deadline = now + OTA_RETRY_S
        q = ota.QueryNextImage(0, self.manufacturer_code, self.image_type, self.file_version())
        return self._packet(CLUSTER_OTA, q.encode(self._next_seq()))

    def _block_request(self, offer: ota.QueryNextImageResponse, offset: int, now: float) -> HanPacket:
        # A lost request or response must not stall the transfer: ask again after OTA_RETRY_S.
        self.ota_deadline = now + OTA_RETRY_S
        req = ota.ImageBlockRequest(0, offer.manufacturer_code, offer.image_type, offer.file_version, offset,
                                    self.block_size)
        return self._packet(CLUSTER_OTA, req.encode(self._next_seq()))

    def on_ota(self, command: zcl.ZclCommand | bytes, now: float) -> Output:
        out = Output()
        if isinstance(command, ota.ImageNotify):
            out.han.append(self.query_next_image(now))
        elif isinstance(command, ota.QueryNextImageResponse) and command.status != ota.SUCCESS:
            self.querying, self.ota_deadline = False, None
        elif isinstance(command, ota.QueryNextImageResponse):
            self.querying = False
            held = self.firmware.held
            if held is not None and held.file_version == command.file_version:
                self.ota_deadline = None  # we already hold this image, verified: nothing to fetch
                return out
            dl = self.firmware.download
            if dl is None or dl.file_version != command.file_version or dl.size != command.image_size:
                self.firmware.download = dl = Download(command.manufacturer_code, command.image_type,
                                                       command.file_version, command.image_size)
            self.offered = command
            out.han.append(self._block_request(command, dl.offset, now))
        elif isinstance(command, ota.ImageBlockResponse):
            out.extend(self._on_block(command, now))
        # An Upgrade End Response never activates, whatever its upgrade time (0 = now included):
        # GBCS activates firmware only by CS06, so the image stays held until that command.
        return out

    def _on_block(self, rsp: ota.ImageBlockResponse, now: float) -> Output:
        out = Output()
        dl, offer = self.firmware.download, self.offered
        if dl is None or offer is None or rsp.status != ota.SUCCESS or rsp.file_version != dl.file_version:
            return out
        if dl.block(rsp.file_offset, rsp.data):
            out.events.append(FirmwareBlockReceived(self.eui, now, rsp.file_offset, len(rsp.data), dl.size))
        if not dl.complete:
            out.han.append(self._block_request(offer, dl.offset, now))
            return out
        self.ota_deadline = None
        return out.extend(self._finish_download(now))

    def _finish_download(self, now: float) -> Output:
        dl = self.firmware.download
        assert dl is not None  # only called with a complete download
        data = bytes(dl.data)
        self.firmware.download = None
        self.offered = None
        out = Output()
        try:
            if self.manufacturer_key is None:
                raise OtaFileError("no manufacturer key to verify the image with", field="signature")
            parsed = ota_file.verify(data, self.manufacturer_key)
            if (parsed.header.manufacturer_code, parsed.header.image_type) != (self.manufacturer_code,
                                                                              self.image_type):
                raise OtaFileError("image is for another manufacturer or device type", field="image_type")
        except OtaFileError as e:
            self.firmware.failures += 1
            status = ota.INVALID_IMAGE
            out.events.append(FirmwareTransferEnded(self.eui, now, dl.file_version.to_bytes(4, "big"), False, str(e)))
            out.extend(self.raise_alert(ALERT_VERIFICATION_FAILED, now))
        else:
            status = ota.SUCCESS
            version = parsed.header.file_version.to_bytes(4, "big")
            self.firmware.held = HeldImage(version, parsed.header.file_version, ota_file.file_hash(data), len(data))
            out.events.append(FirmwareTransferEnded(self.eui, now, version, True))
            held = self.firmware.held
            out.extend(self.raise_alert_about(ALERT_FIRMWARE_RECEIPT, now, AlertContext(
                image_hash=held.image_hash if held else bytes(32))))
        end = ota.UpgradeEndRequest(status, dl.manufacturer_code, dl.image_type, dl.file_version)
        out.han.append(self._packet(CLUSTER_OTA, end.encode(self._next_seq())))
        return out

    def activate_held(self, now: float) -> Output:
        held = self.firmware.held
        if held is None:
            return Output()
        old = self.firmware.version
        self.firmware.activate(held.image_hash, now, None)
        return Output(events=[FirmwareActivated(self.eui, now, old, self.firmware.version)])

    # --- time ---------------------------------------------------------------------------
    def joined_at(self, now: float) -> None:
        if not self.SLEEPY:
            # A download restored from before a restart resumes at once (DV-5): ask for the offer again.
            self.next_query = now if self.resuming else now + OTA_QUERY_PERIOD_S

    @property
    def resuming(self) -> bool:
        """Blocks held from a transfer whose offer we no longer know (a restart): ask for it again."""
        return self.firmware.download is not None and self.offered is None

    def handle_timer(self, now: float) -> Output:
        out = self._key_establishment_timer(now)
        if self.next_query is not None and self.next_query <= now:
            self.next_query = now + OTA_QUERY_PERIOD_S
            if (self.firmware.download is None or self.resuming) and not self.querying:
                out.han.append(self.query_next_image(now))
        for alert in self.outbox.due(now):
            out.events.append(AlertRetried(self.eui, now, alert.counter, alert.attempts))
            out.han.append(self._alert_packet(alert.counter, alert.wire))
        if self.ota_deadline is not None and self.ota_deadline <= now:
            dl, offer = self.firmware.download, self.offered
            if dl is not None and offer is not None:
                out.han.append(self._block_request(offer, dl.offset, now))
            elif self.querying:
                out.han.append(self.query_next_image(now))
            else:
                self.ota_deadline = None
        old = self.firmware.version
        done = self.firmware.due_activation(now)
        if done is not None:  # a future-dated CS06 ran: its outcome is alerted (8F66 / 8F67)
            if done.version != old:
                out.events.append(FirmwareActivated(self.eui, now, old, done.version))
            out.extend(self.raise_alert_to(done.originator, done.alert_code, now, done.alert_payload(), critical=True,
                                           message_code=FUTURE_DATED_FIRMWARE_ALERT))
        update = due_update_alert(self, now)
        if update is not None:  # a future-dated CS02b ran: its outcome goes to the command's originator
            payload, originator = update
            code = asn1.decode(payload).children[0].int()  # type: ignore[index]
            out.extend(self.raise_alert_to(originator, code, now, payload, critical=True,
                                           message_code=credentials_alert_code(payload)))
        return out

    def get_timer(self) -> float | None:
        pending = self.endpoint.trust.pending
        cbke = self.key_establishment.deadline if self.key_establishment is not None else None
        return earliest(self.outbox.next_deadline(), self.firmware.activation_at, self.ota_deadline,
                        self.next_query, pending[0] if pending else None, cbke)
