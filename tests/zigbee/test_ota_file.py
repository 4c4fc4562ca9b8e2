"""The Zigbee OTA upgrade file: header with optional fields, sub-elements, GB-style signatures (DV-5)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from emulator.zigbee import ota_file
from emulator.zigbee.errors import OtaFileError, ZigbeeEncodeError
from emulator.zigbee.ota_file import OtaFile, OtaHeader, SubElement, Tag
from tests.zigbee.strategies import ota_files

IMAGES = Path(__file__).resolve().parents[2] / "firmware_images"
EUI = bytes.fromhex("00DB1234567890A0")

# 56-byte header, no optional fields, no sub-elements (so image_size is 56 too).
MINIMAL = ("1EF1EE0B" "0001" "3800" "0000" "3412" "0100" "04030201" "0200" + "47534D45" + "00" * 28 + "38000000")
# 69-byte header with every optional field: credential version 1, destination EUI-64 (LE),
# hardware versions 1.1 to 2.3; then a 3-byte image sub-element (tag 0000, length 3).
FULL = ("1EF1EE0B" "0001" "4500" "0700" "3412" "0200" "070A0309" "0200" + "47534D45" + "00" * 28 + "4E000000"
        + "01" + "A09078563412DB00" + "0101" "0302" + "0000" "03000000" "616263")


def _key(seed: int = 12345) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(seed, ec.SECP256R1())


def test_minimal_header_golden():
    f = OtaFile(OtaHeader(0x1234, 1, 0x01020304, b"GSME"))
    assert f.encode() == bytes.fromhex(MINIMAL) and f.header.length == 56
    assert ota_file.decode(bytes.fromhex(MINIMAL)) == f


def test_full_header_golden():
    header = OtaHeader(0x1234, 2, 0x09030A07, b"GSME", security_credential_version=1, upgrade_file_destination=EUI,
                       min_hardware_version=0x0101, max_hardware_version=0x0203)
    f = OtaFile(header, (SubElement(Tag.UPGRADE_IMAGE, b"abc"),))
    assert header.length == 69 and int(header.field_control) == 0x0007
    assert f.encode() == bytes.fromhex(FULL)
    assert ota_file.decode(bytes.fromhex(FULL)) == f and f.image == b"abc"


@given(ota_files)
def test_ota_file_round_trip(f: OtaFile) -> None:
    data = f.encode()
    assert len(data) == f.image_size and int.from_bytes(data[52:56], "little") == len(data)
    assert ota_file.decode(data) == f
    assert OtaFile.decode(data + b"next") == (f, b"next")


def _patch(hexstr: str, offset: int, new: str) -> bytes:
    data = bytearray.fromhex(hexstr)
    data[offset:offset + len(new) // 2] = bytes.fromhex(new)
    return bytes(data)


@pytest.mark.parametrize(("data", "field", "offset"), [
    (_patch(MINIMAL, 0, "1EF1EE0C"), "upgrade_file_id", 0),
    (_patch(MINIMAL, 4, "0002"), "header_version", 4),
    (_patch(MINIMAL, 6, "3900"), "header_length", 6),
    (_patch(MINIMAL, 8, "0800"), "field_control", 8),
    (_patch(MINIMAL, 8, "0100"), "security_credential_version", 56),  # flagged, but the file ends
    (_patch(MINIMAL, 52, "39000000"), "image_size", 52),
    (_patch(MINIMAL, 52, "37000000"), "image_size", 52),
    (bytes.fromhex(MINIMAL)[:30], "header_string", 20),
    (bytes.fromhex(FULL)[:-1], "image_size", 52),
    (_patch(FULL, 52, "4D000000")[:-1], "sub_element[0].data", 75),
    (_patch(FULL, 52, "4A000000")[:-4], "sub_element[0].length", 71),
])
def test_errors_name_field_and_offset(data: bytes, field: str, offset: int):
    with pytest.raises(OtaFileError) as e:
        ota_file.decode(data)
    assert (e.value.field, e.value.offset) == (field, offset), str(e.value)
    assert e.value.status == 0x96  # ZCL INVALID_IMAGE


def test_trailing_bytes_beyond_image_size_are_refused_by_decode():
    with pytest.raises(OtaFileError, match="image_size 56 but the file has 57 bytes"):
        ota_file.decode(bytes.fromhex(MINIMAL) + b"\x00")


def test_header_refuses_bad_fields():
    with pytest.raises(ZigbeeEncodeError):
        OtaHeader(1, 1, 1, bytes(33))
    with pytest.raises(ZigbeeEncodeError):
        OtaHeader(1, 1, 1, min_hardware_version=1)
    with pytest.raises(ZigbeeEncodeError):
        OtaHeader(1, 1, 1, upgrade_file_destination=b"\x01")
    with pytest.raises(ZigbeeEncodeError):
        OtaFile(OtaHeader(0x10000, 1, 1)).encode()
    assert OtaHeader(1, 1, 1, b"AB\x00\x00").header_string == b"AB"  # NUL padding is not content


def test_signed_image_verifies_and_names_signer_and_hash():
    key = _key()
    header = OtaHeader(0x1234, 1, 0x01020304, b"ESME")
    data = ota_file.build_signed(header, b"firmware" * 100, EUI, key)
    f = ota_file.verify(data, key.public_key())
    assert f.image == b"firmware" * 100 and f.header == header
    assert [e.tag for e in f.elements] == [Tag.UPGRADE_IMAGE, Tag.ECDSA_SIGNATURE_CRYPTO_SUITE_1]
    assert len(f.elements[-1].data) == 72 and ota_file.signer_of(f) == EUI
    assert data[-72:-64] == EUI[::-1]  # the signer's EUI-64 is little-endian in the file
    assert len(ota_file.file_hash(data)) == 32
    suite2 = ota_file.build_signed(header, b"x", EUI, key, tag=Tag.ECDSA_SIGNATURE_CRYPTO_SUITE_2)
    assert ota_file.verify(suite2, key.public_key()).elements[-1].tag == 0x0005


def test_signed_image_refusals():
    key = _key()
    data = ota_file.sample_image(key, manufacturer_code=0x1234, image_type=1, file_version=0x01020304, size=5000)
    tampered = bytearray(data)
    tampered[100] ^= 1
    with pytest.raises(OtaFileError, match="does not verify") as e:
        ota_file.verify(bytes(tampered), key.public_key())
    assert e.value.field == "signature"
    with pytest.raises(OtaFileError, match="does not verify"):
        ota_file.verify(data, _key(999).public_key())
    unsigned = OtaFile(OtaHeader(1, 1, 1), (SubElement(Tag.UPGRADE_IMAGE, b"x"),)).encode()
    with pytest.raises(OtaFileError, match="not an ECDSA signature"):
        ota_file.verify(unsigned, key.public_key())
    short_sig = OtaFile(OtaHeader(1, 1, 1), (SubElement(Tag.ECDSA_SIGNATURE_CRYPTO_SUITE_1, bytes(50)),)).encode()
    with pytest.raises(OtaFileError, match="50 bytes, not 72"):
        ota_file.verify(short_sig, key.public_key())
    with pytest.raises(ZigbeeEncodeError, match="P-256"):
        ota_file.build_signed(OtaHeader(1, 1, 1), b"", EUI, ec.generate_private_key(ec.SECP384R1()))
    with pytest.raises(ZigbeeEncodeError, match="EUI-64"):
        ota_file.build_signed(OtaHeader(1, 1, 1), b"", b"\x01", key)


def test_signing_is_deterministic():
    if ota_file._signing_algorithm().deterministic_signing is not True:
        pytest.skip("the installed cryptography has no deterministic ECDSA")
    make = lambda: ota_file.sample_image(_key(), manufacturer_code=1, image_type=2, file_version=3, size=300)  # noqa: E731
    assert make() == make()


@pytest.mark.parametrize("name", ["chf-0124ABCD.ota", "esme-0124ABCD.ota", "gsme-0124ABCD.ota"])
def test_committed_sample_images_still_verify(name: str):
    # Regression: these files were written by an earlier version of this codec.
    from emulator.pki.generate import manufacturer_key

    data = (IMAGES / name).read_bytes()
    f = ota_file.verify(data, manufacturer_key(1).public_key())
    assert f.header.file_version == 0x0124ABCD and ota_file.signer_of(f) == b"\xff" * 8


@given(st.binary(max_size=200))
def test_fuzz_random_bytes_raise_only_ota_file_errors(data: bytes) -> None:
    with contextlib.suppress(OtaFileError):
        ota_file.decode(data)


_SIGNED = ota_file.build_signed(OtaHeader(0x1234, 1, 5, b"x", security_credential_version=0,
                                          min_hardware_version=1, max_hardware_version=2),
                                b"image" * 10, EUI, _key())


@given(st.data())
def test_fuzz_mutated_files_raise_only_ota_file_errors(data: st.DataObject) -> None:
    blob = bytearray(_SIGNED)
    for _ in range(data.draw(st.integers(1, 3))):
        pos = data.draw(st.integers(0, len(blob) - 1))
        if data.draw(st.booleans()):
            blob[pos] ^= data.draw(st.integers(1, 255))
        else:
            del blob[pos:pos + data.draw(st.integers(1, 8))]
    with contextlib.suppress(OtaFileError):
        ota_file.verify(bytes(blob), _key().public_key())


def test_cross_check_with_zigpy():
    image = pytest.importorskip("zigpy.ota.image", reason="zigpy (GPL extra 'radio') not installed")
    for data in (bytes.fromhex(FULL), _SIGNED):
        parsed, rest = image.parse_ota_image(data)
        assert rest == b"" and parsed.serialize() == data
        assert parsed.header.header_length == ota_file.decode(data).header.length
