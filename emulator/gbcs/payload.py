"""Payload dispatch: DLMS, GBZ or ASN.1 by first byte, with encrypted parts opened when
the keys allow. ``decode_payload`` never raises: what it cannot parse is kept as raw bytes
in an :class:`UnknownPayload` with the reason (an emulator must survive future use cases).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from emulator.gbcs import asn1, dlms, gbz
from emulator.gbcs.errors import GbcsError
from emulator.zigbee.jsonvalue import Json, JsonObject

Decrypt = Callable[[bytes], bytes]
#: What a payload decoded to (None: nothing could be parsed).
Parsed: TypeAlias = (dlms.AccessRequest | dlms.AccessResponse | dlms.DataNotification | gbz.GbzPayload | asn1.Tlv
                     | None)
_ENCRYPTED = b"\x31\x00\x00\x00\x00"


@dataclass(frozen=True, slots=True)
class Payload:
    kind: str  # dlms-access-request, dlms-access-response, dlms-data-notification, gbz, asn1, unknown
    raw: bytes
    parsed: Parsed = None
    tree: JsonObject | None = None
    reason: str = ""

    def encode(self) -> bytes:
        return self.raw

    def to_tree(self) -> JsonObject:
        if self.tree is not None:
            return self.tree
        return {"kind": "unknown", "hex": self.raw.hex().upper(), "reason": self.reason}


def UnknownPayload(raw: bytes, reason: str) -> Payload:
    return Payload("unknown", raw, None, None, reason)


def _open(part: bytes, decrypt: Decrypt | None) -> JsonObject:
    """Tree for an encrypted part: decrypted (and parsed when it is DLMS data) if we can."""
    node: JsonObject = {"encrypted": part.hex().upper()}
    if decrypt is None:
        return node
    try:
        plain = decrypt(part)
    except GbcsError as e:
        node["decrypt_error"] = str(e)
        return node
    node["plaintext"] = plain.hex().upper()
    try:
        value, end = dlms.decode_data(plain, 0)
        if end == len(plain):
            node["data"] = value.to_tree()
    except GbcsError:
        pass
    return node


def _dlms_tree(items: tuple[dlms.Data, ...], decrypt: Decrypt | None) -> list[Json]:
    out: list[Json] = []
    for d in items:
        if d.type == "octet-string" and bytes(d.value).startswith(_ENCRYPTED):
            out.append(_open(bytes(d.value), decrypt))
        else:
            out.append(d.to_tree())
    return out


def _spec_tree(s: dlms.RequestSpec) -> Json:
    return {"kind": dlms.SPEC_NAMES[s.kind], "class_id": s.class_id,
            "obis": ".".join(str(b) for b in s.obis), "attribute": s.attribute}


def decode_payload(data: bytes, *, message_code: int | None = None, cra: int | None = None,
                   decrypt: Decrypt | None = None) -> Payload:
    """Decode a GBCS payload into a tree; never raises."""
    if not data:
        return UnknownPayload(data, "empty payload")
    try:
        first = data[0]
        if first == dlms.ACCESS_REQUEST:
            req = dlms.decode_access_request(data)
            return Payload("dlms-access-request", data, req, {
                "kind": "dlms-access-request", "invoke_id": f"0x{req.invoke_id:08X}",
                "specs": [_spec_tree(s) for s in req.specs], "data": _dlms_tree(req.data, decrypt)})
        if first == dlms.ACCESS_RESPONSE:
            rsp = dlms.decode_access_response(data)
            return Payload("dlms-access-response", data, rsp, {
                "kind": "dlms-access-response", "invoke_id": f"0x{rsp.invoke_id:08X}",
                "data": _dlms_tree(rsp.data, decrypt),
                "results": [{"kind": dlms.SPEC_NAMES.get(k, k), "result": r} for k, r in rsp.results]})
        if first == dlms.DATA_NOTIFICATION and cra != 1:
            note = dlms.decode_data_notification(data)
            return Payload("dlms-data-notification", data, note, {
                "kind": "dlms-data-notification", "alert_code": f"0x{note.alert_code:04X}",
                "timestamp": note.timestamp.hex().upper(), "content": _dlms_tree(note.content, decrypt)})
        if data[:2] == gbz.HEADER:
            g = gbz.decode(data, alert=cra == 3)
            nodes = g.component_trees()
            for comp, node in zip(g.components, nodes, strict=True):
                if comp.encrypted:
                    try:
                        _, part = comp.encrypted_part()
                        node.update(_open(part, decrypt))
                    except GbcsError as e:
                        node["error"] = str(e)
            return Payload("gbz", data, g, g.to_tree(nodes))
        t = asn1.decode(data)
        return Payload("asn1", data, t, {"kind": "asn1", "value": t.to_tree()})
    except GbcsError as e:
        return UnknownPayload(data, str(e))
    except (ValueError, IndexError, TypeError, OverflowError) as e:  # a decoder bug must not stop a device
        return UnknownPayload(data, f"{type(e).__name__}: {e}")
