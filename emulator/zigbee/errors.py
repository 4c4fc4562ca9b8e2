"""The Zigbee layer's exception tree (style lesson 10).

Two branches: :class:`ZigbeeDecodeError` means the peer (or a file) gave us bad bytes;
:class:`ZigbeeEncodeError` means our own caller asked for something the wire cannot carry.
Each class carries the ZCL status a device would answer with, so a handler can turn a
caught error straight into a Default Response. Parsers raise only these, never a bare
``ValueError``/``IndexError`` and never ``assert`` on wire data. The base is a
``ValueError`` so that callers written before the tree keep working.
"""

from __future__ import annotations

from typing import ClassVar

from emulator.zigbee.status import ZclStatus


class ZigbeeError(ValueError):
    """Base of every error raised by ``emulator.zigbee``."""

    #: ZCL status reported to the peer for this kind of error.
    status: ClassVar[ZclStatus] = ZclStatus.MALFORMED_COMMAND

    def __init__(self, message: str, *, field: str = "", offset: int | None = None) -> None:
        self.message = message
        self.field = field
        self.offset = offset
        where = ", ".join(part for part in (f"field {field!r}" if field else "",
                                            f"offset {offset}" if offset is not None else "") if part)
        super().__init__(f"{message} ({where})" if where else message)


class ZigbeeDecodeError(ZigbeeError):
    """Bytes from outside (a peer, a capture, a file) that do not parse."""


class FrameDecodeError(ZigbeeDecodeError):
    """A bad IEEE 802.15.4 MAC, NWK or APS header, or a bad FCS."""


class ZclDecodeError(ZigbeeDecodeError):
    """Bytes that are not a valid frame of the cluster/command they claim to be."""


class UnknownCommandError(ZclDecodeError):
    """A cluster command id with no table entry; raised only when decoding with ``strict=True``."""

    status = ZclStatus.UNSUP_CLUSTER_COMMAND


class OtaFileError(ZigbeeDecodeError):
    """An OTA upgrade file that does not parse or does not verify (ZCL INVALID_IMAGE 0x96)."""

    status = ZclStatus.INVALID_IMAGE


class ZdoError(ZigbeeDecodeError):
    """A Zigbee Device Profile (ZDO, endpoint 0) request that does not parse, e.g. one cut short.

    ``command`` names the ZDO command (``"Node_Desc_req"``); the message says what was wrong.
    A device drops such a request rather than answering it: a ZDO response needs the fields
    the request failed to carry.
    """

    def __init__(self, message: str, *, command: str = "", field: str = "", offset: int | None = None) -> None:
        super().__init__(message, field=field, offset=offset)
        self.command = command


class InstallCodeError(ZigbeeError):
    """An install code that cannot give a link key.

    ``reason`` is ``"length"``, ``"crc"`` or ``"format"`` (not hexadecimal); for ``"crc"``,
    ``expected`` is the CRC the code bytes give and ``found`` the one stored after them.
    """

    status = ZclStatus.INVALID_VALUE

    def __init__(self, message: str, reason: str, *, expected: int | None = None,
                 found: int | None = None) -> None:
        super().__init__(message, field="install_code")
        self.reason = reason
        self.expected = expected
        self.found = found


class ZigbeeEncodeError(ZigbeeError):
    """Our caller asked to encode a value the field cannot hold (a local programming error)."""

    status = ZclStatus.FAILURE
