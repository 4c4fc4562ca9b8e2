"""The GBCS layer's exception tree.

Every error carries the code that goes back on the wire (``response_code``) so a
device or the DSP can answer with it without a lookup table of exception types.
Parsers raise only :class:`FrameError` subclasses; third-party errors are wrapped
with ``raise ... from``.
"""

from __future__ import annotations


class GbcsError(Exception):
    """Base of every error raised by ``emulator.gbcs``."""

    #: GBCS / DUIS response code that reports this error to the peer.
    response_code: str = "E1"


class FrameError(GbcsError):
    """Bytes that are not a valid GBCS message (or a value that cannot be encoded)."""

    def __init__(self, message: str, *, field: str = "", offset: int | None = None) -> None:
        self.field = field
        self.offset = offset
        where = []
        if field:
            where.append(f"field {field!r}")
        if offset is not None:
            where.append(f"offset {offset}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)
        self.reason = message


class DecodeError(FrameError):
    """The peer sent bytes we cannot parse: truncated, wrong tag, bad length."""

    response_code = "E1"


class TruncatedError(DecodeError):
    """The message ends before a field it declares."""


class TrailingDataError(DecodeError):
    """Bytes remain after a complete message."""


class EncodeError(FrameError):
    """Our own caller asked for something the wire format cannot carry."""


class SecurityError(GbcsError):
    """A message failed a security check. GBCS alert 0x8F3D covers most of these."""

    alert_code: int = 0x8F3D


class MacError(SecurityError):
    """The GCM tag does not verify with the keys of the parties named in the message."""


class SignatureError(SecurityError):
    """The ECDSA signature does not verify against the originator's DS key."""


class ReplayError(SecurityError):
    """The originator counter is not above the last counter accepted from that party."""

    alert_code = 0x8F3D


class UnknownKeyError(SecurityError):
    """The key store holds no key for a party the check needs."""

    def __init__(self, eui: bytes, usage: str) -> None:
        self.eui = eui
        self.usage = usage
        super().__init__(f"no {usage} key for {eui.hex().upper()}")
