"""The GBCS envelope as construct definitions: the declarative reference (GBCS 4.3).

These two Structs are the normative description of the envelope. The hot path in
:mod:`emulator.gbcs.frames` is a hand-written codec (construct parses a frame in
~60-110 us, against a budget of ~20 us for build + parse + verify), and the tests
check that both agree byte for byte on every reference vector and on generated
messages. :func:`parse` / :func:`build` here are the slow, obviously-right path.
"""

from __future__ import annotations

from typing import Any

from construct import (
    Bytes,
    Const,
    GreedyBytes,
    Int8ub,
    Int64ub,
    Prefixed,
    RawCopy,
    Struct,
    Terminated,
)

from emulator.gbcs._construct import BerLength, OptionalAtEnd

MAC_SIZE = 12
SECURITY_HEADER = b"\x11\x00\x00\x00\x00"

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



def parse(data: bytes) -> Any:
    """Parse with the reference definition (raises construct errors)."""
    return (GENERAL_CIPHERING if data[:1] == b"\xdd" else GENERAL_SIGNING).parse(data)


def build_general_signing(fields: dict[str, Any]) -> bytes:
    return bytes(GENERAL_SIGNING.build(fields))
