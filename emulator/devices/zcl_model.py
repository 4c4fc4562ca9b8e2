"""The GSME's and GPF's GBZ engine: it acts on a GBZ command and answers it as the RTDS does.

Each component's ZCL frame is decoded with the declared Smart Energy commands
(:mod:`emulator.zigbee.clusters.smart_energy`) and applied by its handler
(:mod:`emulator.devices.gas_handlers`) to the device's
:class:`~emulator.devices.gas_state.GasState`; Read Attributes are answered from the device's
own attribute source and the state (UNSUPPORTED_ATTRIBUTE for what it does not model).
Sensitive answers go back in encrypted components when the device can encrypt. Answers follow
the reference: a Default Response (SUCCESS) to a published command, in the opposite direction
with default responses enabled; the specific responses where GBCS defines them. Commands of
the SRVs a device future-dates (1.1.1, 1.2.1, 1.6, 2.1) wait whole for their time
(:func:`run_due`). GCS28 (clock) and GCS59 (GPF device log) are ASN.1 and answered here too.
"""

from __future__ import annotations

from collections.abc import Callable

from emulator.devices.gas_handlers import HANDLERS, RESPONSE_DDR
from emulator.devices.gas_state import (
    ATTRIBUTES,
    BASIC,
    CURRENT_SUMMATION_DELIVERED,
    ENCRYPTED_LOGS,
    ENCRYPTED_READS,
    FIRMWARE_VERSION_ATTR,
    MALFORMED_COMMAND,
    METERING,
    SUPPLY_STATUS,
    UNSUPPORTED_ATTRIBUTE,
    Executed,
    GasState,
    Pending,
)
from emulator.gbcs import asn1, gbz
from emulator.gbcs.errors import GbcsError
from emulator.zigbee import zcl
from emulator.zigbee.clusters import smart_energy as se
from emulator.zigbee.errors import ZigbeeError
from emulator.zigbee.status import ZclStatus
from emulator.zigbee.zcl import AttributeValue, DataType, Direction, ZclCommand, ZclHeader

__all__ = ["BASIC", "CURRENT_SUMMATION_DELIVERED", "FIRMWARE_VERSION_ATTR", "METERING", "SUPPLY_STATUS", "Attr",
           "AttributeSource", "Encrypt", "GasState", "answer_command", "answer_gbz", "next_due",
           "restore_device_log", "run_due", "synchronise_clock"]

Attr = tuple[DataType, AttributeValue]  # (ZCL data type, value)
AttributeSource = Callable[[int, int, float], Attr | None]  # (cluster, attribute, now) -> value
Encrypt = Callable[[bytes], bytes]  # plaintext -> the "31 00000000 ..." encrypted part

# --- the engine -------------------------------------------------------------------------------------

def _default_response(request: ZclHeader, status: int) -> bytes:
    """GBZ answers leave default responses enabled, as the RTDS responses carry them."""
    return zcl.default_response(request, status, disable_default_response=False)


def _encrypted(cluster: int, frame: bytes, encrypt: Encrypt) -> gbz.Component:
    """An encrypted GBZ component: additional header (control, frame counter, the ZCL header),
    the ciphered part's length, and the ``31 ...`` part holding the ZCL payload."""
    header, payload = ZclHeader.decode(frame)
    return gbz.encrypted_component(cluster, header, encrypt(payload))


# What a Default Response to a frame whose header could not even be read answers: sequence 0, command 0.
_UNREADABLE = zcl.global_header(Direction.CLIENT_TO_SERVER, 0, 0, disable_default_response=False)


def _malformed() -> bytes:
    """A Default Response MALFORMED_COMMAND to a frame whose header could not even be read."""
    return _default_response(_UNREADABLE, MALFORMED_COMMAND)


def _read(payload: bytes, cluster: int, state: GasState, source: AttributeSource,
          now: float) -> list[zcl.ReadAttributeRecord]:
    records: list[zcl.ReadAttributeRecord] = []
    for attr in zcl.decode_read_attributes(payload):
        found = source(cluster, attr, now)
        if found is None and (cluster, attr) in ATTRIBUTES:
            data_type, getter = ATTRIBUTES[(cluster, attr)]
            found = (data_type, getter(state))
        records.append(zcl.ReadAttributeRecord(attr, UNSUPPORTED_ATTRIBUTE) if found is None
                       else zcl.ReadAttributeRecord(attr, ZclStatus.SUCCESS, *found))
    return records


def answer_command(state: GasState, cluster: int, frame: bytes, source: AttributeSource, now: float,
                   *, encrypted: bool = False, encrypt: Encrypt | None = None) -> list[gbz.Component]:
    """Act on one ZCL frame of a GBZ command and return the components that answer it."""
    return _answer_command(state, cluster, frame, source, now, encrypted, encrypt)


def _answer_command(state: GasState, cluster: int, frame: bytes, source: AttributeSource, now: float,
                    encrypted: bool, encrypt: Encrypt | None) -> list[gbz.Component]:
    try:
        header, command = zcl.decode_command(cluster, frame, strict=True)
    except ZigbeeError:
        try:
            header, _ = zcl.ZclHeader.decode(frame)
        except ZigbeeError:
            return [gbz.Component(cluster, _malformed())]
        return [gbz.Component(cluster, _default_response(header, ZclStatus.UNSUP_CLUSTER_COMMAND))]
    if not header.cluster_specific:
        if header.command_id != zcl.READ_ATTRIBUTES or not isinstance(command, bytes):
            return [gbz.Component(cluster, _default_response(header, ZclStatus.UNSUP_GENERAL_COMMAND))]
        try:
            records = _read(command, cluster, state, source, now)
        except ZigbeeError:
            return [gbz.Component(cluster, _default_response(header, MALFORMED_COMMAND))]
        # An encrypted answer's header has default responses disabled, a plaintext one enabled (RTDS).
        if encrypted and encrypt is not None:
            return [_encrypted(cluster, zcl.read_attributes_response(header, records), encrypt)]
        return [gbz.Component(cluster, zcl.read_attributes_response(header, records, disable_default_response=False))]
    assert isinstance(command, ZclCommand)
    handler = HANDLERS.get(type(command))
    if handler is None:
        return [gbz.Component(cluster, _default_response(header, ZclStatus.UNSUP_CLUSTER_COMMAND))]
    state.last_issuer_event_id = getattr(command, "issuer_event_id", state.last_issuer_event_id)
    answer = handler(state, command, now)
    if isinstance(answer, ZclCommand):
        answer = [answer]
    if isinstance(answer, list):
        out: list[gbz.Component] = []
        for a in answer:
            frame = a.encode(header.sequence, disable_default_response=RESPONSE_DDR.get(type(a), False))
            out.append(_encrypted(cluster, frame, encrypt) if isinstance(a, ENCRYPTED_LOGS) and encrypt is not None
                       else gbz.Component(cluster, frame))
        return out
    return [gbz.Component(cluster, _default_response(header, ZclStatus.SUCCESS if answer is None else int(answer)))]


CANCELLED = (0xFFFFFFFE, 0xFFFFFFFF)  # start times that cancel a future-dated command
# The gas use cases whose SRVs the device itself holds until their time (SRV catalogue: future-dated
# response "Device": 1.1.1 GCS01a, 1.2.1 GCS01b, 1.6 GCS02/GCS03, 2.1 GCS05).
DEVICE_FUTURE_DATED = frozenset({0x006B, 0x00A3, 0x006C, 0x006D, 0x006F})
TIME_FIELDS = ("start_time", "implementation_time")


def _start_of(command: ZclCommand, from_date_time: int | None) -> int | None:
    """When a command is to take effect (ZCL UTC), for the commands GBCS lets the DCC future-date."""
    for name in TIME_FIELDS:
        if hasattr(command, name):
            return int(getattr(command, name))
    return from_date_time


def _dated(cluster: int, frame: bytes, from_date_time: int | None) -> tuple[ZclCommand | None, int | None]:
    try:
        _, command = zcl.decode_command(cluster, frame, strict=True)
    except ZigbeeError:
        return None, None
    if not isinstance(command, ZclCommand):
        return None, None
    return command, _start_of(command, from_date_time)


def _acknowledge(state: GasState, cluster: int, frame: bytes, command: ZclCommand | None) -> gbz.Component:
    """The answer to a queued (or cancelled) component: what the meter would say now."""
    header, _ = ZclHeader.decode(frame)
    if isinstance(command, se.ChangePaymentMode):
        rsp = se.ChangePaymentModeResponse(state.friendly_credit, state.friendly_credit_calendar_id,
                                           state.emergency_credit_limit, state.emergency_credit_threshold)
        return gbz.Component(cluster, rsp.encode(header.sequence, disable_default_response=True))
    return gbz.Component(cluster, _default_response(header, ZclStatus.SUCCESS))


def _future_dated(state: GasState, cmd: gbz.GbzPayload, now: float, message_code: int,
                  counter: int) -> list[gbz.Component] | None:
    """A command dated in the future is queued whole (GBCS dates the command, not its parts); one
    dated "never" cancels the queued one of the same use case. None: act on it now."""
    if message_code not in DEVICE_FUTURE_DATED:
        return None
    dated = []
    for comp in cmd.components:
        frame = comp.body[4:] if comp.from_date_time is not None else comp.body
        command, start = _dated(comp.cluster, frame, comp.from_date_time) if not comp.encrypted else (None, None)
        dated.append((comp.cluster, frame, command, start))
    starts = [start for _, _, _, start in dated if start]
    if any(start in CANCELLED for start in starts):
        state.pending = [p for p in state.pending if p.message_code != message_code]
    elif starts and max(starts) > int(now) - gbz.EPOCH_2000:
        due = max(starts)
        state.pending += [Pending(due, message_code, counter, cluster, frame, bool(start))
                          for cluster, frame, _, start in dated]
    else:
        return None
    return [_acknowledge(state, cluster, frame, command) for cluster, frame, command, _ in dated]


def _succeeded(answer: gbz.Component) -> bool:
    """False for a Default Response carrying a failure status; any other answer is the command done."""
    frame = answer.zcl()
    return not zcl.is_default_response(frame.header) or \
        zcl.decode_default_response(frame.payload)[1] == ZclStatus.SUCCESS


def run_due(state: GasState, source: AttributeSource, now: float) -> list[Executed]:
    """Apply the future-dated commands whose time has come (in the order they were queued)."""
    due_at = int(now) - gbz.EPOCH_2000
    ready = [p for p in state.pending if p.due <= due_at]
    state.pending = [p for p in state.pending if p.due > due_at]
    done = []
    for p in ready:
        header, _ = ZclHeader.decode(p.frame)
        answers = answer_command(state, p.cluster, p.frame, source, now)
        ok = all(_succeeded(a) for a in answers if not a.encrypted)
        if p.reports:
            done.append(Executed(p.message_code, p.counter, p.cluster, header.frame_control.to_int(),
                                 header.command_id, ok))
    return done


def next_due(state: GasState) -> float | None:
    return min((p.due + gbz.EPOCH_2000 for p in state.pending), default=None)


def answer_gbz(payload: bytes, source: AttributeSource, now: float, state: GasState | None = None, *,
               message_code: int = 0, encrypt: Encrypt | None = None, counter: int = 0) -> bytes:
    """The GBZ response to a GBZ command payload, after acting on it (``state``). Components
    dated in the future are queued (:func:`run_due` applies them) and acknowledged now."""
    state = state if state is not None else GasState()
    try:
        cmd = gbz.decode(payload)
    except GbcsError:
        return gbz.GbzPayload(()).encode()
    queued = _future_dated(state, cmd, now, message_code, counter)
    if queued is not None:
        return gbz.GbzPayload(tuple(queued)).encode()
    sensitive = ENCRYPTED_READS.get(message_code, frozenset())
    components = []
    for comp in cmd.components:
        if comp.encrypted:
            components.append(gbz.Component(comp.cluster, _malformed()))
            continue
        frame = comp.body[4:] if comp.from_date_time is not None else comp.body
        components.extend(answer_command(state, comp.cluster, frame, source, now,
                                         encrypted=comp.cluster in sensitive, encrypt=encrypt))
    return gbz.GbzPayload(tuple(components)).encode()


# --- the ASN.1 gas use cases ----------------------------------------------------------------------

CLOCK_SET, CLOCK_NOT_SET = 0, 1


def synchronise_clock(state: GasState, payload: bytes, now: float) -> bytes:
    """GCS28: SEQUENCE { validity start, validity end }. The GSME answers SEQUENCE { its time
    before the command, result }: inside the window its clock stands (success); outside it, the
    clock is set to the window's start (success too); an unreadable command is refused (1)."""
    device_time = now + state.clock_offset_s
    try:
        window = asn1.decode(payload).children or ()
        start, end = (asn1.parse_generalized_time(t) for t in window[:2])
    except (GbcsError, ValueError):
        start = end = None
    if start is None or end is None:
        return asn1.sequence(asn1.generalized_time(device_time), asn1.integer(CLOCK_NOT_SET)).encode()
    if not start <= device_time <= end:
        state.clock_offset_s = start - now
    return asn1.sequence(asn1.generalized_time(device_time), asn1.integer(CLOCK_SET)).encode()


def restore_device_log(log: dict[bytes, int], payload: bytes) -> bytes:
    """GCS59: SEQUENCE { SEQUENCE OF { device id, device type } } -> the GPF adds each device
    and answers SEQUENCE { SEQUENCE OF { the entry, result 0 } } (1 for an entry it cannot read)."""
    results: list[asn1.Tlv] = []
    try:
        entries = (asn1.decode(payload).children or ())[0].children or ()
    except (GbcsError, IndexError):
        entries = ()
    for entry in entries:
        kids = entry.children or ()
        ok = len(kids) == 2 and kids[0].tag == asn1.OCTET_STRING and len(kids[0].value) == 8
        if ok:
            log[kids[0].value] = kids[1].int()
        results.append(asn1.sequence(entry, asn1.integer(0 if ok else 1)))
    return asn1.sequence(asn1.sequence(*results)).encode()
