"""TI Monitor-and-Test (MT) framing: the serial protocol of a Z-Stack ZNP coprocessor.

A frame is ``FE len cmd0 cmd1 data... fcs``: ``cmd0`` packs the frame type (top three
bits: SREQ, AREQ, SRSP) with the subsystem (low five bits), ``cmd1`` is the command id,
``len`` counts the data only (at most 250 bytes) and ``fcs`` is the XOR of every byte
from ``len`` to the end of the data. The byte stream from a host may start with noise
(bootloader-skip bytes, a half-sent frame after a reconnect): :class:`FrameReader`
skips to the next ``FE`` and counts what it dropped, so one bad byte never stalls the link.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from functools import reduce

from emulator.znp.errors import MtFrameError

SOF = 0xFE
MAX_DATA = 250


class MtType(IntEnum):
    POLL = 0
    SREQ = 1  # synchronous request: answered at once by one SRSP
    AREQ = 2  # asynchronous: a callback from the chip, or a request with no SRSP
    SRSP = 3


class Subsystem(IntEnum):
    RPC_ERROR = 0
    SYS = 1
    MAC = 2
    NWK = 3
    AF = 4
    ZDO = 5
    SAPI = 6
    UTIL = 7
    DEBUG = 8
    APP = 9
    APP_CONFIG = 15
    ZGP = 21


@dataclass(frozen=True, slots=True)
class MtFrame:
    type: MtType
    subsystem: int
    command: int
    data: bytes = b""

    @property
    def cmd0(self) -> int:
        return (int(self.type) << 5) | self.subsystem

    def encode(self) -> bytes:
        if len(self.data) > MAX_DATA:
            raise MtFrameError(f"MT frame data is {len(self.data)} bytes; Z-Stack takes at most {MAX_DATA}")
        body = bytes((len(self.data), self.cmd0, self.command)) + self.data
        return bytes((SOF,)) + body + bytes((fcs(body),))

    @classmethod
    def decode(cls, wire: bytes) -> MtFrame:
        """One whole frame (SOF to FCS), as :meth:`encode` writes it."""
        frames = FrameReader()
        out = frames.feed(wire)
        if len(out) != 1 or frames.pending or frames.errors:
            raise MtFrameError(f"not exactly one MT frame: {wire.hex()}")
        return out[0]


def fcs(body: bytes) -> int:
    return reduce(lambda a, b: a ^ b, body, 0)


@dataclass(slots=True)
class FrameReader:
    """Splits a byte stream into frames; skips noise and frames with a bad FCS."""

    buffer: bytearray = field(default_factory=bytearray)
    skipped: int = 0
    """Bytes dropped before a start-of-frame."""
    errors: list[str] = field(default_factory=list)
    """What was wrong with each rejected frame (bad length, bad FCS), oldest first."""

    @property
    def pending(self) -> int:
        return len(self.buffer)

    def feed(self, data: bytes) -> list[MtFrame]:
        self.buffer += data
        out: list[MtFrame] = []
        buf = self.buffer
        while buf:
            start = buf.find(SOF)
            if start < 0:
                self.skipped += len(buf)
                buf.clear()
                break
            if start:
                self.skipped += start
                del buf[:start]
            if len(buf) < 2:
                break
            length = buf[1]
            if length > MAX_DATA:
                self.errors.append(f"length byte {length} exceeds {MAX_DATA}")
                del buf[:1]
                continue
            if len(buf) < length + 5:
                break
            body = bytes(buf[1:length + 4])
            if fcs(body) != buf[length + 4]:
                self.errors.append(f"bad FCS 0x{buf[length + 4]:02X} (expected 0x{fcs(body):02X}) on {body.hex()}")
                del buf[:1]  # resynchronise on the next SOF
                continue
            del buf[:length + 5]
            kind, subsystem = body[1] >> 5, body[1] & 0x1F
            try:
                frame_type = MtType(kind)
            except ValueError:
                self.errors.append(f"frame type {kind} is not SREQ, AREQ or SRSP")
                continue
            out.append(MtFrame(frame_type, subsystem, body[2], body[3:]))
        return out
