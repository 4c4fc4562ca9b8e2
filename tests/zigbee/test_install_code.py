"""IC-2: install codes, their CRC and the AES-MMO link keys (vectors from zigbee.md section 5)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.cli import main
from emulator.zigbee.crc import crc16_kermit, crc16_x25
from emulator.zigbee.errors import InstallCodeError, ZigbeeEncodeError, ZigbeeError
from emulator.zigbee.install_code import aes_mmo, check, link_key_from_install_code, parse, with_crc

# zigbee.md section 5 regression vectors: sequential bytes + CRC (LE) -> link key.
VECTORS = [
    ("0102030405060eb8", "a3761fefadfebd66d4d8e26eaec9cd7b"),
    ("0102030405060708d46d", "0a7e11a360aed8c8c173b67367060ef3"),
    ("0102030405060708090a0b0ca528", "b0e05979e16c72567b71a79fdee35c9e"),
    ("0102030405060708090a0b0c0d0e0f1090fd", "f7db70e028b72b3f67d90a54f6916ff4"),
]
# The install-code example widely published for Zigbee 3.0 joins (e.g. Silicon Labs AN1089);
# zigpy 2.4.0 gives the same key.
LABEL_EXAMPLE = ("83FED3407A939723A5C639B26916D505C3B5", "66b6900981e1ee3ca4206b6b861c02bb")
LABEL_GROUPS = ["83FE", "D340", "7A93", "9723", "A5C6", "39B2", "6916", "D505", "C3B5"]  # as printed on a label


def test_crc_check_values():
    # The catalogue check values of the two CRC-16s (input b"123456789").
    assert crc16_x25(b"123456789") == 0x906E
    assert crc16_kermit(b"123456789") == 0x2189


@pytest.mark.parametrize(("code", "key"), [*VECTORS, LABEL_EXAMPLE])
def test_ic2_link_key_vectors(code: str, key: str):
    assert link_key_from_install_code(bytes.fromhex(code)).hex() == key


@pytest.mark.parametrize(("code", "_key"), VECTORS)
def test_with_crc_appends_the_stored_crc(code: str, _key: str):
    full = bytes.fromhex(code)
    assert with_crc(full[:-2]) == full


def test_bad_crc_is_refused_with_reason_expected_and_found():
    with pytest.raises(InstallCodeError) as e:
        link_key_from_install_code(bytes.fromhex("1122334455667788FFFF"))
    err = e.value
    assert (err.reason, err.found, err.expected) == ("crc", 0xFFFF, crc16_x25(bytes.fromhex("1122334455667788")))
    assert str(err) == f"install code CRC is FFFF, expected {err.expected:04X} (field 'install_code')"
    assert err.status == 0x87  # ZCL INVALID_VALUE


@pytest.mark.parametrize("length", [0, 1, 7, 9, 11, 12, 13, 15, 16, 17, 19, 20])
def test_bad_length_is_refused_with_reason(length: int):
    with pytest.raises(InstallCodeError) as e:
        link_key_from_install_code(bytes(length))
    assert e.value.reason == "length" and f"got {length}" in str(e.value)


def test_with_crc_refuses_bad_lengths():
    with pytest.raises(InstallCodeError, match="6, 8, 12 or 16") as e:
        with_crc(bytes(7))
    assert e.value.reason == "length"


def test_parse_accepts_label_formatting_and_refuses_non_hex():
    assert parse("83FE-D340 7A93:9723") == bytes.fromhex("83FED3407A939723")
    with pytest.raises(InstallCodeError) as e:
        parse("83FG")
    assert e.value.reason == "format" and isinstance(e.value, ZigbeeError)


def test_aes_mmo_padding_boundary():
    # 13 bytes leave exactly 3 free bytes (one block); 14 bytes spill into a second block.
    # Both results are checked against an independent two-line definition of the padding.
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    def reference(data: bytes) -> bytes:
        padded = data + b"\x80"
        while len(padded) % 16 != 14:
            padded += b"\x00"
        padded += (8 * len(data)).to_bytes(2, "big")
        h = bytes(16)
        for i in range(0, len(padded), 16):
            enc = Cipher(algorithms.AES(h), modes.ECB()).encryptor()
            h = bytes(a ^ b for a, b in zip(enc.update(padded[i:i + 16]) + enc.finalize(), padded[i:i + 16],
                                            strict=True))
        return h

    for n in range(40):
        assert aes_mmo(bytes(range(n))) == reference(bytes(range(n))), n
    with pytest.raises(ZigbeeEncodeError):
        aes_mmo(bytes(8192))


@given(st.sampled_from([6, 8, 12, 16]).flatmap(lambda n: st.binary(min_size=n, max_size=n)), st.integers(0, 17),
       st.integers(1, 255))
def test_ic2_any_single_byte_corruption_is_caught(code: bytes, index: int, flip: int) -> None:
    full = with_crc(code)
    check(full)
    bad = bytearray(full)
    bad[index % len(bad)] ^= flip
    with pytest.raises(InstallCodeError) as e:
        check(bytes(bad))
    assert e.value.reason == "crc"  # CRC-16 catches every single-byte error


@given(st.binary(max_size=24))
def test_fuzz_install_codes_raise_only_install_code_errors(data: bytes) -> None:
    try:
        key = link_key_from_install_code(data)
    except InstallCodeError as e:
        assert e.reason in ("length", "crc")
    else:
        assert len(key) == 16


def test_cli_prints_the_key(capsys: pytest.CaptureFixture[str]):
    assert main(["zigbee", "install-code", VECTORS[1][0]]) == 0
    assert capsys.readouterr().out == VECTORS[1][1] + "\n"
    # As copied from a label: groups separated by spaces, upper case, not quoted.
    assert main(["zigbee", "install-code", *LABEL_GROUPS]) == 0
    assert capsys.readouterr().out == LABEL_EXAMPLE[1] + "\n"


@pytest.mark.parametrize(("code", "reason"), [("1122334455667788FFFF", "bad CRC: install code CRC is FFFF"),
                                              ("0102", "bad length"), ("xyz", "not hexadecimal")])
def test_cli_refusal_names_the_reason(capsys: pytest.CaptureFixture[str], code: str, reason: str):
    assert main(["zigbee", "install-code", code]) == 1
    out = capsys.readouterr()
    assert out.out == "" and reason in out.err


def test_cross_check_with_zigpy():
    util = pytest.importorskip("zigpy.util", reason="zigpy (GPL extra 'radio') not installed")
    for code, key in [*VECTORS, LABEL_EXAMPLE]:
        assert bytes(util.convert_install_code(bytes.fromhex(code))).hex() == key
