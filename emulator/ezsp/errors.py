"""The fake EmberZNet NCP's exception tree: one base, each error naming what was wrong.

ASH errors carry the reset code an NCP reports in an ERROR frame; EZSP errors the EzspStatus
an NCP answers with (``invalidCommand``)."""

from __future__ import annotations

from typing import ClassVar

# EzspStatus values (UG100): what the fake answers a frame it cannot take with.
EZSP_SUCCESS = 0x00
EZSP_ERROR_VERSION_NOT_SET = 0x30
EZSP_ERROR_INVALID_FRAME_ID = 0x31
EZSP_ERROR_TRUNCATED = 0x33
EZSP_ERROR_OVERFLOW = 0x34
EZSP_ERROR_INVALID_VALUE = 0x36
EZSP_ERROR_INVALID_ID = 0x37
# NCP reset codes (UG101 table 4): sent in RSTACK and ERROR frames.
RESET_UNKNOWN = 0x00
RESET_EXTERNAL = 0x01
RESET_POWER_ON = 0x02
RESET_SOFTWARE = 0x0B
RESET_ERROR_EXCEEDED_MAXIMUM_ACK_TIMEOUT_COUNT = 0x51


class EzspError(ValueError):
    """Base of every error raised by ``emulator.ezsp``."""

    status: ClassVar[int] = EZSP_ERROR_INVALID_VALUE


class AshFrameError(EzspError):
    """Bytes that are not an ASH frame: bad CRC, a control byte no frame has, a wrong length."""


class EzspFrameError(EzspError):
    """An EZSP frame whose header or parameters do not fit; ``command`` names it when known."""

    def __init__(self, command: str, reason: str, status: int = EZSP_ERROR_INVALID_VALUE) -> None:
        self.command = command
        self.code = status
        super().__init__(f"{command}: {reason}")


class UnknownCommand(EzspError):
    """A frame id this fake NCP does not implement (answered with ``invalidCommand``)."""

    status = EZSP_ERROR_INVALID_FRAME_ID

    def __init__(self, frame_id: int) -> None:
        self.frame_id = frame_id
        super().__init__(f"no EZSP command 0x{frame_id:04X} in this fake NCP")


class JoinRefused(EzspError):
    """The fake's trust centre would not let a device in; ``reason`` says why."""

    def __init__(self, eui: bytes, reason: str) -> None:
        self.eui = eui
        self.reason = reason
        super().__init__(f"join of {eui.hex().upper()} refused: {reason}")
