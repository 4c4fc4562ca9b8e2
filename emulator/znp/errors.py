"""The fake Z-Stack's exception tree: one base, each error carrying the MT status it answers with."""

from __future__ import annotations

from typing import ClassVar

# MT status codes the fake answers with (Z-Stack's ZStatus values).
SUCCESS = 0x00
FAILURE = 0x01
INVALID_PARAMETER = 0x02
NV_ITEM_UNINIT = 0x09
NV_OPER_FAILED = 0x0A
NV_BAD_ITEM_LEN = 0x0C
NWK_NOT_PERMITTED = 0xC3
NWK_INVALID_REQUEST = 0xC2
MAC_NO_ACK = 0xE9
MAC_TRANSACTION_EXPIRED = 0xF0

# RPC error codes (the SRSP Z-Stack sends for a request it cannot take).
RPC_INVALID_SUBSYSTEM = 1
RPC_INVALID_COMMAND_ID = 2
RPC_INVALID_PARAMETER = 3
RPC_INVALID_LENGTH = 4


class ZnpError(ValueError):
    """Base of every error raised by ``emulator.znp``."""

    status: ClassVar[int] = FAILURE


class MtFrameError(ZnpError):
    """Bytes that are not an MT frame (bad length, bad FCS), or a frame too long to send."""


class MtCommandError(ZnpError):
    """A frame whose data does not fit its command's layout; the fake answers with an RPC error."""

    status = RPC_INVALID_PARAMETER

    def __init__(self, command: str, reason: str) -> None:
        self.command = command
        super().__init__(f"{command}: {reason}")


class UnknownCommand(ZnpError):
    """A request this fake Z-Stack does not implement (answered with RPC InvalidCommandId)."""

    status = RPC_INVALID_COMMAND_ID


class JoinRefusedByTrustCentre(ZnpError):
    """The fake's trust centre would not let a device in; ``reason`` says why."""

    status = NWK_NOT_PERMITTED

    def __init__(self, eui: bytes, reason: str) -> None:
        self.eui = eui
        self.reason = reason
        super().__init__(f"join of {eui.hex().upper()} refused: {reason}")
