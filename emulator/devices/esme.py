"""The electricity meter (ESME): DLMS/COSEM over GBCS, mains powered, always listening (DV-4)."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec

from emulator.devices import top_up
from emulator.devices.base import Output
from emulator.devices.cosem import HARDWARE_FAULT, OTHER_REASON, SUCCESS, CosemModel
from emulator.devices.endpoint import GbcsEndpoint
from emulator.devices.meter import Meter
from emulator.devices.profile import MeterProfile
from emulator.devices.usecase_handlers import asn1_response
from emulator.gbcs import dlms, security, utrn
from emulator.gbcs.dlms_datetime import DlmsDateTime
from emulator.gbcs.errors import GbcsError
from emulator.gbcs.esme_ops import protection_parameters
from emulator.gbcs.frames import Message
from emulator.zigbee import zcl
from emulator.zigbee.clusters import tunneling
from emulator.zigbee.packet import CLUSTER_TUNNELING

_GET = (dlms.GET, dlms.GET_WITH_SELECTION)
PROTECTION_CLASS = 30  # Data Protection: method 1 returns attributes encrypted for the requester
TOKEN_GATEWAY = bytes((0, 0, 19, 40, 0, 255))  # class 115: CS01a enters a UTRN by its method 1
_EPOCH_2000 = 946684800


def _period(spec: dlms.RequestSpec) -> tuple[float | None, float | None] | None:
    """The time range of a range selection (bounds in seconds since 2000), else None."""
    if spec.selector is None or spec.selector[0] != 1:
        return None
    try:
        bounds = spec.selector[1].value
        return float(bounds[1].value + _EPOCH_2000), float(bounds[2].value + _EPOCH_2000)
    except (AttributeError, IndexError, TypeError):
        return None


class Esme(Meter):
    KIND = "ESME"

    def __init__(self, eui: bytes, endpoint: GbcsEndpoint, chf: bytes, profile: MeterProfile, start: float,
                 manufacturer_key: ec.EllipticCurvePublicKey | None = None) -> None:
        super().__init__(eui, endpoint, chf, profile.firmware_version, profile.manufacturer_code,
                         profile.image_type, manufacturer_key)
        self.profile = profile
        self.cosem = CosemModel(eui, profile.load(start), profile.firmware_version, profile.payment_mode,
                                secondary=profile.secondary_load(start))

    # The firmware version lives in the COSEM model too (ECS52 reads it there).
    def activate_held(self, now: float) -> Output:
        out = super().activate_held(now)
        self.cosem.firmware_version = self.firmware.version
        return out

    def handle_timer(self, now: float) -> Output:
        out = super().handle_timer(now)
        self.cosem.firmware_version = self.firmware.version
        return out

    def execute(self, msg: Message, now: float) -> bytes:
        if msg.payload[:1] == bytes((dlms.ACCESS_REQUEST,)):
            return self._dlms(msg, now)
        payload = asn1_response(self, msg, now)
        self.cosem.firmware_version = self.firmware.version
        return payload

    def _dlms(self, msg: Message, now: float) -> bytes:
        invoke = dlms.invoke_id_for(msg.counter)
        try:
            req = dlms.decode_access_request(msg.payload)
        except GbcsError:
            return dlms.AccessResponse(invoke, (dlms.NULL,), ((dlms.GET, OTHER_REASON),)).encode()
        data: list[dlms.Data] = []
        results: list[tuple[int, int]] = []
        for i, spec in enumerate(req.specs):
            key = (spec.class_id, spec.obis, spec.attribute)
            arg = req.data[i] if i < len(req.data) else dlms.NULL
            value: dlms.Data | None = None
            if spec.kind in _GET:
                code, value = self.cosem.get(key, now, _period(spec))
            elif spec.kind == dlms.SET:
                code = self.cosem.set(key, arg, now)
            elif spec.class_id == PROTECTION_CLASS and spec.attribute == 1:
                code, value = self._protected(msg, arg, now)
            elif (spec.kind, spec.class_id, spec.obis, spec.attribute) == (dlms.ACTION, 115, TOKEN_GATEWAY, 1):
                code = self._top_up(arg, now)
            else:
                code = self.cosem.action(spec.class_id, spec.obis, spec.attribute, arg, now)
            data.append(value if value is not None else dlms.NULL)
            results.append((dlms.GET if spec.kind == dlms.GET_WITH_SELECTION else spec.kind, code))
        return dlms.AccessResponse(invoke, tuple(data), tuple(results)).encode()

    def _protected(self, msg: Message, arg: dlms.Data, now: float) -> tuple[int, dlms.Data | None]:
        """A protected read: the values, encrypted with the key agreed with the requester (GBCS 7.2.x),
        after the protection parameters echoed with originator and recipient swapped."""
        code, plain = self.cosem.protected_read(arg, now)
        if plain is None:
            return code, None
        try:
            part = security.encrypt_part(self.endpoint.keys, self.eui, msg.originator, msg.counter,
                                         dlms.encode_data(plain))
        except GbcsError:
            return HARDWARE_FAULT, None
        params = protection_parameters(msg.counter, self.eui, msg.originator)
        return code, dlms.Data("structure", (params, dlms.Data("octet-string", part)))

    def _top_up(self, token: dlms.Data, now: float) -> int:
        """CS01a: the token gateway's enter method. A UTRN the meter refuses is an event in its log
        (duplicate 0x8F51, not authentic 0x8F63) and the action fails, as the RTDS ERROR answers."""
        text = bytes(token.value).decode("ascii", "replace") if token.type == "octet-string" else ""
        try:
            top = top_up.enter(self.endpoint, self.eui, text, self.cosem.utrn_counter)
        except utrn.UtrnError as e:
            self.cosem.record_event(now, e.alert_code)
            return HARDWARE_FAULT
        self.cosem.utrn_counter = top.counter
        self.cosem.account.balance += top.amount
        self.cosem.account.credits.append((self.cosem.device_time(now), top.amount))
        return SUCCESS

    def raise_alert(self, code: int, now: float, payload: bytes | None = None, *,
                    message_code: int | None = None, critical: bool | None = None) -> Output:
        self.cosem.record_event(now, code)
        return super().raise_alert(code, now, payload, message_code=message_code, critical=critical)

    def alert_payload(self, code: int, now: float) -> bytes:
        counter = self.endpoint.alert_counter.value + 1
        return dlms.DataNotification(dlms.invoke_id_for(counter), code, DlmsDateTime.from_epoch(now).encode()).encode()

    def tunnel_frame(self, gbcs: bytes, *, ack: bool) -> bytes:
        # The ESME is the tunnel server: its data goes server-to-client.
        data = tunneling.TransferDataServer(self.tunnel_id or 0, gbcs)
        return data.encode(self._next_seq(), disable_default_response=not ack)

    def on_tunnel(self, command: zcl.ZclCommand | bytes, now: float) -> Output:
        if isinstance(command, tunneling.RequestTunnel):
            self.tunnel_id = 1
            rsp = tunneling.RequestTunnelResponse(self.tunnel_id)
            return Output(han=[self._packet(CLUSTER_TUNNELING, rsp.encode(self._next_seq()))])
        if isinstance(command, tunneling.TransferDataClient):
            return self.on_gbcs(command.data, now)
        return Output()
