"""Codec benchmark: MAC-protected frames built / parsed+verified per second on one core,
ECDSA signed / verified per second, and the bare crypto primitives each frame needs."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from emulator.gbcs import frames, security
from emulator.gbcs.frames import Cra, Message
from emulator.gbcs.identities import ACB, ESME, SUPPLIER
from emulator.gbcs.keys import KeyStore
from emulator.zigbee.jsonvalue import JsonObject

# ECS52 Read Firmware Version payload from the reference set: a typical small command.
_PAYLOAD = bytes.fromhex("D9200003E800010100010000000201FF020100")


def _keys() -> KeyStore:
    ks = KeyStore()
    for i, eui in enumerate((ACB, ESME, SUPPLIER)):
        for j, usage in enumerate(("ds", "ka")):
            ks.add_private(eui, usage, ec.derive_private_key(1000 + 10 * i + j, ec.SECP256R1()))  # type: ignore[arg-type]
    return ks


def _rate(fn: Callable[[int], object], seconds: float) -> float:
    """Calls per second of ``fn(i)`` over about ``seconds`` (after a short warm-up)."""
    for i in range(200):
        fn(i)
    n, start = 0, time.perf_counter()
    deadline = start + seconds
    batch = 500
    while True:
        for i in range(n, n + batch):
            fn(i)
        n += batch
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


def run(seconds: float = 1.0) -> JsonObject:
    keys = _keys()
    template = Message(Cra.COMMAND, 1, SUPPLIER, ESME, 0x0059, _PAYLOAD, mac_protected=True)
    wires = [security.seal(keys, template.with_(counter=1_000_000 + i)) for i in range(1000)]

    def make(counter: int) -> Message:
        # A device builds each frame afresh, as here.
        return Message(Cra.COMMAND, counter, SUPPLIER, ESME, 0x0059, _PAYLOAD, mac_protected=True)

    def build(i: int) -> bytes:
        return security.seal(keys, make(i + 1))

    def parse_verify(i: int) -> Message:
        return security.open_message(keys, wires[i % 1000])

    def build_parse_verify(i: int) -> Message:
        return security.open_message(keys, security.seal(keys, make(i + 1)))

    z = keys.shared_secret(ACB, ESME)
    block = frames.encode_general_signing(template)
    aad = b"\x11\x00\x00\x00\x00\x00" + block
    iv = SUPPLIER + b"\x00\x00\x00\x00"

    def primitives(i: int) -> bytes:
        # What one frame costs in crypto alone: a KDF hash and a GCM tag.
        key = hashlib.sha256(b"\x00\x00\x00\x01" + z + block[:40] + i.to_bytes(8, "big")).digest()[:16]
        return AESGCM(key).encrypt(iv, b"", aad)[:12]

    signer = keys.private(SUPPLIER, "ds")
    sig_input = template.signature_input()
    algo = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
    signed = security.sign(keys, template)

    def sign(i: int) -> Message:
        return security.sign(keys, template.with_(counter=i + 1))

    def verify(i: int) -> None:
        security.verify_signature(keys, signed)

    def bare_sign(i: int) -> bytes:
        return signer.sign(sig_input, algo)

    der = signer.sign(sig_input, algo)
    public = signer.public_key()

    def bare_verify(i: int) -> None:
        public.verify(der, sig_input, ec.ECDSA(hashes.SHA256()))

    built, parsed = _rate(build, seconds), _rate(parse_verify, seconds)  # measured in the order they are shown
    roundtrip, primitive = _rate(build_parse_verify, seconds), _rate(primitives, seconds)
    sign_rate, bare_sign_rate = _rate(sign, seconds / 2), _rate(bare_sign, seconds / 2)
    verify_rate, bare_verify_rate = _rate(verify, seconds / 2), _rate(bare_verify, seconds / 2)
    r: dict[str, float] = {
        "mac_frames_built_per_s": built,
        "mac_frames_parsed_verified_per_s": parsed,
        "mac_frames_built_parsed_verified_per_s": roundtrip,
        "baseline_kdf_plus_gcm_per_s": primitive,
        "signed_per_s": sign_rate,
        "baseline_ecdsa_sign_per_s": bare_sign_rate,
        "signature_verified_per_s": verify_rate,
        "baseline_ecdsa_verify_per_s": bare_verify_rate,
        # A built+parsed+verified frame needs two KDF+GCM operations.
        "ratio_mac_roundtrip_vs_primitives": roundtrip / (primitive / 2),
        "ratio_sign_vs_primitive": sign_rate / bare_sign_rate,
        "ratio_verify_vs_primitive": verify_rate / bare_verify_rate,
        "goal_mac_roundtrip_per_s": 50_000,
    }
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}
