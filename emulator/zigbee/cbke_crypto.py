"""Smart Energy 1.2 crypto suite 2 primitives: the 74-byte implicit certificate, ECQV
(SEC 4) issue and public-key reconstruction, ECMQV (SEC 1 v2 3.4) and the CBKE KDF and MACs,
all on sect283k1 with AES-MMO as the hash (Zigbee SE 1.2 annex C; zigbee.md section 5).

Facts this module relies on (SE 1.2 annex C, and the Wireshark ZCL Key Establishment
dissector, which reads the same layout):

* certificate: type (1, 0x00 no extensions) | serial (8) | curve (1, 0x0D sect283k1) |
  hash (1, 0x08 AES-MMO) | issuer (8) | valid from (5, big-endian seconds since 1970) |
  valid to (4, seconds after valid-from; 0xFFFFFFFF never expires) | subject (8, EUI-64 as
  printed) | key usage (1, 0x08 key agreement, 0x80 digital signature) | public-key
  reconstruction data (37, a compressed point): 74 bytes;
* ECQV: e = H(certificate) read as an integer; the subject's key pair is
  (d, Q) with Q = e * P + Q_CA and d = e * k + r (mod n), r being the CA's contribution;
* ECMQV with the cofactor: Z is the x coordinate of h * s * (R_V + avf(R_V) * Q_V);
* KDF: MacKey = H(Z | 00000001), KeyData = H(Z | 00000002) (32-bit big-endian counters, no
  shared data); KeyData is the new APS link key;
* MAC: HMAC over AES-MMO (block 16 bytes), MACU over 02 | ID(U) | ID(V) | E(U) | E(V) and MACV
  over 03 | ID(V) | ID(U) | E(V) | E(U), U the initiator, IDs the EUI-64s, E the compressed
  ephemeral public keys.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from emulator.zigbee import sect283k1 as curve
from emulator.zigbee.errors import ZigbeeDecodeError, ZigbeeEncodeError
from emulator.zigbee.install_code import aes_mmo
from emulator.zigbee.sect283k1 import Point

CERT_LENGTH = 74
CERT_TYPE_NO_EXTENSIONS = 0x00
CURVE_SECT283K1 = 0x0D
HASH_AES_MMO = 0x08
KEY_USAGE_KEY_AGREEMENT = 0x08
KEY_USAGE_DIGITAL_SIGNATURE = 0x80
NEVER_EXPIRES = 0xFFFFFFFF
MAC_TAG_INITIATOR = 0x02  # M(U)
MAC_TAG_RESPONDER = 0x03  # M(V)
_AVF_BITS = (curve.N.bit_length() + 1) // 2  # ceil(f / 2), f = ceil(log2 n) = 281


class CertificateError(ZigbeeDecodeError):
    """A certificate that does not parse or does not fit suite 2 (the message says which field)."""


@dataclass(frozen=True, slots=True)
class Certificate:
    """An SE 1.2 (suite 2) implicit certificate; ``subject`` and ``issuer`` as printed (MSB first)."""

    serial: bytes
    issuer: bytes
    valid_from: int
    valid_to: int
    subject: bytes
    reconstruction: bytes
    key_usage: int = KEY_USAGE_KEY_AGREEMENT | KEY_USAGE_DIGITAL_SIGNATURE
    cert_type: int = CERT_TYPE_NO_EXTENSIONS
    curve_id: int = CURVE_SECT283K1
    hash_id: int = HASH_AES_MMO

    def encode(self) -> bytes:
        for name, value, size in (("serial", self.serial, 8), ("issuer", self.issuer, 8),
                                  ("subject", self.subject, 8), ("reconstruction", self.reconstruction, 37)):
            if len(value) != size:
                raise ZigbeeEncodeError(f"certificate {name} is {size} bytes, got {len(value)}", field=name)
        if not 0 <= self.valid_from < 1 << 40 or not 0 <= self.valid_to < 1 << 32:
            raise ZigbeeEncodeError("validity out of range", field="valid_from")
        return (bytes((self.cert_type,)) + self.serial + bytes((self.curve_id, self.hash_id)) + self.issuer
                + self.valid_from.to_bytes(5, "big") + self.valid_to.to_bytes(4, "big") + self.subject
                + bytes((self.key_usage,)) + self.reconstruction)

    @classmethod
    def decode(cls, data: bytes) -> Certificate:
        """Parse and check the suite-2 constants; the reconstruction point is checked later."""
        if len(data) != CERT_LENGTH:
            raise CertificateError(f"a suite 2 certificate is {CERT_LENGTH} bytes, got {len(data)}",
                                   field="certificate")
        for offset, name, expected in ((0, "type", CERT_TYPE_NO_EXTENSIONS), (9, "curve", CURVE_SECT283K1),
                                       (10, "hash", HASH_AES_MMO)):
            if data[offset] != expected:
                raise CertificateError(f"certificate {name} 0x{data[offset]:02X} is not 0x{expected:02X}",
                                       field=f"certificate.{name}", offset=offset)
        return cls(serial=data[1:9], issuer=data[11:19], valid_from=int.from_bytes(data[19:24], "big"),
                   valid_to=int.from_bytes(data[24:28], "big"), subject=data[28:36], key_usage=data[36],
                   reconstruction=data[37:74])

    def hash_integer(self) -> int:
        """e = H(certificate) as an integer (128 bits, below n: no reduction needed)."""
        return int.from_bytes(aes_mmo(self.encode()), "big")


# --- scalars ------------------------------------------------------------------------------

def derive_scalar(secret: bytes, *labels: bytes) -> int:
    """A scalar in [1, n-1] fixed by ``secret`` and ``labels`` (HMAC-SHA256, RFC 6979 in spirit):
    seeded runs give the same keys and so byte-identical frames."""
    message = b"\x00".join(labels)
    stream = b""
    counter = 0
    while len(stream) < 48:  # 384 bits for a 281-bit order: the bias is negligible
        stream += hmac.new(secret, counter.to_bytes(4, "big") + message, hashlib.sha256).digest()
        counter += 1
    return int.from_bytes(stream[:48], "big") % (curve.N - 1) + 1


def scalar_bytes(value: int) -> bytes:
    return value.to_bytes(curve.FIELD_BYTES, "big")


# --- ECQV (SEC 4) ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CertificateFields:
    """What a CA writes into a certificate besides the reconstruction point."""

    serial: bytes
    issuer: bytes
    subject: bytes
    valid_from: int
    valid_to: int = NEVER_EXPIRES
    key_usage: int = KEY_USAGE_KEY_AGREEMENT | KEY_USAGE_DIGITAL_SIGNATURE


def ecqv_issue(ca_private: int, request_point: Point, ca_nonce: int,
               fill: CertificateFields) -> tuple[Certificate, int]:
    """The CA's side: P = R_U + k G, the certificate over P, and r = e k + d_CA (mod n)."""
    public = curve.add(request_point, curve.mul(ca_nonce, curve.G))
    cert = Certificate(fill.serial, fill.issuer, fill.valid_from, fill.valid_to, fill.subject,
                       curve.encode_point(public), fill.key_usage)
    return cert, (cert.hash_integer() * ca_nonce + ca_private) % curve.N


def ecqv_private_key(cert: Certificate, request_private: int, contribution: int) -> int:
    """The subject's side: d = e k_U + r (mod n)."""
    return (cert.hash_integer() * request_private + contribution) % curve.N


def ecqv_public_key(cert: Certificate, ca_public: Point) -> Point:
    """Anyone's side: Q = e P + Q_CA; :class:`~emulator.zigbee.sect283k1.CurveError` for a bad P."""
    public = curve.decode_point(cert.reconstruction, "certificate.reconstruction")
    return curve.add(curve.mul(cert.hash_integer(), public), ca_public)


# --- ECMQV, KDF, MAC ------------------------------------------------------------------------

def _avf(point: Point) -> int:
    assert point is not None
    return (point[0] % (1 << _AVF_BITS)) + (1 << _AVF_BITS)


def ecmqv(static_private: int, ephemeral_private: int, ephemeral_public: Point, peer_static: Point,
          peer_ephemeral: Point) -> bytes | None:
    """The shared secret Z (36 bytes), or None when the result is the point at infinity."""
    s = (ephemeral_private + _avf(ephemeral_public) * static_private) % curve.N
    combined = curve.add(peer_ephemeral, curve.mul(_avf(peer_ephemeral), peer_static))
    shared = curve.mul(curve.H * s, combined)
    return None if shared is None else curve.field_bytes(shared[0])


def kdf(z: bytes) -> tuple[bytes, bytes]:
    """(MacKey, KeyData): two AES-MMO hashes of Z with 32-bit big-endian counters 1 and 2."""
    return aes_mmo(z + (1).to_bytes(4, "big")), aes_mmo(z + (2).to_bytes(4, "big"))


def hmac_mmo(key: bytes, message: bytes) -> bytes:
    """HMAC over AES-MMO: block size 16, so a 16-byte key is used as it is."""
    if len(key) != 16:
        raise ZigbeeEncodeError(f"an HMAC-AES-MMO key here is 16 bytes, got {len(key)}", field="mac_key")
    inner = aes_mmo(bytes(b ^ 0x36 for b in key) + message)
    return aes_mmo(bytes(b ^ 0x5C for b in key) + inner)


def confirm_mac(mac_key: bytes, tag: int, first_id: bytes, second_id: bytes, first_ephemeral: bytes,
                second_ephemeral: bytes) -> bytes:
    """MACU (tag 02: U, V, E(U), E(V)) or MACV (tag 03: V, U, E(V), E(U))."""
    return hmac_mmo(mac_key, bytes((tag,)) + first_id + second_id + first_ephemeral + second_ephemeral)
