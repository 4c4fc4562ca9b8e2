"""The GBCS envelope: General Signing (``DF``) and General Ciphering (``DD``), GBCS 4.3.

One construct definition per frame form (``GENERAL_SIGNING`` and ``GENERAL_CIPHERING``)
sits behind the typed frozen dataclass :class:`Message`. ``decode`` raises only
:class:`~emulator.gbcs.errors.FrameError` subclasses, naming the field and byte offset.
The security layer (MAC, signatures) lives in :mod:`emulator.gbcs.security`; this module
only moves bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from emulator.gbcs._construct import ber_length, read_ber_length
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


@dataclass(frozen=True, slots=True, init=False)
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

    def __init__(self, cra: Cra, counter: int, originator: bytes, target: bytes, message_code: int,
                 payload: bytes, date_time: DlmsDateTime | None = None,
                 other_info: OtherInfo | None = None, signature: bytes | None = None,
                 precommand: bool = False, mac: bytes | None = None, mac_protected: bool = False,
                 signed_block: bytes = b"") -> None:
        # Hand-written because this is the hot path of every frame: the generated frozen
        # __init__ costs ~3.4 us for 13 fields, a bound object.__setattr__ ~1 us, the slots' own
        # descriptors less again.
        _S_CRA(self, cra)
        _S_COUNTER(self, counter)
        _S_ORIGINATOR(self, originator)
        _S_TARGET(self, target)
        _S_MESSAGE_CODE(self, message_code)
        _S_PAYLOAD(self, payload)
        _S_DATE_TIME(self, date_time)
        _S_OTHER_INFO(self, other_info)
        _S_SIGNATURE(self, signature)
        _S_PRECOMMAND(self, precommand)
        _S_MAC(self, mac)
        _S_MAC_PROTECTED(self, mac_protected)
        _S_SIGNED_BLOCK(self, signed_block)

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
        fields = {name: getattr(self, name) for name in _MESSAGE_FIELDS}
        fields.update(changes)
        fields["signed_block"] = b""
        return Message(**fields)


_MESSAGE_FIELDS = tuple(Message.__dataclass_fields__)
(_S_CRA, _S_COUNTER, _S_ORIGINATOR, _S_TARGET, _S_MESSAGE_CODE, _S_PAYLOAD, _S_DATE_TIME, _S_OTHER_INFO, _S_SIGNATURE,
 _S_PRECOMMAND, _S_MAC, _S_MAC_PROTECTED, _S_SIGNED_BLOCK) = (
    Message.__dict__[name].__set__ for name in _MESSAGE_FIELDS)


def _check_eui(value: bytes, name: str) -> None:
    if len(value) != 8:
        raise EncodeError(f"{name} must be an 8-byte EUI-64, got {len(value)} bytes", field=name)


_BER_CACHE = [ber_length(i) for i in range(256)]


def _ber(n: int) -> bytes:
    return _BER_CACHE[n] if n < 256 else ber_length(n)


def encode_general_signing(msg: Message) -> bytes:
    """The General Signing block of ``msg`` (the whole message for the ``DF`` form)."""
    if len(msg.originator) != 8:
        _check_eui(msg.originator, "originator")
    if len(msg.target) != 8:
        _check_eui(msg.target, "target")
    if not 0 <= msg.counter < 1 << 64:
        raise EncodeError("counter must fit in 64 bits", field="counter")
    if msg.other_info is None:
        other = msg.message_code.to_bytes(2, "big")
    else:
        if msg.other_info.message_code != msg.message_code:
            raise EncodeError("other_info.message_code differs from message_code", field="message_code")
        other = msg.other_info.encode()
    if msg.precommand:
        if msg.signature is not None:
            raise EncodeError("a Pre-Command carries no signature", field="signature")
        trailer = b""
    elif msg.signature is None:
        trailer = b"\x00"
    elif len(msg.signature) == SIGNATURE_SIZE:
        trailer = b"\x40" + msg.signature
    else:
        raise EncodeError(f"signature must be {SIGNATURE_SIZE} bytes", field="signature")
    dt = b"\x00" if msg.date_time is None else b"\x0c" + msg.date_time.encode()
    if len(msg.payload) > 0xFFFF:
        raise EncodeError("payload longer than 65535 bytes", field="payload")
    return b"".join((
        b"\xdf\x09", _CRA_BYTES[msg.cra], msg.counter.to_bytes(8, "big"),
        b"\x08", msg.originator, b"\x08", msg.target, dt,
        _ber(len(other)), other, _ber(len(msg.payload)), msg.payload, trailer,
    ))


_CRA_BYTES = {Cra.COMMAND: b"\x01", Cra.RESPONSE: b"\x02", Cra.ALERT: b"\x03"}
_CRAS = (Cra.COMMAND, Cra.COMMAND, Cra.RESPONSE, Cra.ALERT)  # index by wire value (0 unused)


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
    inner_len = len(SECURITY_HEADER) + len(block) + len(mac)
    return b"".join((b"\xdd\x00\x00\x00\x00\x00\x00", _ber(inner_len), SECURITY_HEADER, block, mac))


_read_ber = read_ber_length


def decode(data: bytes) -> Message:
    """Parse one GBCS message. Raises a :class:`FrameError` subclass naming field and offset."""
    if type(data) is not bytes:
        data = bytes(data)
    n = len(data)
    if not n:
        raise TruncatedError("empty message", field="tag", offset=0)
    tag = data[0]
    if tag == GENERAL_SIGNING_TAG:
        return _decode_general_signing(data, 0, n, None)
    if tag != GENERAL_CIPHERING_TAG:
        raise DecodeError(f"unknown envelope tag 0x{tag:02X} (expected DD or DF)", field="tag", offset=0)
    if n < 8:
        raise TruncatedError("message ends inside the General Ciphering header", field="empty_fields",
                             offset=1)
    if data[1:7] != b"\x00" * 6:
        raise DecodeError("General Ciphering fields 1-6 must be empty (00)", field="empty_fields", offset=1)
    length, pos = _read_ber(data, 7, "length")
    end = pos + length
    if end > n:
        raise TruncatedError(f"length says {length} bytes, {n - pos} follow", field="length", offset=7)
    if end < n:
        raise TrailingDataError(f"{n - end} bytes after the message", field="end", offset=end)
    if data[pos:pos + 5] != SECURITY_HEADER:
        raise DecodeError(f"security header must be 1100000000, found {data[pos:pos + 5].hex()}",
                          field="security_header", offset=pos)
    mac_start = end - MAC_SIZE
    if mac_start < pos + 5 + 29:
        raise TruncatedError("too short for a General Signing block and a MAC", field="general_signing",
                             offset=pos + 5)
    return _decode_general_signing(data, pos + 5, mac_start, data[mac_start:end])


def _decode_general_signing(data: bytes, start: int, limit: int, mac: bytes | None) -> Message:
    if data[start] != GENERAL_SIGNING_TAG:
        raise DecodeError(f"expected General Signing tag DF, found {data[start]:02X}", field="tag",
                          offset=start)
    if limit - start < 30:
        raise TruncatedError("message ends inside the General Signing header",
                             field="general_signing", offset=start)
    if data[start + 1] != 0x09:
        raise DecodeError(f"transaction id length must be 09, found {data[start + 1]:02X}",
                          field="transaction_id_length", offset=start + 1)
    cra = data[start + 2]
    if cra not in (1, 2, 3):
        raise DecodeError(f"CRA flag 0x{cra:02X} is not 01, 02 or 03", field="cra", offset=start + 2)
    counter = int.from_bytes(data[start + 3:start + 11], "big")
    if data[start + 11] != 0x08:
        raise DecodeError("originator length must be 08", field="originator_length", offset=start + 11)
    originator = data[start + 12:start + 20]
    if data[start + 20] != 0x08:
        raise DecodeError("target length must be 08", field="target_length", offset=start + 20)
    target = data[start + 21:start + 29]
    pos = start + 29
    dt_len = data[pos]
    date_time: DlmsDateTime | None = None
    if dt_len:
        if dt_len != DATE_TIME_SIZE:
            raise DecodeError(f"date-time length {dt_len} is not 0 or 12", field="date_time", offset=pos)
        if pos + 13 > limit:
            raise TruncatedError("message ends inside the date-time", field="date_time", offset=pos)
        date_time = DlmsDateTime.decode(data[pos + 1:pos + 13], offset=pos + 1)
    pos += 1 + dt_len
    oi_len, oi_pos = _read_ber(data, pos, "other_info")
    if oi_pos + oi_len > limit:
        raise TruncatedError(f"other-info length {oi_len} runs past the end", field="other_info", offset=pos)
    oi_raw = data[oi_pos:oi_pos + oi_len]
    if oi_len == 2:
        other: OtherInfo | None = None
        message_code = int.from_bytes(oi_raw, "big")
    else:
        other = OtherInfo.decode(oi_raw, offset=oi_pos)
        message_code = other.message_code
    pos = oi_pos + oi_len
    pl_len, pl_pos = _read_ber(data, pos, "payload")
    if pl_pos + pl_len > limit:
        raise TruncatedError(f"payload length {pl_len} runs past the end", field="payload", offset=pos)
    payload = data[pl_pos:pl_pos + pl_len]
    pos = pl_pos + pl_len
    signature: bytes | None = None
    precommand = False
    if pos == limit:
        if mac is not None:
            raise TruncatedError("a MAC-protected message must carry a signature byte", field="signature",
                                 offset=pos)
        precommand = True
    else:
        sig_len = data[pos]
        if sig_len not in (0, SIGNATURE_SIZE):
            raise DecodeError(f"signature length {sig_len} is not 0 or 64", field="signature", offset=pos)
        if pos + 1 + sig_len > limit:
            raise TruncatedError("message ends inside the signature", field="signature", offset=pos)
        if sig_len:
            signature = data[pos + 1:pos + 1 + sig_len]
        pos += 1 + sig_len
        if pos != limit:
            field_name = "mac" if mac is not None else "end"
            raise TrailingDataError(f"{limit - pos} unexpected bytes after the signature",
                                    field=field_name, offset=pos)
    return Message(_CRAS[cra], counter, originator, target, message_code, payload, date_time, other,
                   signature, precommand, mac, mac is not None, data[start:limit])
