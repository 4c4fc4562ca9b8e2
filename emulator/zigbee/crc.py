"""The two CRC-16s the HAN uses. Both are CCITT (poly 0x1021) reflected and differ only in
init and final XOR, so one bitwise routine serves both (frames here are short)."""

from __future__ import annotations

_POLY_REFLECTED = 0x8408  # 0x1021 bit-reversed: the reflected algorithm shifts right


def crc16_ccitt_reflected(data: bytes, init: int, xorout: int) -> int:
    """CRC-16 with poly 0x1021, input and output reflected."""
    crc = init
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY_REFLECTED if crc & 1 else crc >> 1
    return crc ^ xorout


def crc16_x25(data: bytes) -> int:
    """CRC-16/X-25 (IBM-SDLC): the install-code CRC. Check value for b"123456789" is 0x906E."""
    return crc16_ccitt_reflected(data, 0xFFFF, 0xFFFF)


def crc16_kermit(data: bytes) -> int:
    """CRC-16/KERMIT: the IEEE 802.15.4 FCS (init 0, no final XOR). Check value 0x2189."""
    return crc16_ccitt_reflected(data, 0x0000, 0x0000)
