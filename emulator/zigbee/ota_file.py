"""The Zigbee OTA upgrade file (ZCL 11.4; zigbee.md section 6): header, sub-elements, signature.

GB images are manufacturer-signed: the file carries the upgrade image (tag 0x0000) and
an ECDSA P-256 signature sub-element (tag 0x0001: signer EUI-64 + r||s) over every byte
of the file before that sub-element. The device checks the signature with the
manufacturer's public key and names the image to run by the SHA-256 of the whole file.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from emulator.zigbee.errors import OtaFileError

FILE_ID = 0x0BEEF11E
HEADER_VERSION = 0x0100
TAG_IMAGE = 0x0000
TAG_SIGNATURE = 0x0001
TAG_CERTIFICATE = 0x0002
TAG_INTEGRITY = 0x0003
FC_SECURITY_CREDENTIAL = 0x0001
FC_DEVICE_SPECIFIC = 0x0002
FC_HARDWARE_VERSIONS = 0x0004
_BASE = struct.Struct("<IHHHHHIH32sI")  # up to image_size: 56 bytes
_ECDSA = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)


@dataclass(frozen=True, slots=True)
class OtaHeader:
    manufacturer_code: int
    image_type: int
    file_version: int
    header_string: bytes = b""
    stack_version: int = 2
    field_control: int = 0
    security_credential_version: int | None = None
    upgrade_file_destination: bytes | None = None
    min_hardware_version: int | None = None
    max_hardware_version: int | None = None

    @property
    def length(self) -> int:
        n = _BASE.size
        if self.field_control & FC_SECURITY_CREDENTIAL:
            n += 1
        if self.field_control & FC_DEVICE_SPECIFIC:
            n += 8
        if self.field_control & FC_HARDWARE_VERSIONS:
            n += 4
        return n

    def encode(self, image_size: int) -> bytes:
        if len(self.header_string) > 32:
            raise OtaFileError("header string longer than 32 bytes", field="header_string")
        out = _BASE.pack(FILE_ID, HEADER_VERSION, self.length, self.field_control, self.manufacturer_code,
                         self.image_type, self.file_version, self.stack_version,
                         self.header_string.ljust(32, b"\x00"), image_size)
        if self.field_control & FC_SECURITY_CREDENTIAL:
            out += bytes((self.security_credential_version or 0,))
        if self.field_control & FC_DEVICE_SPECIFIC:
            out += (self.upgrade_file_destination or b"\x00" * 8)[::-1]
        if self.field_control & FC_HARDWARE_VERSIONS:
            out += struct.pack("<HH", self.min_hardware_version or 0, self.max_hardware_version or 0)
        return out


@dataclass(frozen=True, slots=True)
class SubElement:
    tag: int
    data: bytes

    def encode(self) -> bytes:
        return struct.pack("<HI", self.tag, len(self.data)) + self.data


@dataclass(frozen=True, slots=True)
class OtaFile:
    header: OtaHeader
    elements: tuple[SubElement, ...] = field(default_factory=tuple)

    def encode(self) -> bytes:
        body = b"".join(e.encode() for e in self.elements)
        size = self.header.length + len(body)
        return self.header.encode(size) + body

    def element(self, tag: int) -> SubElement | None:
        return next((e for e in self.elements if e.tag == tag), None)

    @property
    def image(self) -> bytes:
        e = self.element(TAG_IMAGE)
        return e.data if e else b""


def decode(data: bytes) -> OtaFile:
    """Parse and check an OTA file; errors name the field and offset."""
    if len(data) < _BASE.size:
        raise OtaFileError(f"file of {len(data)} bytes is shorter than an OTA header", field="header", offset=0)
    (file_id, version, hlen, fc, mfr, itype, fver, stack, hstr, size) = _BASE.unpack_from(data)
    if file_id != FILE_ID:
        raise OtaFileError(f"upgrade file id 0x{file_id:08X} is not 0x0BEEF11E", field="upgrade_file_id", offset=0)
    if version != HEADER_VERSION:
        raise OtaFileError(f"header version 0x{version:04X} is not 0x0100", field="header_version", offset=4)
    pos = _BASE.size
    scv = dest = hmin = hmax = None
    if fc & FC_SECURITY_CREDENTIAL:
        scv, pos = data[pos], pos + 1
    if fc & FC_DEVICE_SPECIFIC:
        dest, pos = data[pos:pos + 8][::-1], pos + 8
    if fc & FC_HARDWARE_VERSIONS:
        hmin, hmax = struct.unpack_from("<HH", data, pos) if pos + 4 <= len(data) else (0, 0)
        pos += 4
    if hlen != pos or pos > len(data):
        raise OtaFileError(f"header_length {hlen} does not match the {pos}-byte header", field="header_length",
                           offset=6)
    if size != len(data):
        raise OtaFileError(f"image_size {size} but the file has {len(data)} bytes", field="image_size", offset=52)
    header = OtaHeader(mfr, itype, fver, hstr.rstrip(b"\x00"), stack, fc, scv, dest, hmin, hmax)
    elements = []
    while pos < len(data):
        if pos + 6 > len(data):
            raise OtaFileError("file ends inside a sub-element header", field="sub_element", offset=pos)
        tag, n = struct.unpack_from("<HI", data, pos)
        if pos + 6 + n > len(data):
            raise OtaFileError(f"sub-element 0x{tag:04X} length {n} runs past the end", field="sub_element",
                               offset=pos)
        elements.append(SubElement(tag, data[pos + 6:pos + 6 + n]))
        pos += 6 + n
    return OtaFile(header, tuple(elements))


def build_signed(header: OtaHeader, image: bytes, signer: bytes, key: ec.EllipticCurvePrivateKey) -> bytes:
    """An OTA file carrying ``image`` and a signature sub-element by ``signer`` (EUI-64)."""
    unsigned = OtaFile(header, (SubElement(TAG_IMAGE, image), SubElement(TAG_SIGNATURE, signer + bytes(64))))
    whole = unsigned.encode()
    signed_part = whole[:len(whole) - (6 + 72)]
    r, s = decode_dss_signature(key.sign(signed_part, _ECDSA))
    return signed_part + SubElement(TAG_SIGNATURE, signer + r.to_bytes(32, "big") + s.to_bytes(32, "big")).encode()


def verify(data: bytes, public: ec.EllipticCurvePublicKey) -> OtaFile:
    """Decode and verify the signature; raises :class:`OtaFileError` saying what failed."""
    f = decode(data)
    sig = f.element(TAG_SIGNATURE)
    if sig is None or len(sig.data) != 72:
        raise OtaFileError("no ECDSA signature sub-element (tag 0x0001, 72 bytes)", field="signature")
    if f.elements[-1].tag != TAG_SIGNATURE:
        raise OtaFileError("the signature must be the last sub-element", field="signature")
    signed_part = data[:len(data) - (6 + 72)]
    r, s = int.from_bytes(sig.data[8:40], "big"), int.from_bytes(sig.data[40:], "big")
    try:
        public.verify(encode_dss_signature(r, s), signed_part, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise OtaFileError("image signature does not verify with the manufacturer key", field="signature") from None
    return f


def file_hash(data: bytes) -> bytes:
    """SHA-256 of the whole file: what CS06 Activate Firmware names."""
    return hashlib.sha256(data).digest()


def sample_image(key: ec.EllipticCurvePrivateKey, *, manufacturer_code: int, image_type: int, file_version: int,
                 size: int, signer: bytes = b"\xff" * 8, label: str = "smets2-emu sample") -> bytes:
    """A reproducible signed OTA file with ``size`` bytes of image (seeded filler, not random)."""
    filler = bytearray()
    block = hashlib.sha256(f"{label}/{manufacturer_code}/{image_type}/{file_version}".encode()).digest()
    while len(filler) < size:
        filler += block
        block = hashlib.sha256(block).digest()
    header = OtaHeader(manufacturer_code, image_type, file_version, label.encode()[:32])
    return build_signed(header, bytes(filler[:size]), signer, key)
