"""The GSME's and GPF's ZCL attribute model and the GBZ engine that answers GBZ commands.

Reads come from the synthetic load at ``now`` (GSME) or from the mirror (GPF);
attributes not modelled answer UNSUPPORTED_ATTRIBUTE (0x86); other commands get a
Default Response with SUCCESS, so any GBZ use case gets a well-formed answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.gbcs import gbz
from emulator.gbcs.errors import GbcsError

UNSUPPORTED_ATTRIBUTE = 0x86
MALFORMED_COMMAND = 0x80
METERING = 0x0702
CURRENT_SUMMATION_DELIVERED = 0x0000
SUPPLY_STATUS = 0x0014
FIRMWARE_VERSION_ATTR = 0x0206  # what GCS38 reads (RTDS 11.2_GCS38)
INSTANTANEOUS_DEMAND = 0x0400

Attr = tuple[str, Any]  # (ZCL type name, value)
AttributeSource = Callable[[int, int, float], Attr | None]  # (cluster, attribute, now) -> value


def answer_gbz(payload: bytes, source: AttributeSource, now: float) -> bytes:
    """The GBZ response to a GBZ command payload."""
    try:
        cmd = gbz.decode(payload)
    except GbcsError:
        return gbz.GbzPayload(()).encode()
    components = []
    for comp in cmd.components:
        if comp.encrypted:
            body = gbz.ZclFrame(0x08, 0, gbz.DEFAULT_RESPONSE, bytes((0, MALFORMED_COMMAND))).encode()
            components.append(gbz.Component(comp.cluster, body))
            continue
        try:
            frame = comp.zcl()
        except GbcsError:
            continue
        if not frame.cluster_specific and frame.command == gbz.READ_ATTRIBUTES:
            records: list[tuple[int, int, str | None, Any]] = []
            try:
                ids = gbz.attribute_ids(frame.payload)
            except GbcsError:
                ids = []
            for attr in ids:
                value = source(comp.cluster, attr, now)
                if value is None:
                    records.append((attr, UNSUPPORTED_ATTRIBUTE, None, None))
                else:
                    records.append((attr, 0, value[0], value[1]))
            rsp = gbz.ZclFrame(0x08, frame.sequence, gbz.READ_ATTRIBUTES_RESPONSE,
                               gbz.read_attributes_response(records))
        else:
            rsp = gbz.ZclFrame(0x08, frame.sequence, gbz.DEFAULT_RESPONSE, bytes((frame.command, 0)))
        components.append(gbz.Component(comp.cluster, rsp.encode()))
    return gbz.GbzPayload(tuple(components)).encode()
