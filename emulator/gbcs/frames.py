"""The GBCS envelope: General Signing (``DF``) and General Ciphering (``DD``), GBCS 4.3.

One construct definition per frame form (``GENERAL_SIGNING`` and ``GENERAL_CIPHERING``)
sits behind the typed frozen dataclass :class:`Message`. ``decode`` raises only
:class:`~emulator.gbcs.errors.FrameError` subclasses, naming the field and byte offset.
The security layer (MAC, signatures) lives in :mod:`emulator.gbcs.security`; this module
only moves bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any

from construct import (
    Bytes,
    Const,
    ConstructError,
    GreedyBytes,
    Int8ub,
    Int64ub,
    Prefixed,
    RawCopy,
    Struct,
    Terminated,
)

from emulator.gbcs._construct import BerLength, OptionalAtEnd
from emulator.gbcs.dlms_datetime import SIZE as DATE_TIME_SIZE
from emulator.gbcs.dlms_datetime import DlmsDateTime
from emulator.gbcs.errors import DecodeError, EncodeError, TrailingDataError, TruncatedError

MAC_SIZE = 12
SIGNATURE_SIZE = 64
SECURITY_HEADER = b"\x11\x00\x00\x00\x00"  # security control 0x11 + zero invocation counter
GENERAL_CIPHERING_TAG = 0xDD
GENERAL_SIGNING_TAG = 0xDF


class Cra(IntEnum):
    """The CRA flag: what kind of message this is (GBCS 4.3.1)."""

    COMMAND = 0x01
    RESPONSE = 0x02
    ALERT = 0x03


# GBCS 4.3.2: the General Signing block. The signature trailer is a length-prefixed
# octet string (00 = none, 40 + r||s); a Pre-Command ends after the payload.
GENERAL_SIGNING = Struct(
    "tag" / Const(b"\xdf"),
    "transaction_id_length" / Const(b"\x09"),
    "cra" / Int8ub,
    "counter" / Int64ub,
    "originator_length" / Const(b"\x08"),
    "originator" / Bytes(8),
    "target_length" / Const(b"\x08"),
    "target" / Bytes(8),
    "date_time" / Prefixed(Int8ub, GreedyBytes),
    "other_info" / Prefixed(BerLength(), GreedyBytes),
    "payload" / Prefixed(BerLength(), GreedyBytes),
    "signature" / OptionalAtEnd(Prefixed(Int8ub, GreedyBytes)),
)

# GBCS 4.3.3: General Ciphering with an empty ciphered part: the MAC covers the
# security header and the whole General Signing block.
GENERAL_CIPHERING = Struct(
    "tag" / Const(b"\xdd"),
    "empty_fields" / Const(b"\x00" * 6),
    "body" / Prefixed(BerLength(), Struct(
        "security_header" / Const(SECURITY_HEADER),
        "general_signing" / RawCopy(GENERAL_SIGNING),
        "mac" / Bytes(MAC_SIZE),
        Terminated,
    )),
)


@dataclass(frozen=True, slots=True)
class OtherInfo:
    """The "other information" field: message code and the optional extras (GBCS 4.3.2.5).

    Lengths 2, 10, 18 and 26 carry the supplementary remote party id, its counter and
    the originator counter in turn; anything longer after the message code is kept as
    ``certificate`` (CS02 and CCS08 carry a certificate there).
    """

    message_code: int
    supplementary_remote_party_id: bytes | None = None
    supplementary_remote_party_counter: int | None = None
    supplementary_originator_counter: int | None = None
    certificate: bytes | None = None

    @classmethod
    def decode(cls, data: bytes, *, offset: int = 0) -> OtherInfo:
        n = len(data)
        if n < 2:
            raise DecodeError(f"other-info needs a 2-byte message code, has {n} bytes",
                              field="other_info", offset=offset)
        code = int.from_bytes(data[:2], "big")
        if n == 2:
            return cls(code)
        if n in (10, 18, 26):
            srp = data[2:10]
            srp_counter = int.from_bytes(data[10:18], "big") if n >= 18 else None
            orig_counter = int.from_bytes(data[18:26], "big") if n == 26 else None
            return cls(code, srp, srp_counter, orig_counter)
        if n > 26:
            return cls(code, certificate=data[2:])
        raise DecodeError(f"other-info length {n} is not 2, 10, 18, 26 or a certificate",
                          field="other_info", offset=offset)

    def encode(self) -> bytes:
        out = self.message_code.to_bytes(2, "big")
        if self.certificate is not None:
            if len(self.certificate) <= 24:
                raise EncodeError("a certificate in other-info must be longer than 24 bytes",
                                  field="other_info.certificate")
            return out + self.certificate
        if self.supplementary_remote_party_id is not None:
            if len(self.supplementary_remote_party_id) != 8:
                raise EncodeError("supplementary remote party id must be 8 bytes",
                                  field="other_info.supplementary_remote_party_id")
            out += self.supplementary_remote_party_id
            if self.supplementary_remote_party_counter is not None:
                out += self.supplementary_remote_party_counter.to_bytes(8, "big")
                if self.supplementary_originator_counter is not None:
                    out += self.supplementary_originator_counter.to_bytes(8, "big")
        return out


@dataclass(frozen=True, slots=True)
class Message:
    """A decoded GBCS message: the General Signing fields plus the outer form.

    ``mac`` is ``None`` for the bare ``DF`` form. ``signature`` is ``None`` when the
    message carries the ``00`` "no signature" byte; ``precommand`` is True for a
    Pre-Command, which has no signature byte at all.
    """

    cra: Cra
    counter: int
    originator: bytes
    target: bytes
    message_code: int
    payload: bytes
    date_time: DlmsDateTime | None = None
    other_info: OtherInfo | None = None  # None: just the message code
    signature: bytes | None = None
    precommand: bool = False
    mac: bytes | None = None
    mac_protected: bool = False
    #: The General Signing block as it stood on the wire (MAC additional data, signature input).
    signed_block: bytes = field(default=b"", compare=False, repr=False)

    @property
    def info(self) -> OtherInfo:
        return self.other_info if self.other_info is not None else OtherInfo(self.message_code)

    def signature_input(self) -> bytes:
        """The bytes an ECDSA signature covers: the block after ``DF`` up to the payload's end."""
        block = self.signed_block or encode_general_signing(self)
        trailer = 0 if self.precommand else 1 + (len(self.signature) if self.signature else 0)
        return block[1:len(block) - trailer]

    def with_(self, **changes: Any) -> Message:
        """A copy with fields changed and the cached wire block dropped."""
        return replace(self, signed_block=b"", **changes)


def _check_eui(value: bytes, name: str) -> None:
    if len(value) != 8:
        raise EncodeError(f"{name} must be an 8-byte EUI-64, got {len(value)} bytes", field=name)


def encode_general_signing(msg: Message) -> bytes:
    """The General Signing block of ``msg`` (the whole message for the ``DF`` form)."""
    _check_eui(msg.originator, "originator")
    _check_eui(msg.target, "target")
    if not 0 <= msg.counter < 1 << 64:
        raise EncodeError("counter must fit in 64 bits", field="counter")
    if msg.precommand and msg.signature is not None:
        raise EncodeError("a Pre-Command carries no signature", field="signature")
    if msg.signature is not None and len(msg.signature) != SIGNATURE_SIZE:
        raise EncodeError(f"signature must be {SIGNATURE_SIZE} bytes", field="signature")
    other = msg.other_info if msg.other_info is not None else OtherInfo(msg.message_code)
    if other.message_code != msg.message_code:
        raise EncodeError("other_info.message_code differs from message_code", field="message_code")
    try:
        return bytes(GENERAL_SIGNING.build({
            "cra": int(msg.cra),
            "counter": msg.counter,
            "originator": msg.originator,
            "target": msg.target,
            "date_time": msg.date_time.encode() if msg.date_time is not None else b"",
            "other_info": other.encode(),
            "payload": msg.payload,
            "signature": None if msg.precommand else (msg.signature or b""),
        }))
    except (ConstructError, ValueError) as e:
        raise EncodeError(f"cannot encode: {e}") from e


def encode(msg: Message) -> bytes:
    """Wire bytes of ``msg``. A MAC-protected message needs its ``mac`` set (see security.seal)."""
    block = encode_general_signing(msg)
    if not msg.mac_protected:
        return block
    if msg.mac is None or len(msg.mac) != MAC_SIZE:
        raise EncodeError(f"a General Ciphering message needs a {MAC_SIZE}-byte MAC", field="mac")
    return wrap_general_ciphering(block, msg.mac)


def wrap_general_ciphering(block: bytes, mac: bytes) -> bytes:
    """``DD`` envelope around a General Signing ``block`` and its ``mac``."""
    from emulator.gbcs._construct import ber_length

    inner_len = len(SECURITY_HEADER) + len(block) + len(mac)
    return b"\xdd" + b"\x00" * 6 + ber_length(inner_len) + SECURITY_HEADER + block + mac


def decode(data: bytes) -> Message:
    """Parse one GBCS message. Raises a :class:`FrameError` subclass naming field and offset."""
    if not data:
        raise TruncatedError("empty message", field="tag", offset=0)
    tag = data[0]
    if tag == GENERAL_CIPHERING_TAG:
        fmt = GENERAL_CIPHERING
    elif tag == GENERAL_SIGNING_TAG:
        fmt = GENERAL_SIGNING
    else:
        raise DecodeError(f"unknown envelope tag 0x{tag:02X} (expected DD or DF)", field="tag", offset=0)
    try:
        parsed = fmt.parse(data)
    except ConstructError as e:
        raise _locate(fmt, data, e) from e
    if tag == GENERAL_CIPHERING_TAG:
        body = parsed.body
        gs = body.general_signing.value
        block = bytes(body.general_signing.data)
        mac: bytes | None = bytes(body.mac)
        block_offset = len(data) - MAC_SIZE - len(block)
        consumed = len(data)
    else:
        gs, block, mac, block_offset = parsed, data, None, 0
        consumed = _general_signing_size(gs)
    if consumed != len(data):
        raise TrailingDataError(f"{len(data) - consumed} bytes after the message", field="end",
                                offset=consumed)
    return _from_parsed(gs, block, mac, block_offset)


def _general_signing_size(gs: Any) -> int:
    n = 2 + 1 + 8 + 9 + 9 + 1 + len(gs.date_time)
    n += len(_ber(len(gs.other_info))) + len(gs.other_info)
    n += len(_ber(len(gs.payload))) + len(gs.payload)
    if gs.signature is not None:
        n += 1 + len(gs.signature)
    return int(n)


def _ber(n: int) -> bytes:
    from emulator.gbcs._construct import ber_length

    return ber_length(n)


def _from_parsed(gs: Any, block: bytes, mac: bytes | None, base: int) -> Message:
    # Offsets inside the block are fixed up to the date-time; compute the rest as we go.
    off = base + 29
    if gs.cra not in (1, 2, 3):
        raise DecodeError(f"CRA flag 0x{gs.cra:02X} is not 01, 02 or 03", field="cra", offset=base + 2)
    dt_raw = bytes(gs.date_time)
    date_time: DlmsDateTime | None = None
    if dt_raw:
        if len(dt_raw) != DATE_TIME_SIZE:
            raise DecodeError(f"date-time length {len(dt_raw)} is not 0 or 12", field="date_time",
                              offset=off)
        date_time = DlmsDateTime.decode(dt_raw, offset=off + 1)
    off += 1 + len(dt_raw)
    oi_raw = bytes(gs.other_info)
    other = OtherInfo.decode(oi_raw, offset=off)
    off += len(_ber(len(oi_raw))) + len(oi_raw)
    payload = bytes(gs.payload)
    off += len(_ber(len(payload))) + len(payload)
    sig_raw = gs.signature
    signature: bytes | None = None
    precommand = sig_raw is None
    if sig_raw is not None and len(sig_raw) != 0:
        if len(sig_raw) != SIGNATURE_SIZE:
            raise DecodeError(f"signature length {len(sig_raw)} is not 0 or 64", field="signature",
                              offset=off)
        signature = bytes(sig_raw)
    if precommand and mac is not None:
        raise DecodeError("a MAC-protected message must carry a signature byte", field="signature",
                          offset=off)
    return Message(
        cra=Cra(gs.cra),
        counter=gs.counter,
        originator=bytes(gs.originator),
        target=bytes(gs.target),
        message_code=other.message_code,
        payload=payload,
        date_time=date_time,
        other_info=None if oi_raw == other.message_code.to_bytes(2, "big") else other,
        signature=signature,
        precommand=precommand,
        mac=mac,
        mac_protected=mac is not None,
        signed_block=block,
    )


def _locate(fmt: Any, data: bytes, error: ConstructError) -> DecodeError:
    """Re-parse field by field to name the field and offset where ``error`` happened."""
    stream = io.BytesIO(data)
    path: list[str] = []
    field_name, offset = _walk(fmt, stream, path)
    reason = str(error).split("\n")[-1].strip()
    if "expected" in reason and "found" in reason:
        reason = f"unexpected bytes: {reason}"
    cls = TruncatedError if ("could not read enough bytes" in reason or "stream read less" in reason) \
        else DecodeError
    return cls(reason or type(error).__name__, field=field_name or ".".join(path), offset=offset)


def _walk(fmt: Any, stream: io.BytesIO, path: list[str]) -> tuple[str, int]:
    """Parse ``fmt`` subcon by subcon; return the dotted name and offset of the first failure."""
    inner = getattr(fmt, "subcons", None)
    if inner is None:
        return ".".join(path), stream.tell()
    ctx: dict[str, Any] = {}
    for sub in inner:
        here = stream.tell()
        name = sub.name or type(sub).__name__
        try:
            ctx[name] = sub._parsereport(stream, ctx, "(diagnose)")
        except ConstructError:
            target = getattr(sub, "subcon", None)
            if isinstance(target, Struct | RawCopy) or getattr(target, "subcons", None) is not None:
                # Prefixed(Struct) or RawCopy(Struct): descend into the body after the prefix.
                stream.seek(here)
                length_con = getattr(sub, "lengthfield", None)
                if length_con is not None:
                    try:
                        length_con._parsereport(stream, ctx, "(diagnose)")
                    except ConstructError:
                        return ".".join([*path, name, "length"]), here
                body = target.subcon if isinstance(target, RawCopy) else target
                return _walk(body, stream, [*path, name])
            if isinstance(sub, RawCopy):
                stream.seek(here)
                return _walk(sub.subcon, stream, [*path, name])
            return ".".join([*path, name]), here
    return ".".join(path) or "end", stream.tell()
