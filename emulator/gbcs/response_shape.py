"""The structure of a GBCS response payload, to hold a device's answer against a reference answer
(the RTDS response of the same use case) without its values: a conformance run asks "is this
the use case's response?", not "did the device read the same kWh?".

* DLMS (ESME, hub): the result codes, and per data item its type, structure arity and nesting;
  array lengths follow the device's state, so an array is the set of its elements' shapes; an
  encrypted part of a protected read (``31 00 00 00 00``...) is opaque.
* GBZ (GSME, GPF): per component its cluster and ZCL command (encrypted components opaque);
  runs of the same kind (one per log entry) count once.
* ASN.1 (credentials, firmware): the tag tree.
"""

from __future__ import annotations

from emulator.gbcs import asn1, dlms, gbz
from emulator.gbcs.errors import GbcsError

Shape = object
ENCRYPTED_PREFIX = b"\x31\x00\x00\x00\x00"


def _dlms(d: dlms.Data) -> Shape:
    if d.type == "structure":
        return ("structure", tuple(_dlms(x) for x in d.value))
    if d.type == "array":
        return ("array", frozenset(_dlms(x) for x in d.value))
    if d.type == "compact-array":
        return ("compact-array", bytes(d.value[0]))
    if d.type == "octet-string" and bytes(d.value).startswith(ENCRYPTED_PREFIX):
        return "encrypted"
    return d.type


def _asn1(t: asn1.Tlv) -> Shape:
    return (t.tag, tuple(_asn1(c) for c in t.children)) if t.children is not None else t.tag


def shape(payload: bytes) -> Shape:
    """The structure of a response payload; a payload none of the three codecs reads is
    ``("undecodable", reason)``."""
    try:
        if payload[:1] == bytes((dlms.ACCESS_RESPONSE,)):
            rsp = dlms.decode_access_response(payload)
            return ("dlms", tuple(rsp.results), tuple(_dlms(d) for d in rsp.data))
        if payload[:2] == gbz.HEADER:
            kinds: list[Shape] = []
            for c in gbz.decode(payload).components:
                if c.encrypted:
                    kind: Shape = (c.cluster, "encrypted")
                else:
                    z = c.zcl()
                    kind = (c.cluster, "cluster" if z.cluster_specific else "general", z.command)
                if not kinds or kinds[-1] != kind:
                    kinds.append(kind)
            return ("gbz", tuple(kinds))
        return ("asn1", _asn1(asn1.decode(payload)))
    except (GbcsError, ValueError, IndexError) as e:
        return ("undecodable", str(e))


def difference(received: Shape, expected: Shape, where: str = "payload") -> str | None:
    """Where ``received`` departs from ``expected`` (None: the same structure). An array matches
    when each of its elements looks like one of the reference's (either may be empty)."""
    if received == expected:
        return None
    if isinstance(received, frozenset) and isinstance(expected, frozenset):
        if not received or not expected:
            return None
        for item in received:
            if all(difference(item, r) is not None for r in expected):
                return f"{where}: element {item} is none of the reference's {sorted(map(str, expected))}"
        return None
    if isinstance(received, tuple) and isinstance(expected, tuple):
        if len(received) != len(expected):
            return f"{where}: {len(received)} items, the reference has {len(expected)}: received {received}, " \
                   f"expected {expected}"
        for i, (a, b) in enumerate(zip(received, expected, strict=True)):
            found = difference(a, b, f"{where}.{i}")
            if found:
                return found
        return None
    return f"{where}: received {received}, expected {expected}"
