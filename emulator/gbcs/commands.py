"""Build the GBCS command for an SRV to a device type: what the DSP sends on the WAN.

Use cases the emulator models in depth get their real payloads (CCS01/CCS02 device log,
ECS52/GCS38 firmware version, ECS17x/GCS13x registers, CS06 activation, CS02b
credentials); every other use case gets a well-formed read of a representative object
in its family (DLMS Get for E-use cases, ZCL Read Attributes for G-use cases, an ASN.1
request for C-use cases), so any SRV of the catalogue can be exercised end to end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.gbcs import asn1, dlms
from emulator.gbcs.frames import Cra, Message
from emulator.gbcs.usecase_builders import UseCaseRequest, builders
from emulator.gbcs.usecases import select_use_case

_OBIS = {
    "firmware": (1, bytes((0, 0, 0, 2, 1, 255)), 2),
    "device_id": (1, bytes((0, 0, 96, 1, 0, 255)), 2),
}
ZIGBEE_NETWORK_CONTROL = (104, bytes((0, 0, 30, 3, 0, 255)))


class CommandError(ValueError):
    """An SRV that cannot be framed for that device type; the message says why."""


@dataclass(frozen=True, slots=True)
class BuiltCommand:
    message: Message
    use_case: str
    critical: bool


def _dlms_get(counter: int, what: str) -> bytes:
    class_id, obis, attr = _OBIS[what]
    return dlms.AccessRequest(dlms.invoke_id_for(counter), (dlms.RequestSpec(dlms.GET, class_id, obis, attr),),
                              (dlms.NULL,)).encode()


def device_log_payload(counter: int, eui: bytes, device_type: int, install_code: bytes, *, add: bool) -> bytes:
    """CCS01 (add) / CCS02 (remove): an Action on the Zigbee network control object."""
    class_id, obis = ZIGBEE_NETWORK_CONTROL
    entry = dlms.Data("structure", (dlms.Data("octet-string", eui), dlms.Data("enum", device_type),
                                    dlms.Data("octet-string", install_code), dlms.Data("enum", 0)))
    spec = dlms.RequestSpec(dlms.ACTION, class_id, obis, 1 if add else 2)
    return dlms.AccessRequest(dlms.invoke_id_for(counter), (spec,), (entry,)).encode()


def build(srv: str, device_type: str, originator: bytes, target: bytes, counter: int,
          body: dict[str, Any] | None = None) -> BuiltCommand:
    """The unsealed command (MAC-protected form; sign it first if ``critical``)."""
    body = body or {}
    uc = select_use_case(srv, device_type, body)
    if uc is None:
        raise CommandError(f"SRV {srv} has no GBCS use case for a {device_type}")
    name = uc.use_case
    builder = builders().get(name)
    if builder is not None:
        payload = builder(UseCaseRequest(uc.use_case, uc.message_code, originator, target, counter, body))
    elif name in ("CCS01", "CCS02"):
        payload = device_log_payload(counter, bytes.fromhex(body["device"]), int(body.get("device_type", 0)),
                                     bytes.fromhex(body.get("install_code", "")), add=name == "CCS01")
    elif name == "CS06":
        payload = asn1.ActivateFirmware(bytes.fromhex(body["image_hash"]), counter,
                                        body.get("execution_time")).encode()
    elif name.startswith("CS02") and "certificate" in body:
        payload = asn1.sequence(asn1.decode(bytes.fromhex(body["certificate"]))).encode()
    elif name.startswith("ECS"):  # the ECS25 alert-behaviour use cases usecases_esme does not build yet
        payload = _dlms_get(counter, "device_id")
    elif name.startswith("GCS"):
        raise CommandError(f"{name} is a gas alert use case, not a command")  # every GCS command has a builder
    elif name == "CS08":
        payload = asn1.NULL_RESPONSE
    elif name.startswith("CCS") or name.startswith("DBCH"):
        payload = _dlms_get(counter, "firmware")
    else:
        payload = asn1.sequence(asn1.integer(counter & 0xFFFF)).encode()
    msg = Message(Cra.COMMAND, counter, originator, target, uc.message_code, payload,
                  precommand=uc.critical, mac_protected=not uc.critical)
    return BuiltCommand(msg, name, uc.critical)
