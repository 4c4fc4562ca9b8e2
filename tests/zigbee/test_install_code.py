"""IC-2: install codes, CRC and AES-MMO link keys (vectors from zigbee.md)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.zigbee.errors import InstallCodeError
from emulator.zigbee.install_code import check, crc16_x25, link_key_from_install_code, with_crc

VECTORS = [
    ("0102030405060eb8", "a3761fefadfebd66d4d8e26eaec9cd7b"),
    ("0102030405060708d46d", "0a7e11a360aed8c8c173b67367060ef3"),
    ("0102030405060708090a0b0ca528", "b0e05979e16c72567b71a79fdee35c9e"),
    ("0102030405060708090a0b0c0d0e0f1090fd", "f7db70e028b72b3f67d90a54f6916ff4"),
]


def test_crc16_x25_check_value():
    assert crc16_x25(b"123456789") == 0x906E


@pytest.mark.parametrize(("code", "key"), VECTORS)
def test_ic2_link_key_vectors(code: str, key: str):
    assert link_key_from_install_code(bytes.fromhex(code)).hex() == key


def test_ic2_bad_crc_and_length_are_refused_with_the_reason():
    with pytest.raises(InstallCodeError) as e:
        link_key_from_install_code(bytes.fromhex("1122334455667788FFFF"))
    assert e.value.reason == "crc" and "CRC" in str(e.value)
    with pytest.raises(InstallCodeError) as e:
        link_key_from_install_code(b"")
    assert e.value.reason == "length"


@given(st.sampled_from([6, 8, 12, 16]).flatmap(lambda n: st.binary(min_size=n, max_size=n)), st.integers(0, 17),
       st.integers(1, 255))
def test_ic2_any_corruption_is_caught(code: bytes, index: int, flip: int) -> None:
    full = with_crc(code)
    check(full)
    bad = bytearray(full)
    bad[index % len(bad)] ^= flip
    with pytest.raises(InstallCodeError):
        check(bytes(bad))


def test_cli_install_code():
    ok = subprocess.run([sys.executable, "-m", "emulator", "zigbee", "install-code", VECTORS[1][0]],
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and ok.stdout.strip() == VECTORS[1][1]
    bad = subprocess.run([sys.executable, "-m", "emulator", "zigbee", "install-code", "1122334455667788FFFF"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and "CRC" in bad.stderr
