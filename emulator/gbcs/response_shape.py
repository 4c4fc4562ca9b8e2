"""The structure of a GBCS response payload, to hold a device's answer against a reference answer
(the RTDS response of the same use case) without its values: a conformance run asks "is this
the use case's response?", not "did the device read the same kWh?".

* DLMS (ESME, hub): per result its kind and whether it succeeded (the error code is a value),
  and per data item its type, structure arity and nesting; array lengths follow the device's
  state, so an array is the set of its elements' shapes; an encrypted part of a protected read
  (``31 00 00 00 00``...) is opaque. An access-response answers its access-request item for
  item (:func:`mirror_difference`; all 292 RTDS DLMS pairs do).
* GBZ (GSME, GPF): per component its cluster and ZCL command (encrypted components opaque);
  runs of the same kind (one per log entry) count once.
* ASN.1 (credentials, logs, firmware): the tag tree down to :data:`ASN1_DEPTH` levels (deeper lie
  certificates and their names, which are values); a SEQUENCE OF may hold any number of its
  element, an empty constructed element matches any of its tag.
"""

from __future__ import annotations

from emulator.gbcs import asn1, dlms, gbz
from emulator.gbcs.errors import GbcsError

Shape = object
ENCRYPTED_PREFIX = b"\x31\x00\x00\x00\x00"
ASN1_DEPTH = 4


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


def _asn1(t: asn1.Tlv, depth: int = 0) -> Shape:
    if t.children is None:
        return t.tag
    if depth >= ASN1_DEPTH:
        return (t.tag, "...")
    return (t.tag, tuple(_asn1(c, depth + 1) for c in t.children))


def shape(payload: bytes) -> Shape:
    """The structure of a response payload; a payload none of the three codecs reads is
    ``("undecodable", reason)``."""
    try:
        if payload[:1] == bytes((dlms.ACCESS_RESPONSE,)):
            rsp = dlms.decode_access_response(payload)
            results = tuple((kind, "success" if code == 0 else "error") for kind, code in rsp.results)
            return ("dlms", results, tuple(_dlms(d) for d in rsp.data))
        if payload[:2] == gbz.HEADER:
            kinds: list[Shape] = []
            for c in gbz.decode(payload).components:
                if c.encrypted:
                    kind: Shape = (c.cluster, "encrypted")
                else:
                    z = c.zcl()
                    kind = (c.cluster, "cluster" if z.header.cluster_specific else "general", z.header.command_id)
                if not kinds or kinds[-1] != kind:
                    kinds.append(kind)
            return ("gbz", tuple(kinds))
        return ("asn1", _asn1(asn1.decode(payload)))
    except (GbcsError, ValueError, IndexError) as e:
        return ("undecodable", str(e))


def render(s: Shape) -> str:
    """A shape as a reader wants it in a report: ``structure(enum, array[structure(...)])``."""
    if isinstance(s, frozenset):
        return "[" + " | ".join(sorted(render(x) for x in s)) + "]"
    if isinstance(s, tuple):
        if len(s) == 2 and s[0] == "array":
            return "array" + render(s[1])
        if len(s) == 2 and isinstance(s[0], str) and isinstance(s[1], tuple):
            return f"{s[0]}({', '.join(render(x) for x in s[1])})"
        if len(s) == 2 and isinstance(s[0], int):  # an ASN.1 constructed element
            inner = s[1] if isinstance(s[1], tuple) else (s[1],)
            return f"0x{s[0]:02X}{{{', '.join(render(x) for x in inner)}}}"
        return "(" + ", ".join(render(x) for x in s) + ")"
    if isinstance(s, int):
        return f"0x{s:02X}"
    return str(s)


def mirror_difference(response: bytes, command: bytes) -> str | None:
    """How a DLMS access-response fails to answer its access-request item for item (None: it
    does, or either is not DLMS): one result per request, of the same kind."""
    if response[:1] != bytes((dlms.ACCESS_RESPONSE,)) or command[:1] != bytes((dlms.ACCESS_REQUEST,)):
        return None
    try:
        asked = [dlms.SPEC_NAMES[dlms.GET if s.kind == dlms.GET_WITH_SELECTION else s.kind]
                 for s in dlms.decode_access_request(command).specs]
        got = [dlms.SPEC_NAMES.get(k, str(k)) for k, _ in dlms.decode_access_response(response).results]
    except (GbcsError, ValueError, KeyError) as e:
        return f"payload: not a DLMS access-response to its command ({e})"
    if asked == got:
        return None
    return (f"payload.results: {len(got)} result(s) {got} to the command's {len(asked)} request(s) {asked}; "
            f"expected one {'/'.join(sorted(set(asked))) or 'result'} result per request")


def _asn1_difference(received: Shape, expected: Shape, where: str) -> str | None:
    if received == expected or "..." in (received, expected):
        return None
    if not (isinstance(received, tuple) and isinstance(expected, tuple)) or received[0] != expected[0]:
        return f"{where}: received {render(received)}, expected {render(expected)}"
    got, ref = received[1], expected[1]
    if got == "..." or ref == "...":
        return None
    assert isinstance(got, tuple) and isinstance(ref, tuple)
    if not got or not ref:
        return None
    if len(set(got)) == 1 and len(set(ref)) == 1:  # a SEQUENCE OF (or one element): any number of them
        return _asn1_difference(got[0], ref[0], f"{where}.0")
    if len(got) != len(ref):
        return (f"{where}: {len(got)} elements, the reference has {len(ref)}: received {render(got)}, "
                f"expected {render(ref)}")
    for i, (a, b) in enumerate(zip(got, ref, strict=True)):
        found = _asn1_difference(a, b, f"{where}.{i}")
        if found:
            return found
    return None


def difference(received: Shape, expected: Shape, where: str = "payload") -> str | None:
    """Where ``received`` departs from ``expected`` (None: the same structure). An array matches
    when each of its elements looks like one of the reference's (either may be empty)."""
    if received == expected:
        return None
    if isinstance(received, tuple) and isinstance(expected, tuple) and received[:1] == expected[:1] == ("asn1",):
        return _asn1_difference(received[1], expected[1], where)
    if isinstance(received, frozenset) and isinstance(expected, frozenset):
        if not received or not expected:
            return None
        for item in received:
            if all(difference(item, r) is not None for r in expected):
                return f"{where}: element {render(item)} is none of the reference's {render(expected)}"
        return None
    if isinstance(received, tuple) and isinstance(expected, tuple):
        if len(received) != len(expected):
            return f"{where}: {len(received)} items, the reference has {len(expected)}: received " \
                   f"{render(received)}, expected {render(expected)}"
        for i, (a, b) in enumerate(zip(received, expected, strict=True)):
            found = difference(a, b, f"{where}.{i}")
            if found:
                return found
        return None
    return f"{where}: received {render(received)}, expected {render(expected)}"
