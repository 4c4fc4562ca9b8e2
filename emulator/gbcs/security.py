"""GBCS security: KDF, MACs, payload encryption, signatures and counters (GBCS 4.3.3, 5).

Pure functions over a :class:`~emulator.gbcs.keys.KeyStore`; no clocks, no files.

Who MACs with whom (checked against all 811 MAC-carrying RTDS 4.5.0 vectors):
commands are MACed by the DCC Access Control Broker on the Service User's behalf,
so the key agreement is ACB KA x target KA; responses and alerts are MACed by the
device with its KA key and the recipient's KA key. The KDF always names the
business originator and target of the message.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from emulator.gbcs import frames
from emulator.gbcs.errors import DecodeError, MacError, ReplayError, SignatureError, UnknownKeyError
from emulator.gbcs.frames import MAC_SIZE, Cra, Message
from emulator.gbcs.identities import ACB
from emulator.gbcs.keys import KeyStore

# KDF OtherInfo constants (GBCS 5.2, NIST SP 800-56A single-step KDF with SHA-256).
_KDF_COUNTER = b"\x00\x00\x00\x01"
_ALGORITHM_ID = bytes.fromhex("60857406080300")
_MAC_AAD_PREFIX = b"\x11\x00\x00\x00\x00\x00"  # security control + invocation counter + 00
_ENCRYPTED_HEADER = b"\x31\x00\x00\x00\x00"
_ECDSA = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)  # RFC 6979: reproducible frames
_ECDSA_VERIFY = ec.ECDSA(hashes.SHA256())


class KdfMode(IntEnum):
    """The mode byte of the KDF's OtherInfo: which use the key is for."""

    COMMAND_MAC = 0x01
    RESPONSE_MAC = 0x02
    ALERT_MAC = 0x03
    ENCRYPTION = 0x04


_MAC_MODE = {Cra.COMMAND: KdfMode.COMMAND_MAC, Cra.RESPONSE: KdfMode.RESPONSE_MAC,
             Cra.ALERT: KdfMode.ALERT_MAC}


def kdf(z: bytes, originator: bytes, mode: int, counter: int, recipient: bytes) -> bytes:
    """The 16-byte AES key for one message (GBCS 5.2)."""
    return hashlib.sha256(b"".join((
        _KDF_COUNTER, z, _ALGORITHM_ID, originator, b"\x09", bytes((mode,)),
        counter.to_bytes(8, "big"), recipient,
    ))).digest()[:16]


def mac_parties(msg: Message) -> tuple[bytes, bytes]:
    """The two parties whose KA keys agree the MAC key of ``msg``."""
    if msg.cra is Cra.COMMAND:
        return ACB, msg.target
    return msg.originator, msg.target


def _kdf_prefix(keys: KeyStore, msg: Message) -> Any:
    """SHA-256 state over the KDF input up to the counter, cached per (parties, mode).

    Everything before the counter is fixed for a pair of parties and a CRA, so the
    hash of that prefix is computed once and copied per frame (hot path).
    """
    cache_key = (msg.originator, msg.target, msg.cra)
    cache = keys.derived_cache
    state = cache.get(cache_key)
    if state is None:
        a, b = mac_parties(msg)
        try:
            z = keys.shared_secret(a, b)
        except UnknownKeyError as e:
            # Remembered too, as the prefix is (the store clears this cache when a key is added): the
            # DSP meets it on every response MACed for a Service User, whose key it does not hold.
            cache[cache_key] = _NoKey(e.eui, e.usage)
            raise
        state = hashlib.sha256(b"".join((
            _KDF_COUNTER, z, _ALGORITHM_ID, msg.originator, b"\x09", bytes((_MAC_MODE[msg.cra],)))))
        cache[cache_key] = state
    elif type(state) is _NoKey:
        raise UnknownKeyError(state.eui, state.usage)
    return state.copy()


@dataclass(frozen=True, slots=True)
class _NoKey:
    """A KDF prefix the key store could not make: the party and usage of the key it lacked."""

    eui: bytes
    usage: str


def compute_mac(keys: KeyStore, msg: Message, block: bytes) -> bytes:
    """AES-GCM tag over the General Signing ``block``, truncated to 12 bytes."""
    h = _kdf_prefix(keys, msg)
    h.update(msg.counter.to_bytes(8, "big") + msg.target)
    key = h.digest()[:16]
    return AESGCM(key).encrypt(msg.originator + b"\x00\x00\x00\x00", b"",
                               _MAC_AAD_PREFIX + block)[:MAC_SIZE]


def seal(keys: KeyStore, msg: Message) -> bytes:
    """Wire bytes of ``msg``: a ``DD`` message with its MAC if ``mac_protected``, else ``DF``."""
    block = frames.encode_general_signing(msg)
    if not msg.mac_protected:
        return block
    return frames.wrap_general_ciphering(block, compute_mac(keys, msg, block))


def verify_mac(keys: KeyStore, msg: Message) -> None:
    """Raise :class:`MacError` unless the MAC of a decoded ``DD`` message verifies.

    Raises :class:`UnknownKeyError` when the key store cannot compute it.
    """
    if msg.mac is None:
        raise MacError("message carries no MAC")
    expected = compute_mac(keys, msg, msg.signed_block or frames.encode_general_signing(msg))
    if not hmac.compare_digest(expected, msg.mac):
        raise MacError(f"MAC does not verify for counter {msg.counter} from {msg.originator.hex().upper()}")


def open_message(keys: KeyStore, data: bytes) -> Message:
    """Decode ``data`` and verify its MAC if it has one (signatures are checked separately)."""
    msg = frames.decode(data)
    if msg.mac is not None:
        verify_mac(keys, msg)
    return msg


# --- signatures -----------------------------------------------------------------------------

def sign(keys: KeyStore, msg: Message, signer: bytes | None = None) -> Message:
    """``msg`` with a deterministic ECDSA P-256 signature by ``signer`` (default: the originator)."""
    private = keys.private(signer or msg.originator, "ds")
    unsigned = msg.with_(signature=b"\x00" * 64, precommand=False)
    der = private.sign(unsigned.signature_input(), _ECDSA)
    r, s = decode_dss_signature(der)
    return unsigned.with_(signature=r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def verify_signature(keys: KeyStore, msg: Message, signer: bytes | None = None) -> None:
    """Raise :class:`SignatureError` unless ``msg``'s signature verifies with ``signer``'s DS key."""
    if msg.signature is None:
        raise SignatureError("message carries no signature")
    public = keys.public(signer or msg.originator, "ds")
    r = int.from_bytes(msg.signature[:32], "big")
    s = int.from_bytes(msg.signature[32:], "big")
    try:
        public.verify(encode_dss_signature(r, s), msg.signature_input(), _ECDSA_VERIFY)
    except InvalidSignature:
        raise SignatureError(
            f"signature does not verify with the DS key of {(signer or msg.originator).hex().upper()}"
        ) from None


def precommand_to_command(keys: KeyStore, precommand: Message, signature: bytes) -> Message:
    """The critical command the DCC sends: the user's signed Pre-Command, MACed (command variant 5)."""
    cmd = precommand.with_(signature=signature, precommand=False, mac_protected=True)
    verify_signature(keys, cmd)
    return cmd


# --- encrypted payload parts (GBCS 4.3.3.3) -------------------------------------------------

def _enc_key(keys: KeyStore, originator: bytes, target: bytes, counter: int) -> bytes:
    z = keys.shared_secret(originator, target)
    return kdf(z, originator, KdfMode.ENCRYPTION, counter, target)


def encrypt_part(keys: KeyStore, originator: bytes, target: bytes, counter: int, plaintext: bytes) -> bytes:
    """``31 00000000`` || ciphertext || 12-byte tag, as devices encrypt sensitive response parts."""
    key = _enc_key(keys, originator, target, counter)
    sealed = AESGCM(key).encrypt(originator + b"\x00\x00\x00\x00", plaintext, b"\x31")
    return _ENCRYPTED_HEADER + sealed[:-16] + sealed[-16:-4]


def decrypt_part(keys: KeyStore, originator: bytes, target: bytes, counter: int, part: bytes) -> bytes:
    """Inverse of :func:`encrypt_part`; raises :class:`MacError` when the tag does not verify."""
    if len(part) < len(_ENCRYPTED_HEADER) + MAC_SIZE or not part.startswith(_ENCRYPTED_HEADER):
        raise DecodeError("encrypted part must start 3100000000 and end with a 12-byte tag",
                          field="payload.encrypted", offset=0)
    key = _enc_key(keys, originator, target, counter)
    body, tag = part[len(_ENCRYPTED_HEADER):-MAC_SIZE], part[-MAC_SIZE:]
    decryptor = Cipher(algorithms.AES(key),
                       modes.GCM(originator + b"\x00\x00\x00\x00", tag, min_tag_length=MAC_SIZE)).decryptor()
    decryptor.authenticate_additional_data(b"\x31")
    try:
        return decryptor.update(body) + decryptor.finalize()
    except InvalidTag:
        raise MacError("encrypted payload part does not verify") from None


# --- counters -------------------------------------------------------------------------------

@dataclass(slots=True)
class CounterGuard:
    """Strictly increasing originator counters per (originator, recipient) pair (replay refusal).

    ``check`` refuses without changing state; ``accept`` records a counter once the
    message passed every other check, so a forged message cannot burn a counter.
    """

    last: dict[tuple[bytes, bytes], int]

    def __init__(self) -> None:
        self.last = {}

    def check(self, originator: bytes, recipient: bytes, counter: int) -> None:
        previous = self.last.get((originator, recipient))
        if previous is not None and counter <= previous:
            raise ReplayError(
                f"counter {counter} from {originator.hex().upper()} is not above {previous}"
                " (replay or stale)")

    def accept(self, originator: bytes, recipient: bytes, counter: int) -> None:
        self.check(originator, recipient, counter)
        self.last[(originator, recipient)] = counter

    def snapshot(self) -> dict[str, int]:
        return {f"{o.hex()}:{r.hex()}": c for (o, r), c in self.last.items()}

    def restore(self, data: dict[str, int]) -> None:
        for key, value in data.items():
            o, _, r = key.partition(":")
            self.last[(bytes.fromhex(o), bytes.fromhex(r))] = int(value)

    def __iter__(self) -> Iterator[tuple[bytes, bytes, int]]:
        return ((o, r, c) for (o, r), c in self.last.items())


class CounterSource:
    """Issues strictly increasing counters for one originator (DCC Boxed uses ms timestamps).

    ``next(now)`` returns max(previous + 1, now in milliseconds): unique, increasing,
    and readable as a time, without reading a clock itself.
    """

    def __init__(self, start: int = 0) -> None:
        self.value = start

    def next(self, now: float | None = None) -> int:
        candidate = int(now * 1000) if now is not None else 0
        self.value = max(self.value + 1, candidate)
        return self.value


def check_signature_present(msg: Message) -> None:
    if msg.signature is None:
        raise SignatureError("a critical message must be signed")


__all__ = [
    "CounterGuard",
    "CounterSource",
    "KdfMode",
    "UnknownKeyError",
    "compute_mac",
    "decrypt_part",
    "encrypt_part",
    "kdf",
    "mac_parties",
    "open_message",
    "precommand_to_command",
    "seal",
    "sign",
    "verify_mac",
    "verify_signature",
]
