"""KDF vectors, MAC/sign round trips, tampering, replays (DV-3)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from emulator.gbcs import frames, security
from emulator.gbcs.errors import (
    FrameError,
    MacError,
    ReplayError,
    SecurityError,
    SignatureError,
    UnknownKeyError,
)
from emulator.gbcs.frames import Cra, Message
from emulator.gbcs.identities import ACB, ESME, SUPPLIER
from emulator.gbcs.keys import KeyStore


def test_dv3_kdf_vectors_from_gbcs_md(rtds_keys):
    z = rtds_keys.shared_secret(ACB, ESME)
    key = security.kdf(z, SUPPLIER, security.KdfMode.COMMAND_MAC, 0x0000000100000000, ESME)
    assert key.hex().upper() == "6A93E360717394015DF93E031218C9A6"
    z = rtds_keys.shared_secret(ESME, SUPPLIER)
    key = security.kdf(z, ESME, security.KdfMode.ALERT_MAC, 0x7D1, SUPPLIER)
    assert key.hex().upper() == "558FB1FA6660AF0D9E8365C47804B8FA"


def _keys() -> KeyStore:
    ks = KeyStore()
    for eui in (ACB, ESME, SUPPLIER):
        for usage in ("ds", "ka"):
            scalar = int.from_bytes(eui + usage.encode(), "big") % (2**255) + 1
            ks.add_private(eui, usage, ec.derive_private_key(scalar, ec.SECP256R1()))  # type: ignore[arg-type]
    return ks


def _command(counter: int = 1000) -> Message:
    return Message(Cra.COMMAND, counter, SUPPLIER, ESME, 0x0059, b"\xd9\x20\x00\x03\xe8\x00",
                   mac_protected=True)


def test_dv3_sealed_command_verifies_and_one_changed_byte_does_not():
    keys = _keys()
    wire = security.seal(keys, _command())
    msg = security.open_message(keys, wire)
    assert msg.counter == 1000
    for i in range(len(wire)):
        bad = bytearray(wire)
        bad[i] ^= 0x01
        with pytest.raises((SecurityError, FrameError)):
            security.open_message(keys, bytes(bad))


def test_dv3_signature_is_deterministic_and_checked():
    keys = _keys()
    a = security.sign(keys, _command())
    b = security.sign(keys, _command())
    assert a.signature == b.signature  # RFC 6979: reproducible frames
    security.verify_signature(keys, a)
    forged = a.with_(payload=a.payload + b"\x00")
    with pytest.raises(SignatureError):
        security.verify_signature(keys, forged)


def test_dv3_replayed_and_stale_counters_are_refused():
    guard = security.CounterGuard()
    guard.accept(SUPPLIER, ESME, 10)
    with pytest.raises(ReplayError):
        guard.accept(SUPPLIER, ESME, 10)
    with pytest.raises(ReplayError):
        guard.check(SUPPLIER, ESME, 9)
    guard.accept(SUPPLIER, ESME, 11)
    guard.accept(ACB, ESME, 1)  # counters are per party
    restored = security.CounterGuard()
    restored.restore(guard.snapshot())
    with pytest.raises(ReplayError):
        restored.check(SUPPLIER, ESME, 11)


def test_unknown_key_is_named():
    with pytest.raises(UnknownKeyError, match="90B3D51F30000002"):
        security.seal(KeyStore(), _command())


def test_encrypted_part_round_trip_and_tamper():
    keys = _keys()
    part = security.encrypt_part(keys, ESME, SUPPLIER, 77, b"secret register")
    assert part[:5] == b"\x31\x00\x00\x00\x00"
    assert security.decrypt_part(keys, ESME, SUPPLIER, 77, part) == b"secret register"
    with pytest.raises(MacError):
        security.decrypt_part(keys, ESME, SUPPLIER, 78, part)


def test_precommand_flow_signed_then_maced():
    keys = _keys()
    pre = Message(Cra.COMMAND, 5, SUPPLIER, ESME, 0x0059, b"\x01", precommand=True)
    wire_pre = frames.encode(pre)
    assert frames.decode(wire_pre).precommand
    signed = security.sign(keys, frames.decode(wire_pre))
    cmd = security.precommand_to_command(keys, frames.decode(wire_pre), signed.signature or b"")
    msg = security.open_message(keys, security.seal(keys, cmd))
    security.verify_signature(keys, msg)
