"""Build the GBCS command for an SRV to a device type: what the DSP sends on the WAN.

The use case comes from the SRV and, where GBCS has several for one SRV, from the request's
DUIS body (:func:`message_code_for`); the payload from the use case's builder
(:mod:`emulator.gbcs.usecase_builders`). Every ECS and GCS use case has a builder; the DBCH
use cases (hub-level diagnostics) are a firmware-version read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.gbcs import dlms, obis, usecases_esme
from emulator.gbcs.frames import Cra, Message
from emulator.gbcs.usecase_builders import UseCaseRequest, builders
from emulator.gbcs.usecases import UseCase, select_use_case, use_case_named
from emulator.gbcs.usecases_common import credentials_message_code

_OBJECTS = {  # (class, logical name, attribute) of the stand-in reads
    "firmware": (1, obis.FIRMWARE_VERSION, 2),
}


class CommandError(ValueError):
    """An SRV that cannot be framed for that device type; the message says why."""


@dataclass(frozen=True, slots=True)
class BuiltCommand:
    message: Message
    use_case: str
    critical: bool


def _dlms_get(counter: int, what: str) -> bytes:
    class_id, logical_name, attr = _OBJECTS[what]
    spec = dlms.RequestSpec(dlms.GET, class_id, logical_name, attr)
    return dlms.AccessRequest(dlms.invoke_id_for(counter), (spec,), (dlms.NULL,)).encode()


def _use_case(srv: str, device_type: str, body: dict[str, Any]) -> UseCase | None:
    """The SRV's use case for the device type, as the DUIS body chooses among its siblings."""
    uc = select_use_case(srv, device_type, body)
    if uc is not None and device_type == "ESME":
        name = usecases_esme.select(srv, body)
        if name is not None and name != uc.use_case:
            return use_case_named(uc, name)
    return uc


def message_code_for(srv: str, device_type: str, body: dict[str, Any] | None = None) -> int | None:
    """The message code (use case) of the command a request for ``srv`` with ``body`` becomes: what
    the Restricted rules judge before it is built (None: no use case for that device type)."""
    uc = _use_case(srv, device_type, body or {})
    return credentials_message_code(uc.use_case, uc.message_code, body or {}, srv) if uc else None


def build(srv: str, device_type: str, originator: bytes, target: bytes, counter: int,
          body: dict[str, Any] | None = None) -> BuiltCommand:
    """The unsealed command (MAC-protected form; sign it first if ``critical``)."""
    body = body or {}
    uc = _use_case(srv, device_type, body)
    if uc is None:
        raise CommandError(f"SRV {srv} has no GBCS use case for a {device_type}")
    name = uc.use_case
    code = credentials_message_code(name, uc.message_code, body, srv)
    builder = builders().get(usecases_esme.BY_SRV.get((srv, name), name))
    if builder is not None:
        payload = builder(UseCaseRequest(uc.use_case, code, originator, target, counter, body))
    elif name.startswith(("ECS", "GCS")):  # every ECS and GCS command has a builder: this is an alert use case
        raise CommandError(f"{name} is an alert use case, not a command")
    elif name.startswith("DBCH"):
        payload = _dlms_get(counter, "firmware")
    else:
        raise CommandError(f"use case {name} of SRV {srv} has no builder")
    msg = Message(Cra.COMMAND, counter, originator, target, code, payload,
                  precommand=uc.critical, mac_protected=not uc.critical)
    return BuiltCommand(msg, name, uc.critical)
