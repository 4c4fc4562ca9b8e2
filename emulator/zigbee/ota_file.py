"""The Zigbee OTA upgrade file (ZCL 11.4; zigbee.md section 6): header, sub-elements, signature.

A file is a header (fixed part, then optional fields selected by ``field_control``) and
a run of tag/length/data sub-elements. ``header_length`` and ``image_size`` are derived
when writing and checked when reading, so a file we write always reads back.

GB images are manufacturer-signed: the file carries the upgrade image (tag 0x0000) and,
last, an ECDSA P-256 signature sub-element: the signer's EUI-64 (little-endian, as all
EUI-64s in the file) then r and s (32 bytes each, big-endian), over every byte of the
file before that sub-element. ``image_size`` counts the signature, so the header is
written with its final size before signing. The device names the image it holds by
the SHA-256 of the whole file (:func:`file_hash`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import IntEnum, IntFlag

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from emulator.zigbee.errors import OtaFileError, ZigbeeEncodeError
from emulator.zigbee.types import Reader, encode_uint

UPGRADE_FILE_ID = 0x0BEEF11E
FILE_ID = UPGRADE_FILE_ID
HEADER_VERSION = 0x0100
STACK_ZIGBEE_PRO = 0x0002
HEADER_STRING_LENGTH = 32
BASE_HEADER_LENGTH = 56
SUB_ELEMENT_HEADER_LENGTH = 6
_IMAGE_SIZE_OFFSET = 52


class FieldControl(IntFlag):
    """Header field control: which optional header fields follow image_size."""

    SECURITY_CREDENTIAL_VERSION_PRESENT = 0x0001
    DEVICE_SPECIFIC_FILE = 0x0002
    HARDWARE_VERSIONS_PRESENT = 0x0004


class Tag(IntEnum):
    """Sub-element tags; 0xF000-0xFFFF are manufacturer specific."""

    UPGRADE_IMAGE = 0x0000
    ECDSA_SIGNATURE_CRYPTO_SUITE_1 = 0x0001
    ECDSA_SIGNING_CERTIFICATE_CRYPTO_SUITE_1 = 0x0002
    IMAGE_INTEGRITY_CODE = 0x0003
    PICTURE_DATA = 0x0004
    ECDSA_SIGNATURE_CRYPTO_SUITE_2 = 0x0005
    ECDSA_SIGNING_CERTIFICATE_CRYPTO_SUITE_2 = 0x0006


TAG_IMAGE = Tag.UPGRADE_IMAGE
TAG_SIGNATURE = Tag.ECDSA_SIGNATURE_CRYPTO_SUITE_1
TAG_CERTIFICATE = Tag.ECDSA_SIGNING_CERTIFICATE_CRYPTO_SUITE_1
TAG_INTEGRITY = Tag.IMAGE_INTEGRITY_CODE
SIGNATURE_TAGS = (Tag.ECDSA_SIGNATURE_CRYPTO_SUITE_1, Tag.ECDSA_SIGNATURE_CRYPTO_SUITE_2)
SIGNATURE_LENGTH = 8 + 32 + 32  # signer EUI-64, r, s (P-256)


@dataclass(frozen=True, slots=True)
class OtaHeader:
    """The OTA header. Optional fields are None when absent; ``field_control`` follows from them."""

    manufacturer_code: int
    image_type: int
    file_version: int
    header_string: bytes = b""
    """Up to 32 bytes, NUL-padded on the wire (trailing NULs are dropped here)."""
    stack_version: int = STACK_ZIGBEE_PRO
    security_credential_version: int | None = None
    upgrade_file_destination: bytes | None = None
    """EUI-64 of the one device this file is for (a device-specific file)."""
    min_hardware_version: int | None = None
    max_hardware_version: int | None = None

    def __post_init__(self) -> None:
        if len(self.header_string) > HEADER_STRING_LENGTH:
            raise ZigbeeEncodeError("header string longer than 32 bytes", field="header_string")
        object.__setattr__(self, "header_string", bytes(self.header_string).rstrip(b"\x00"))
        if (self.min_hardware_version is None) != (self.max_hardware_version is None):
            raise ZigbeeEncodeError("give both hardware versions or neither", field="min_hardware_version")
        if self.upgrade_file_destination is not None and len(self.upgrade_file_destination) != 8:
            raise ZigbeeEncodeError("upgrade_file_destination is an EUI-64", field="upgrade_file_destination")

    @property
    def field_control(self) -> FieldControl:
        fc = FieldControl(0)
        if self.security_credential_version is not None:
            fc |= FieldControl.SECURITY_CREDENTIAL_VERSION_PRESENT
        if self.upgrade_file_destination is not None:
            fc |= FieldControl.DEVICE_SPECIFIC_FILE
        if self.min_hardware_version is not None:
            fc |= FieldControl.HARDWARE_VERSIONS_PRESENT
        return fc

    @property
    def length(self) -> int:
        """header_length: 56 bytes, plus 1, 8 and 4 for the optional fields present."""
        return (BASE_HEADER_LENGTH + (self.security_credential_version is not None)
                + 8 * (self.upgrade_file_destination is not None) + 4 * (self.min_hardware_version is not None))

    def encode(self, image_size: int) -> bytes:
        out = bytearray()
        out += encode_uint(UPGRADE_FILE_ID, 4, "upgrade_file_id") + encode_uint(HEADER_VERSION, 2, "header_version")
        out += encode_uint(self.length, 2, "header_length") + encode_uint(self.field_control, 2, "field_control")
        out += encode_uint(self.manufacturer_code, 2, "manufacturer_code")
        out += encode_uint(self.image_type, 2, "image_type") + encode_uint(self.file_version, 4, "file_version")
        out += encode_uint(self.stack_version, 2, "stack_version")
        out += self.header_string.ljust(HEADER_STRING_LENGTH, b"\x00")
        out += encode_uint(image_size, 4, "image_size")
        if self.security_credential_version is not None:
            out += encode_uint(self.security_credential_version, 1, "security_credential_version")
        if self.upgrade_file_destination is not None:
            out += bytes(self.upgrade_file_destination)[::-1]
        if self.min_hardware_version is not None and self.max_hardware_version is not None:
            out += encode_uint(self.min_hardware_version, 2, "min_hardware_version")
            out += encode_uint(self.max_hardware_version, 2, "max_hardware_version")
        return bytes(out)


@dataclass(frozen=True, slots=True)
class SubElement:
    tag: int
    data: bytes

    def encode(self) -> bytes:
        return encode_uint(self.tag, 2, "tag") + encode_uint(len(self.data), 4, "length") + self.data


@dataclass(frozen=True, slots=True)
class OtaFile:
    header: OtaHeader
    elements: tuple[SubElement, ...] = ()

    @property
    def image_size(self) -> int:
        return self.header.length + sum(SUB_ELEMENT_HEADER_LENGTH + len(e.data) for e in self.elements)

    def encode(self) -> bytes:
        return self.header.encode(self.image_size) + b"".join(e.encode() for e in self.elements)

    def element(self, tag: int) -> SubElement | None:
        return next((e for e in self.elements if e.tag == tag), None)

    @property
    def image(self) -> bytes:
        e = self.element(TAG_IMAGE)
        return e.data if e else b""

    @classmethod
    def decode(cls, data: bytes) -> tuple[OtaFile, bytes]:
        """Parse the file at the start of ``data``; return it and the bytes after ``image_size``."""
        r = Reader(data, error=OtaFileError)
        file_id = r.uint(4, "upgrade_file_id")
        if file_id != UPGRADE_FILE_ID:
            raise OtaFileError(f"upgrade file id 0x{file_id:08X} is not 0x0BEEF11E", field="upgrade_file_id",
                               offset=0)
        version = r.uint(2, "header_version")
        if version != HEADER_VERSION:
            raise OtaFileError(f"header version 0x{version:04X} is not 0x0100", field="header_version", offset=4)
        header_length = r.uint(2, "header_length")
        fc = r.uint(2, "field_control")
        if fc & ~0x0007:
            # Unknown bits may announce header fields we cannot size: refuse rather than guess.
            raise OtaFileError(f"field_control 0x{fc:04X} sets reserved bits", field="field_control", offset=8)
        mfr, image_type = r.uint(2, "manufacturer_code"), r.uint(2, "image_type")
        file_version, stack = r.uint(4, "file_version"), r.uint(2, "stack_version")
        header_string = r.take(HEADER_STRING_LENGTH, "header_string")
        image_size = r.uint(4, "image_size")
        scv = r.take(1, "security_credential_version")[0] \
            if fc & FieldControl.SECURITY_CREDENTIAL_VERSION_PRESENT else None
        dest = r.take(8, "upgrade_file_destination")[::-1] if fc & FieldControl.DEVICE_SPECIFIC_FILE else None
        hw_min = hw_max = None
        if fc & FieldControl.HARDWARE_VERSIONS_PRESENT:
            hw_min, hw_max = r.uint(2, "min_hardware_version"), r.uint(2, "max_hardware_version")
        if header_length != r.offset:
            raise OtaFileError(f"header_length {header_length} but the header has {r.offset} bytes",
                               field="header_length", offset=6)
        if not header_length <= image_size <= len(data):
            raise OtaFileError(f"image_size {image_size} but {len(data)} bytes are available "
                               f"(header {header_length})", field="image_size", offset=_IMAGE_SIZE_OFFSET)
        header = OtaHeader(mfr, image_type, file_version, header_string, stack, scv, dest, hw_min, hw_max)
        body = Reader(data[:image_size], error=OtaFileError, offset=r.offset)
        elements: list[SubElement] = []
        while body.remaining:
            i = len(elements)
            tag = body.uint(2, f"sub_element[{i}].tag")
            length = body.uint(4, f"sub_element[{i}].length")
            elements.append(SubElement(tag, body.take(length, f"sub_element[{i}].data")))
        return cls(header, tuple(elements)), data[image_size:]


def decode(data: bytes) -> OtaFile:
    """Parse a whole OTA file; ``image_size`` must be the file's length. Errors name field and offset."""
    f, rest = OtaFile.decode(data)
    if rest:
        raise OtaFileError(f"image_size {len(data) - len(rest)} but the file has {len(data)} bytes",
                           field="image_size", offset=_IMAGE_SIZE_OFFSET)
    return f


# --- GB-style signed images ---------------------------------------------------------------

_ECDSA_VERIFY = ec.ECDSA(hashes.SHA256())


def _signing_algorithm() -> ec.ECDSA:
    """RFC 6979 deterministic ECDSA where the installed cryptography offers it, so the same
    key and image give byte-identical files; otherwise randomised ECDSA (still valid)."""
    try:
        return ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
    except (TypeError, UnsupportedAlgorithm):
        return ec.ECDSA(hashes.SHA256())


def build_signed(header: OtaHeader, image: bytes, signer: bytes, key: ec.EllipticCurvePrivateKey, *,
                 tag: int = TAG_SIGNATURE) -> bytes:
    """An OTA file carrying ``image`` and, last, a signature sub-element by ``signer`` (EUI-64)."""
    if len(signer) != 8:
        raise ZigbeeEncodeError("the signer is an EUI-64", field="signer")
    if not isinstance(key.curve, ec.SECP256R1):
        raise ZigbeeEncodeError(f"GB images are signed with P-256, not {key.curve.name}", field="signature")
    placeholder = SubElement(tag, bytes(SIGNATURE_LENGTH))
    whole = OtaFile(header, (SubElement(TAG_IMAGE, image), placeholder)).encode()
    signed_part = whole[:-(SUB_ELEMENT_HEADER_LENGTH + SIGNATURE_LENGTH)]
    r, s = decode_dss_signature(key.sign(signed_part, _signing_algorithm()))
    signature = signer[::-1] + r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return signed_part + SubElement(tag, signature).encode()


def signer_of(f: OtaFile) -> bytes | None:
    """EUI-64 of the signer named in the file's signature sub-element, if it has one."""
    sig = next((e for e in f.elements if e.tag in SIGNATURE_TAGS), None)
    return sig.data[7::-1] if sig is not None and len(sig.data) == SIGNATURE_LENGTH else None


def verify(data: bytes, public: ec.EllipticCurvePublicKey) -> OtaFile:
    """Decode and verify the signature; raises :class:`OtaFileError` saying what failed."""
    f = decode(data)
    if not f.elements or f.elements[-1].tag not in SIGNATURE_TAGS:
        raise OtaFileError("the last sub-element is not an ECDSA signature (tag 0x0001 or 0x0005)",
                           field="signature")
    sig = f.elements[-1].data
    if len(sig) != SIGNATURE_LENGTH:
        raise OtaFileError(f"signature sub-element is {len(sig)} bytes, not {SIGNATURE_LENGTH} (EUI-64, r, s)",
                           field="signature", offset=len(data) - len(sig))
    signed_part = data[:len(data) - (SUB_ELEMENT_HEADER_LENGTH + SIGNATURE_LENGTH)]
    r, s = int.from_bytes(sig[8:40], "big"), int.from_bytes(sig[40:], "big")
    try:
        public.verify(encode_dss_signature(r, s), signed_part, _ECDSA_VERIFY)
    except InvalidSignature:
        raise OtaFileError("image signature does not verify with the manufacturer key", field="signature",
                           offset=len(data) - len(sig)) from None
    return f


def file_hash(data: bytes) -> bytes:
    """SHA-256 of the whole file: the image hash that GBCS Activate Firmware names."""
    return hashlib.sha256(data).digest()


def sample_image(key: ec.EllipticCurvePrivateKey, *, manufacturer_code: int, image_type: int, file_version: int,
                 size: int, signer: bytes = b"\xff" * 8, label: str = "smets2-emu sample") -> bytes:
    """A reproducible signed OTA file with ``size`` bytes of image (seeded filler, not random)."""
    filler = bytearray()
    block = hashlib.sha256(f"{label}/{manufacturer_code}/{image_type}/{file_version}".encode()).digest()
    while len(filler) < size:
        filler += block
        block = hashlib.sha256(block).digest()
    header = OtaHeader(manufacturer_code, image_type, file_version, label.encode()[:HEADER_STRING_LENGTH])
    return build_signed(header, bytes(filler[:size]), signer, key)
