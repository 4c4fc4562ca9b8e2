"""Install codes and the link keys derived from them (Zigbee BDB 10.1; zigbee.md section 5; IC-2).

An install code is 6, 8, 12 or 16 bytes followed by its CRC-16/X-25, stored
little-endian. The link key is the AES-MMO hash of the whole code, CRC included; the
trust centre uses it, for that one EUI-64 only, in place of the default TC link key.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from emulator.zigbee.crc import crc16_x25
from emulator.zigbee.errors import InstallCodeError, ZigbeeEncodeError

__all__ = ["CODE_LENGTHS", "aes_mmo", "check", "crc16_x25", "link_key_from_install_code", "parse", "with_crc"]

CODE_LENGTHS = (6, 8, 12, 16)
_BLOCK = 16
# The 16-bit length form of the padding covers messages under 2**16 bits; install codes
# are at most 18 bytes, so the 32-bit form for longer messages is not implemented.
_MAX_MMO_INPUT = (1 << 16) // 8 - 1


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
        raise InstallCodeError(f"install code CRC is {found:04X}, expected {expected:04X}", "crc",
                               expected=expected, found=found)


def aes_mmo(data: bytes) -> bytes:
    """Matyas-Meyer-Oseas hash over AES-128 (Zigbee spec B.6): pad with 0x80, zeros and the
    16-bit big-endian bit length; the digest starts at zero and each block is encrypted
    under the current digest, then XORed with the block."""
    if len(data) > _MAX_MMO_INPUT:
        raise ZigbeeEncodeError(f"AES-MMO input of {len(data)} bytes needs the long padding form",
                                field="aes_mmo")
    padded = data + b"\x80"
    # Leave exactly 2 bytes for the length: with fewer than 3 free in the last block
    # (0x80 included), the padding spills into a whole extra block.
    padded += bytes(-(len(padded) + 2) % _BLOCK)
    padded += (len(data) * 8).to_bytes(2, "big")
    digest = bytes(_BLOCK)
    for i in range(0, len(padded), _BLOCK):
        block = padded[i:i + _BLOCK]
        encryptor = Cipher(algorithms.AES(digest), modes.ECB()).encryptor()
        enc = encryptor.update(block) + encryptor.finalize()
        digest = bytes(a ^ b for a, b in zip(enc, block, strict=True))
    return digest


def link_key_from_install_code(code: bytes) -> bytes:
    """The 16-byte link key for ``code`` (code bytes + CRC), after checking its length and CRC."""
    check(code)
    return aes_mmo(code)


def parse(text: str) -> bytes:
    """Install code as typed or printed: hex with optional spaces, dashes or colons."""
    cleaned = "".join(ch for ch in text if ch not in " -:\t")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise InstallCodeError(f"install code {text!r} is not hexadecimal", "format") from None
