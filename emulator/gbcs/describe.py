"""Decode-and-check a GBCS message into a JSON-able report (used by the CLI and traces)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from emulator.gbcs import catalogue, frames, security
from emulator.gbcs.errors import FrameError, GbcsError, SecurityError, UnknownKeyError
from emulator.gbcs.frames import Cra, Message
from emulator.gbcs.keys import KeyStore
from emulator.zigbee.jsonvalue import JsonObject

Verdict = Literal["valid", "invalid", "absent", "unknown-key"]


def _verdict(keys: KeyStore | None, present: bool, check: Callable[[KeyStore], None]) -> Verdict:
    if not present:
        return "absent"
    if keys is None:
        return "unknown-key"
    try:
        check(keys)
    except UnknownKeyError:
        return "unknown-key"
    except SecurityError:
        return "invalid"
    return "valid"


def payload_tree(msg: Message, keys: KeyStore | None) -> JsonObject:
    """The payload as a tree; encrypted parts are decrypted when the keys allow."""
    from emulator.gbcs.payload import decode_payload

    decrypt = None
    if keys is not None:
        k = keys

        def decrypt(part: bytes) -> bytes:
            return security.decrypt_part(k, msg.originator, msg.target, msg.counter, part)

    return decode_payload(msg.payload, message_code=msg.message_code, cra=int(msg.cra), decrypt=decrypt).to_tree()


def describe(data: bytes, keys: KeyStore | None = None) -> JsonObject:
    """Everything a tester wants to know about one message, or an ``error`` naming field and offset."""
    try:
        msg = frames.decode(data)
    except FrameError as e:
        return {"error": e.reason, "field": e.field, "offset": e.offset, "error_type": type(e).__name__}
    info = catalogue.message_codes().get(msg.message_code)
    out: JsonObject = {
        "form": "general-ciphering" if msg.mac_protected else "general-signing",
        "cra": Cra(msg.cra).name.lower(),
        "counter": msg.counter,
        "originator": msg.originator.hex().upper(),
        "target": msg.target.hex().upper(),
        "message_code": f"0x{msg.message_code:04X}",
        "use_case": info.use_case_id if info else None,
        "use_case_name": info.use_case if info else None,
        "date_time": msg.date_time.iso() if msg.date_time else None,
        "precommand": msg.precommand,
        "mac": _verdict(keys, msg.mac is not None, lambda k: security.verify_mac(k, msg)),
        "signature": _verdict(keys, msg.signature is not None, lambda k: security.verify_signature(k, msg)),
    }
    other = msg.other_info
    if other is not None:
        out["other_info"] = {
            "supplementary_remote_party_id": other.supplementary_remote_party_id.hex().upper()
            if other.supplementary_remote_party_id else None,
            "supplementary_remote_party_counter": other.supplementary_remote_party_counter,
            "supplementary_originator_counter": other.supplementary_originator_counter,
            "certificate": other.certificate.hex().upper() if other.certificate else None,
        }
    try:
        out["payload"] = payload_tree(msg, keys)
    except GbcsError as e:  # decode_payload never raises; this guards the decrypt callback wiring
        out["payload"] = {"kind": "unknown", "hex": msg.payload.hex().upper(), "reason": str(e)}
    return out
