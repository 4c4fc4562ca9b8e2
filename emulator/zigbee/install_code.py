"""Install codes and the link keys derived from them (Zigbee BDB 10.1; zigbee.md section 5; IC-2).

An install code is 6, 8, 12 or 16 bytes followed by its CRC-16/X-25, stored
little-endian. The link key is the AES-MMO hash of the whole code, CRC included.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from emulator.zigbee.errors import InstallCodeError

CODE_LENGTHS = (6, 8, 12, 16)


def crc16_ccitt_reflected(data: bytes, init: int, xorout: int) -> int:
    """CRC-16 with poly 0x1021 reflected (0x8408): X-25 and KERMIT differ only in init/xorout."""
    crc = init
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ xorout


def crc16_x25(data: bytes) -> int:
    """CRC-16/X-25: init 0xFFFF, xorout 0xFFFF (check value 0x906E)."""
    return crc16_ccitt_reflected(data, 0xFFFF, 0xFFFF)


def with_crc(code: bytes) -> bytes:
    """``code`` with its CRC appended (little-endian), as printed on a device label."""
    if len(code) not in CODE_LENGTHS:
        raise InstallCodeError(f"install code must be 6, 8, 12 or 16 bytes before its CRC, got {len(code)}",
                               "length")
    return code + crc16_x25(code).to_bytes(2, "little")


def check(install_code: bytes) -> None:
    """Raise :class:`InstallCodeError` naming the problem (length or CRC)."""
    n = len(install_code)
    if n - 2 not in CODE_LENGTHS:
        raise InstallCodeError(
            f"install code must be 8, 10, 14 or 18 bytes (6/8/12/16 code bytes + 2 CRC bytes), got {n}", "length")
    expected = crc16_x25(install_code[:-2])
    found = int.from_bytes(install_code[-2:], "little")
    if expected != found:
        raise InstallCodeError(f"install code CRC is {found:04X}, expected {expected:04X}", "crc")


def aes_mmo(data: bytes) -> bytes:
    """Matyas-Meyer-Oseas hash over AES-128 with Zigbee's padding (0x80, zeros, 16-bit bit length)."""
    bit_length = len(data) * 8
    padded = data + b"\x80"
    while len(padded) % 16 != 14:
        padded += b"\x00"
    padded += bit_length.to_bytes(2, "big")
    digest = bytes(16)
    for i in range(0, len(padded), 16):
        block = padded[i:i + 16]
        encryptor = Cipher(algorithms.AES(digest), modes.ECB()).encryptor()
        enc = encryptor.update(block) + encryptor.finalize()
        digest = bytes(a ^ b for a, b in zip(enc, block, strict=True))
    return digest


def link_key_from_install_code(install_code: bytes) -> bytes:
    """The 16-byte link key for ``install_code`` (code + CRC), after checking it."""
    check(install_code)
    return aes_mmo(install_code)


def parse(text: str) -> bytes:
    """Install code as typed or printed: hex with optional spaces, dashes or colons."""
    cleaned = "".join(ch for ch in text if ch not in " -:")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise InstallCodeError(f"install code {text!r} is not hexadecimal", "format") from None
