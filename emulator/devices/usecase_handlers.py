"""ASN.1 use cases every meter answers the same way: firmware activation (CS06), firmware
version of the hub (CS08), security credential updates (CS02), HAN joins (CS03/CS04).

A table from use case to handler; a use case without one is acknowledged with a plain
success so that any SRV the DSP sends gets a well-formed answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from cryptography import x509

from emulator.devices.endpoint import GbcsEndpoint
from emulator.devices.firmware import ACTIVATE_FAILURE, FirmwareState
from emulator.gbcs import asn1, catalogue
from emulator.gbcs.errors import GbcsError
from emulator.gbcs.frames import Message


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
    code, version = device.firmware.activate(cmd.image_hash, now, cmd.execution_time)
    if cmd.execution_time is not None and cmd.execution_time > now and code == 0:
        return asn1.NULL_RESPONSE  # future-dated: acknowledged now, outcome by alert later
    return asn1.activate_firmware_response(code, version)


def _cs08(device: HasFirmware, msg: Message, now: float) -> bytes:
    return asn1.firmware_version_response(device.firmware.version)


def _certificates_in(tlv: asn1.Tlv) -> list[x509.Certificate]:
    found: list[x509.Certificate] = []
    if tlv.tag == asn1.SEQUENCE and tlv.children and len(tlv.children) == 3 and tlv.encode()[:1] == b"\x30":
        try:
            found.append(x509.load_der_x509_certificate(tlv.encode()))
            return found
        except ValueError:
            pass
    for child in tlv.children or ():
        found.extend(_certificates_in(child))
    return found


def _eui_of(cert: x509.Certificate) -> bytes | None:
    for attr in cert.subject:
        if attr.oid.dotted_string == "2.5.4.45":
            value = attr.value
            raw = value if isinstance(value, bytes) else str(value).encode()
            text = raw.decode("ascii", "ignore")
            try:
                eui = bytes.fromhex(text) if len(text) == 16 else raw[-8:]
            except ValueError:
                eui = raw[-8:]
            return eui if len(eui) == 8 else None
    return None


def _cs02(device: HasFirmware, msg: Message, now: float) -> bytes:
    """Update security credentials: a new certificate replaces the holder of a trust-anchor slot.

    Which slot comes from the use case name (``supplierBySupplier``, ``SupplierByTransCoS``,
    ``networkOperatorByNetworkOperator``...). The keys of the new holder must already be
    in the device's key store (the test PKI holds every party's certificates).
    """
    info = catalogue.message_codes().get(msg.message_code)
    name = (info.use_case if info else "").lower()
    slot = "network_operator" if "networkoperatorby" in name.replace(" ", "") else "supplier"
    try:
        certs = _certificates_in(asn1.decode(msg.payload))
    except GbcsError:
        certs = []
    for cert in certs:
        eui = _eui_of(cert)
        if eui is not None:
            device.endpoint.trust.replace(slot, eui)
            return asn1.sequence(asn1.integer(0)).encode()
    # A CS02 without a certificate we can read: report failure rather than pretend.
    return asn1.sequence(asn1.integer(1)).encode()


_HANDLERS: dict[str, Callable[[HasFirmware, Message, float], bytes]] = {
    "CS06": _cs06,
    "CS08": _cs08,
    "CS02b": _cs02,
    "CS02d": _cs02,
}


def asn1_response(device: HasFirmware, msg: Message, now: float) -> bytes:
    info = catalogue.message_codes().get(msg.message_code)
    use_case = info.use_case_id if info else ""
    handler = _HANDLERS.get(use_case)
    if handler is not None:
        return handler(device, msg, now)
    return asn1.sequence(asn1.integer(0)).encode()
