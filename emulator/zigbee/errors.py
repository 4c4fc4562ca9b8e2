"""The Zigbee layer's exception tree; each error carries its ZCL status or reason code."""

from __future__ import annotations


class ZigbeeError(Exception):
    """Base of every error raised by ``emulator.zigbee``."""

    #: ZCL status reported to the peer (0x80 MALFORMED_COMMAND by default).
    status: int = 0x80

    def __init__(self, message: str, *, field: str = "", offset: int | None = None) -> None:
        self.field = field
        self.offset = offset
        where = ", ".join(x for x in (f"field {field!r}" if field else "",
                                      f"offset {offset}" if offset is not None else "") if x)
        super().__init__(f"{message} ({where})" if where else message)


class ZclDecodeError(ZigbeeError, ValueError):
    """Bytes that are not a valid frame of the cluster/command they claim to be."""


class OtaFileError(ZigbeeError, ValueError):
    """An OTA upgrade file that does not parse or does not verify (ZCL INVALID_IMAGE 0x96)."""

    status = 0x96


class InstallCodeError(ZigbeeError, ValueError):
    """An install code with a bad length or CRC; ``reason`` is ``length`` or ``crc``."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message, field="install_code")
        self.reason = reason
