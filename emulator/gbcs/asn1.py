"""ASN.1 DER for the security, join and firmware use cases (CS02, CS03, CS04, CS06, CS08, CCS08).

A generic TLV tree that re-encodes byte for byte, plus typed helpers for the few
structures the devices build and check.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from emulator.gbcs.errors import DecodeError, TruncatedError
from emulator.zigbee.jsonvalue import JsonObject

SEQUENCE = 0x30
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
ENUMERATED = 0x0A
GENERALIZED_TIME = 0x18
BIT_STRING = 0x03


@dataclass(frozen=True, slots=True)
class Tlv:
    tag: int
    value: bytes
    children: tuple[Tlv, ...] | None = None  # parsed content of a constructed tag
    #: The length octets as received when not in minimal form (real GBCS messages carry
    #: some, e.g. 82 00 5F), so a decoded element re-encodes byte for byte.
    raw_length: bytes | None = None

    @property
    def constructed(self) -> bool:
        return bool(self.tag & 0x20)

    def encode(self) -> bytes:
        body = b"".join(c.encode() for c in self.children) if self.children is not None else self.value
        length = self.raw_length
        if length is None or int.from_bytes(length[1:], "big") != len(body):
            length = _length(len(body))
        return bytes((self.tag,)) + length + body

    def int(self) -> int:
        return int.from_bytes(self.value, "big", signed=True) if self.value else 0

    def to_tree(self) -> JsonObject:
        name = _NAMES.get(self.tag, f"tag-0x{self.tag:02X}")
        if self.children is not None:
            return {name: [c.to_tree() for c in self.children]}
        if self.tag in (INTEGER, ENUMERATED):
            return {name: self.int()}
        if self.tag == GENERALIZED_TIME:
            return {name: self.value.decode("ascii", "replace")}
        if self.tag == NULL:
            return {name: None}
        return {name: self.value.hex().upper()}


_NAMES = {SEQUENCE: "sequence", INTEGER: "integer", OCTET_STRING: "octet-string", NULL: "null",
          ENUMERATED: "enumerated", GENERALIZED_TIME: "generalized-time", BIT_STRING: "bit-string",
          0x31: "set", 0x06: "oid", 0x13: "printable-string", 0x0C: "utf8-string", 0x17: "utc-time"}


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def decode_tlv(data: bytes, pos: int = 0, depth: int = 0) -> tuple[Tlv, int]:
    """One DER element at ``pos``; constructed elements are parsed recursively."""
    if depth > 24:
        raise DecodeError("ASN.1 nested too deeply", field="asn1", offset=pos)
    if pos + 2 > len(data):
        raise TruncatedError("ends inside an ASN.1 header", field="asn1", offset=pos)
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise DecodeError("multi-byte ASN.1 tags are not used in GBCS", field="asn1.tag", offset=pos)
    first = data[pos + 1]
    hdr = pos + 2
    if first < 0x80:
        n = first
    else:
        count = first & 0x7F
        if count == 0 or count > 3 or hdr + count > len(data):
            raise DecodeError(f"bad ASN.1 length form 0x{first:02X}", field="asn1.length", offset=pos + 1)
        n = int.from_bytes(data[hdr:hdr + count], "big")
        hdr += count
    raw_length = data[pos + 1:hdr] if first >= 0x80 and _length(n) != data[pos + 1:hdr] else None
    end = hdr + n
    if end > len(data):
        raise TruncatedError(f"ASN.1 length {n} runs past the end", field="asn1.length", offset=pos + 1)
    value = data[hdr:end]
    if tag & 0x20:
        children = []
        p = hdr
        while p < end:
            child, p = decode_tlv(data[:end], p, depth + 1)
            children.append(child)
        return Tlv(tag, value, tuple(children), raw_length), end
    return Tlv(tag, value, None, raw_length), end


def decode(data: bytes) -> Tlv:
    tlv, end = decode_tlv(data)
    if end != len(data):
        raise DecodeError(f"{len(data) - end} bytes after the ASN.1 element", field="asn1.end", offset=end)
    return tlv


def integer(value: int) -> Tlv:
    n = max(1, (value.bit_length() + 8) // 8)
    return Tlv(INTEGER, value.to_bytes(n, "big", signed=True))


def sequence(*items: Tlv) -> Tlv:
    return Tlv(SEQUENCE, b"", tuple(items))


def octets(value: bytes) -> Tlv:
    return Tlv(OCTET_STRING, value)


def generalized_time(unix: float) -> Tlv:
    t = _dt.datetime.fromtimestamp(unix, _dt.UTC)
    return Tlv(GENERALIZED_TIME, t.strftime("%Y%m%d%H%M%SZ").encode())


def parse_generalized_time(tlv: Tlv) -> float | None:
    """Unix seconds, or None for the all-9s "cancel"/never value or a malformed time."""
    text = tlv.value.decode("ascii", "replace")
    if text.startswith("9999"):
        return None
    try:
        return _dt.datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=_dt.UTC).timestamp()
    except ValueError:
        return None


# --- CS06 Activate Firmware (GBCS use case; gbcs.md "Payloads") ---------------------------

@dataclass(frozen=True, slots=True)
class ActivateFirmware:
    image_hash: bytes
    originator_counter: int
    execution_time: float | None = None  # None: immediately
    cancel: bool = False

    def encode(self) -> bytes:
        items = [octets(self.image_hash), integer(self.originator_counter)]
        if self.cancel:
            items.append(Tlv(GENERALIZED_TIME, b"99991231235959Z"))
        elif self.execution_time is not None:
            items.append(generalized_time(self.execution_time))
        return sequence(*items).encode()

    @classmethod
    def decode(cls, data: bytes) -> ActivateFirmware:
        tlv = decode(data)
        kids = tlv.children or ()
        if tlv.tag != SEQUENCE or len(kids) < 2 or kids[0].tag != OCTET_STRING or kids[1].tag != INTEGER:
            raise DecodeError("CS06 must be SEQUENCE {hash, counter [, time]}", field="cs06", offset=0)
        when, cancel = None, False
        if len(kids) > 2:
            if kids[2].tag != GENERALIZED_TIME:
                raise DecodeError("CS06 execution time must be GeneralizedTime", field="cs06.time", offset=0)
            when = parse_generalized_time(kids[2])
            cancel = when is None
        return cls(kids[0].value, kids[1].int(), when, cancel)


def activate_firmware_response(code: int, version: bytes) -> bytes:
    """CS06 response: SEQUENCE { result ENUMERATED/INTEGER, firmware version OCTET STRING }."""
    return sequence(Tlv(INTEGER, bytes((code,))), octets(version)).encode()


def firmware_version_response(version: bytes) -> bytes:
    """CS08 Read Firmware Version (CHF) response: SEQUENCE { version, result }."""
    return sequence(octets(version), integer(0)).encode()


def firmware_transfer_alert(alert_code: int, when: float, device: bytes, version: bytes, result: int) -> bytes:
    """CCS08 firmware transfer alert: code (8F89 fail / 8F8A success), time, device, version, result."""
    return sequence(integer(alert_code), generalized_time(when), octets(device), octets(version),
                    integer(result)).encode()


@dataclass(frozen=True, slots=True)
class FirmwareTransferAlert:
    """CCS08 (message code 0x0128), sent by the CHF about one device: SEQUENCE { alert code
    (8F89 fail / 8F8A success), execution date-time, entity id (the device the image was for,
    not the hub), firmware version, response code (0 success, 1 image discarded, 2 hardware
    version mismatch, 3 file transfer failure) }."""

    alert_code: int
    when: float | None
    entity: bytes
    version: bytes
    result: int

    @classmethod
    def decode(cls, data: bytes) -> FirmwareTransferAlert:
        kids = decode(data).children or ()
        if len(kids) != 5 or [k.tag for k in kids] != [INTEGER, GENERALIZED_TIME, OCTET_STRING, OCTET_STRING,
                                                       INTEGER]:
            raise DecodeError("CCS08 alert must be SEQUENCE {code, time, entity, version, result}",
                              field="ccs08", offset=0)
        return cls(kids[0].int(), parse_generalized_time(kids[1]), kids[2].value, kids[3].value, kids[4].int())


NULL_RESPONSE = Tlv(NULL, b"").encode()  # future-dated acknowledgement


def device_encode(tlv: Tlv) -> bytes:
    """DER as the reference devices write it: lengths of 128 and more always in the
    two-byte long form (``82 00 83``, never ``81 83``), as every RTDS device response does."""

    def walk(t: Tlv) -> Tlv:
        kids = tuple(walk(c) for c in t.children) if t.children is not None else None
        body = b"".join(k.encode() for k in kids) if kids is not None else t.value
        raw = b"\x82" + len(body).to_bytes(2, "big") if 128 <= len(body) <= 0xFFFF else None
        return Tlv(t.tag, t.value, kids, raw)

    return walk(tlv).encode()
