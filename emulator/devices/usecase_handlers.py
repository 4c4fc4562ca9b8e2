"""ASN.1 use cases every device answers the same way (GBCS CS family): firmware activation
(CS06) and version (CS08), security credentials (CS02a-f, in :mod:`emulator.devices.credentials`),
HAN joins (CS03 join, CS04 unjoin, CS07 read join details).

A table from use case to handler, each acting on the device's state and answering with the
structure of the use case's RTDS reference response. A use case without a handler gets a
plain success, so any SRV the DSP sends gets a well-formed answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from emulator.devices import credentials
from emulator.devices.device_log import JOIN_INVALID_CERTIFICATE, JOIN_INVALID_METHOD, UNJOIN_NOT_IN_LOG
from emulator.devices.endpoint import GbcsEndpoint
from emulator.devices.firmware import ACTIVATE_FAILURE, FirmwareState
from emulator.gbcs import asn1, catalogue
from emulator.gbcs.errors import GbcsError
from emulator.gbcs.frames import Message

# CS03 join method and role each message code carries (0 A initiator, 1 A responder, 2 B, 3 C).
_JOIN_METHODS = {0x000D: 0, 0x00AB: 1, 0x000E: 2, 0x00AF: 3}


class HasFirmware(Protocol):
    firmware: FirmwareState
    endpoint: GbcsEndpoint


def _cs06(device: HasFirmware, msg: Message, now: float) -> bytes:
    try:
        cmd = asn1.ActivateFirmware.decode(msg.payload)
    except GbcsError:
        return asn1.activate_firmware_response(ACTIVATE_FAILURE, device.firmware.version)
    if cmd.cancel:
        device.firmware.activation_at = device.firmware.activation_hash = None
        return asn1.NULL_RESPONSE
    code, version = device.firmware.activate(cmd.image_hash, now, cmd.execution_time, cmd.originator_counter,
                                             msg.originator)
    if cmd.execution_time is not None and cmd.execution_time > now:
        return asn1.NULL_RESPONSE  # future-dated: acknowledged now, outcome by alert 0x00CA later
    return asn1.activate_firmware_response(code, version)


def _cs08(device: HasFirmware, msg: Message, now: float) -> bytes:
    return asn1.firmware_version_response(device.firmware.version)


def _cs03(device: HasFirmware, msg: Message, now: float) -> bytes:
    """Join: SEQUENCE { method and role, other device id, device type [, certificate] } -> code."""
    try:
        kids = asn1.decode(msg.payload).children or ()
        method, eui, kind = kids[0].int(), kids[1].value, kids[2].int()
    except (GbcsError, IndexError):
        return asn1.integer(JOIN_INVALID_METHOD).encode()
    if method != _JOIN_METHODS.get(msg.message_code, method) or len(eui) != 8:
        return asn1.integer(JOIN_INVALID_METHOD).encode()
    if method == 3 and len(kids) < 4:  # Method C carries the other device's certificate
        return asn1.integer(JOIN_INVALID_CERTIFICATE).encode()
    return asn1.integer(device.endpoint.joins.join(eui, kind)).encode()


def _cs04(device: HasFirmware, msg: Message, now: float) -> bytes:
    try:
        tlv = asn1.decode(msg.payload)
    except GbcsError:
        return asn1.integer(UNJOIN_NOT_IN_LOG).encode()
    return asn1.integer(device.endpoint.joins.unjoin(tlv.value)).encode()


def _cs07(device: HasFirmware, msg: Message, now: float) -> bytes:
    """Read Device Join Details: SEQUENCE { 0 success, SEQUENCE OF { device id, device type } }."""
    entries = tuple(asn1.sequence(asn1.octets(eui), asn1.integer(kind))
                    for eui, kind in device.endpoint.joins.entries.items())
    return asn1.device_encode(asn1.sequence(asn1.integer(0), asn1.sequence(*entries)))


_HANDLERS: dict[str, Callable[[HasFirmware, Message, float], bytes]] = {
    "CS06": _cs06,
    "CS08": _cs08,
    "CS02a": credentials.credential_details,
    "CS02f": credentials.credential_details,
    "CS02b": credentials.update_security_credentials,
    "CS02g": credentials.update_security_credentials,
    "CS02c": credentials.issue_security_credentials,
    "CS02d": credentials.update_device_certificate,
    "CS02e": credentials.provide_device_certificate,
    "CS03A1": _cs03, "CS03A2": _cs03, "CS03B": _cs03, "CS03C": _cs03,
    "CS04AC": _cs04, "CS04B": _cs04,
    "CS07": _cs07,
}


def asn1_response(device: HasFirmware, msg: Message, now: float) -> bytes:
    info = catalogue.message_codes().get(msg.message_code)
    use_case = info.use_case_id if info else ""
    handler = _HANDLERS.get(use_case)
    if handler is not None:
        return handler(device, msg, now)
    return asn1.sequence(asn1.integer(0)).encode()
