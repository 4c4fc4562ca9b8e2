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

from emulator.gbcs import asn1, dlms, gbz
from emulator.gbcs.frames import Cra, Message
from emulator.gbcs.usecase_builders import UseCaseRequest, builders
from emulator.gbcs.usecases import use_case_for
from emulator.gbcs.usecases_common import credentials_message_code

_OBIS = {
    "firmware": (1, bytes((0, 0, 0, 2, 1, 255)), 2),
    "import": (3, bytes((1, 0, 1, 8, 0, 255)), 2),
    "export": (3, bytes((1, 0, 2, 8, 0, 255)), 2),
    "power": (3, bytes((1, 0, 1, 7, 0, 255)), 2),
    "tou": (3, bytes((1, 0, 1, 8, 1, 255)), 2),
    "device_id": (1, bytes((0, 0, 96, 1, 0, 255)), 2),
    "disconnect": (70, bytes((0, 0, 96, 3, 10, 255)), 3),
    "half_hours": (7, bytes((1, 0, 99, 1, 0, 255)), 2),
    "daily_reads": (7, bytes((1, 0, 98, 1, 0, 255)), 2),
    "events": (7, bytes((0, 0, 99, 98, 0, 255)), 2),
}
_DLMS_READS = {"ECS52": "firmware", "ECS17a": "export", "ECS17b": "import", "ECS17c": "power",
               "ECS17d": "tou", "ECS17e": "tou", "ECS21a": "daily_reads", "ECS66": "daily_reads",
               "ECS22b": "half_hours", "ECS35a": "events"}
_ZCL_READS = {"GCS38": 0x0206, "GCS13a": 0x0000, "GCS13b": 0x0000, "GCS13c": 0x0000}


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


def _zcl_read(attr: int, cluster: int = 0x0702) -> bytes:
    frame = gbz.ZclFrame(0x00, 0x00, gbz.READ_ATTRIBUTES, attr.to_bytes(2, "little"))
    return gbz.GbzPayload((gbz.Component(cluster, frame.encode()),)).encode()


def build(srv: str, device_type: str, originator: bytes, target: bytes, counter: int,
          body: dict[str, Any] | None = None) -> BuiltCommand:
    """The unsealed command (MAC-protected form; sign it first if ``critical``)."""
    body = body or {}
    uc = use_case_for(srv, device_type)
    if uc is None:
        raise CommandError(f"SRV {srv} has no GBCS use case for a {device_type}")
    name = uc.use_case
    code = credentials_message_code(name, uc.message_code, body)
    builder = builders().get(name)
    if builder is not None:
        payload = builder(UseCaseRequest(uc.use_case, code, originator, target, counter, body))
    elif name.startswith("ECS"):
        payload = _dlms_get(counter, _DLMS_READS.get(name, "device_id"))
    elif name.startswith(("GCS",)):
        payload = _zcl_read(_ZCL_READS.get(name, 0x0000))
    elif name.startswith("DBCH"):
        payload = _dlms_get(counter, "firmware")
    else:
        payload = asn1.sequence(asn1.integer(counter & 0xFFFF)).encode()
    msg = Message(Cra.COMMAND, counter, originator, target, code, payload,
                  precommand=uc.critical, mac_protected=not uc.critical)
    return BuiltCommand(msg, name, uc.critical)
