"""ASH (UG101), the serial link under EZSP, sans-IO: the NCP's end of it.

A frame on the wire is ``control [data] crc_hi crc_lo`` with reserved bytes stuffed, then a
Flag byte (0x7E). The CRC is CRC-CCITT (polynomial 0x1021, initial 0xFFFF, not reflected),
big-endian, over the control byte and the data. A DATA frame's data is XORed with a fixed
pseudo-random sequence (an LFSR seeded 0x42) so that a frame of zeros still toggles the line.

Control bytes: DATA ``0 frmNum(3) reTx ackNum(3)``; ACK ``100 res nRdy ackNum(3)``; NAK
``101 res nRdy ackNum(3)``; RST 0xC0; RSTACK 0xC1 (version 2, reset code); ERROR 0xC2.
``ackNum`` is always the number of the next frame the sender of it expects.

:class:`AshNcp` is the link state machine: DATA frames in order are acknowledged and handed up;
an out-of-order one is refused with one NAK (the reject condition) until the right one comes;
a retransmitted duplicate is acknowledged again and dropped. Frames the NCP sends stay held
until acknowledged; a NAK, or no ACK within ``T_RX_ACK`` of the injected clock, sends them
again with ``reTx`` set, at most ``MAX_RETRIES`` times. RST answers RSTACK and starts afresh.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum

from emulator.ezsp.errors import RESET_SOFTWARE, AshFrameError

FLAG, ESCAPE, XON, XOFF, SUBSTITUTE, CANCEL = 0x7E, 0x7D, 0x11, 0x13, 0x18, 0x1A
RESERVED = frozenset((FLAG, ESCAPE, XON, XOFF, SUBSTITUTE, CANCEL))
ASH_VERSION = 2
MAX_DATA = 128  # the longest EZSP frame ASH carries (UG101: 3..128 data bytes)
TX_WINDOW = 7  # frames the NCP may have unacknowledged (frame numbers are modulo 8)
T_RX_ACK = 1.6  # s: UG101's initial t_rx_ack, kept fixed here
MAX_RETRIES = 5  # UG101 ACK_TIMEOUTS: then the NCP gives the frame up


class Kind(IntEnum):
    DATA = 0
    ACK = 1
    NAK = 2
    RST = 3
    RSTACK = 4
    ERROR = 5


def crc_ccitt(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def _sequence(length: int) -> bytes:
    out, rand = bytearray(), 0x42
    for _ in range(length):
        out.append(rand)
        rand = (rand >> 1) ^ 0xB8 if rand & 1 else rand >> 1
    return bytes(out)


PSEUDO_RANDOM = _sequence(256)


def randomise(data: bytes) -> bytes:
    """XOR with the pseudo-random sequence (its own inverse)."""
    return bytes(a ^ b for a, b in zip(data, PSEUDO_RANDOM, strict=False))


def stuff(frame: bytes) -> bytes:
    out = bytearray()
    for byte in frame:
        if byte in RESERVED:
            out += bytes((ESCAPE, byte ^ 0x20))
        else:
            out.append(byte)
    return bytes(out)


def unstuff(data: bytes) -> bytes:
    out, escaped = bytearray(), False
    for byte in data:
        if escaped:
            value = byte ^ 0x20
            if value not in RESERVED:
                raise AshFrameError(f"escape before 0x{byte:02X}: 0x{value:02X} is not a reserved byte")
            out.append(value)
            escaped = False
        elif byte == ESCAPE:
            escaped = True
        else:
            out.append(byte)
    if escaped:
        raise AshFrameError("frame ends in an escape byte")
    return bytes(out)


@dataclass(frozen=True, slots=True)
class AshFrame:
    kind: Kind
    frm_num: int = 0
    ack_num: int = 0
    re_tx: bool = False
    not_ready: bool = False
    data: bytes = b""
    """DATA: the EZSP frame (not randomised). RSTACK/ERROR: version and reset code."""

    @property
    def control(self) -> int:
        if self.kind is Kind.DATA:
            return (self.frm_num & 7) << 4 | int(self.re_tx) << 3 | (self.ack_num & 7)
        if self.kind in (Kind.ACK, Kind.NAK):
            return (0x80 if self.kind is Kind.ACK else 0xA0) | int(self.not_ready) << 3 | (self.ack_num & 7)
        return {Kind.RST: 0xC0, Kind.RSTACK: 0xC1, Kind.ERROR: 0xC2}[self.kind]

    def encode(self) -> bytes:
        """The frame as it goes on the wire: stuffed, with its CRC and the Flag byte."""
        if self.kind is Kind.DATA and not 1 <= len(self.data) <= MAX_DATA:
            raise AshFrameError(f"a DATA frame carries 1..{MAX_DATA} bytes, not {len(self.data)}")
        body = bytes((self.control,)) + (randomise(self.data) if self.kind is Kind.DATA else self.data)
        return stuff(body + crc_ccitt(body).to_bytes(2, "big")) + bytes((FLAG,))

    @classmethod
    def decode(cls, raw: bytes) -> AshFrame:
        """One frame, unstuffed, without its Flag byte."""
        if len(raw) < 3:
            raise AshFrameError(f"{len(raw)} bytes are too short for an ASH frame: {raw.hex()}")
        body, crc = raw[:-2], int.from_bytes(raw[-2:], "big")
        if crc_ccitt(body) != crc:
            raise AshFrameError(f"bad CRC 0x{crc:04X} (expected 0x{crc_ccitt(body):04X}) on {body.hex()}")
        control, data = body[0], body[1:]
        if control & 0x80 == 0:
            if not data:
                raise AshFrameError("a DATA frame with no data")
            return cls(Kind.DATA, control >> 4 & 7, control & 7, bool(control & 0x08), data=randomise(data))
        if control & 0xE0 in (0x80, 0xA0):
            if data:
                raise AshFrameError(f"an {'ACK' if control & 0xE0 == 0x80 else 'NAK'} frame with data {data.hex()}")
            return cls(Kind.ACK if control & 0xE0 == 0x80 else Kind.NAK, ack_num=control & 7,
                       not_ready=bool(control & 0x08))
        if control == 0xC0:
            if data:
                raise AshFrameError(f"an RST frame with data {data.hex()}")
            return cls(Kind.RST)
        if control in (0xC1, 0xC2):
            if len(data) != 2 or data[0] != ASH_VERSION:
                raise AshFrameError(f"an RSTACK/ERROR frame needs version 2 and a reset code, got {data.hex()}")
            return cls(Kind.RSTACK if control == 0xC1 else Kind.ERROR, data=data)
        raise AshFrameError(f"control byte 0x{control:02X} is no ASH frame")


@dataclass(slots=True)
class AshReader:
    """Splits a byte stream into frames at Flag bytes, honouring Cancel and Substitute."""

    buffer: bytearray = field(default_factory=bytearray)
    discarding: bool = False
    """After a Substitute byte: everything up to the next Flag is dropped."""

    def feed(self, data: bytes) -> list[bytes | AshFrameError]:
        """Whole frames (unstuffed) and, in their place, what was wrong with the bad ones."""
        out: list[bytes | AshFrameError] = []
        for byte in data:
            if byte in (XON, XOFF):
                continue  # software flow control: not part of any frame
            if byte == CANCEL:
                self.buffer.clear()
                self.discarding = False
            elif byte == SUBSTITUTE:
                self.buffer.clear()
                self.discarding = True
            elif byte == FLAG:
                raw, self.buffer = bytes(self.buffer), bytearray()
                if self.discarding:
                    self.discarding = False
                elif raw:
                    try:
                        out.append(unstuff(raw))
                    except AshFrameError as e:
                        out.append(e)
            elif not self.discarding:
                self.buffer.append(byte)
                if len(self.buffer) > 2 * (MAX_DATA + 3) + 2:
                    self.buffer.clear()
                    out.append(AshFrameError("no Flag byte within the longest frame: bytes dropped"))
        return out


@dataclass(slots=True)
class AshOutput:
    wire: bytearray = field(default_factory=bytearray)
    """Bytes for the host."""
    received: list[bytes] = field(default_factory=list)
    """EZSP frames from the host, in order, each once."""
    reset: bool = False
    """The host reset the link (RST): the NCP restarted."""
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Sent:
    frm_num: int
    data: bytes
    sent_at: float
    tries: int = 0


@dataclass(slots=True)
class AshNcp:
    """The NCP's end of one ASH link."""

    connected: bool = False
    tx_seq: int = 0
    """Number of the next DATA frame the NCP sends."""
    rx_seq: int = 0
    """Number of the next DATA frame the NCP expects."""
    rejecting: bool = False
    unacked: deque[_Sent] = field(default_factory=deque)
    waiting: deque[bytes] = field(default_factory=deque)
    """EZSP frames queued behind a full window."""
    reader: AshReader = field(default_factory=AshReader)
    naks_sent: int = 0
    retransmitted: int = 0

    def receive(self, data: bytes, now: float) -> AshOutput:
        out = AshOutput()
        for item in self.reader.feed(data):
            if isinstance(item, AshFrameError):
                out.notes.append(str(item))
                continue
            try:
                frame = AshFrame.decode(item)
            except AshFrameError as e:
                out.notes.append(str(e))
                if item and item[0] & 0x80 == 0 and self.connected:  # a damaged DATA frame: ask again
                    self._reject(out)
                continue
            self._frame(frame, now, out)
        return out

    def _frame(self, frame: AshFrame, now: float, out: AshOutput) -> None:
        if frame.kind is Kind.RST:
            self.restart(out)
            return
        if not self.connected:
            out.notes.append(f"{frame.kind.name} frame before RST: ignored")
            return
        if frame.kind in (Kind.RSTACK, Kind.ERROR):
            out.notes.append(f"{frame.kind.name} frame from the host: ignored (only an NCP sends it)")
            return
        self._acknowledged(frame.ack_num, now, out)
        if frame.kind is Kind.NAK:
            self._resend_all(now, out)
        elif frame.kind is Kind.DATA:
            if frame.frm_num == self.rx_seq:
                self.rx_seq = (self.rx_seq + 1) & 7
                self.rejecting = False
                out.wire += AshFrame(Kind.ACK, ack_num=self.rx_seq).encode()
                out.received.append(frame.data)
            elif frame.re_tx:  # a copy of one already taken: its ACK was lost
                out.wire += AshFrame(Kind.ACK, ack_num=self.rx_seq).encode()
            else:
                out.notes.append(f"DATA frame {frame.frm_num} out of sequence (expected {self.rx_seq})")
                self._reject(out)

    def restart(self, out: AshOutput, reset_code: int = RESET_SOFTWARE) -> None:
        self.connected = True
        self.tx_seq = self.rx_seq = 0
        self.rejecting = False
        self.unacked.clear()
        self.waiting.clear()
        out.reset = True
        out.wire += AshFrame(Kind.RSTACK, data=bytes((ASH_VERSION, reset_code))).encode()

    def _reject(self, out: AshOutput) -> None:
        if not self.rejecting:
            self.rejecting = True
            self.naks_sent += 1
            out.wire += AshFrame(Kind.NAK, ack_num=self.rx_seq).encode()

    def _acknowledged(self, ack_num: int, now: float, out: AshOutput) -> None:
        if self.unacked:
            count = (ack_num - self.unacked[0].frm_num) & 7
            if count <= len(self.unacked):
                for _ in range(count):
                    self.unacked.popleft()
        while self.waiting and len(self.unacked) < TX_WINDOW:
            self._transmit(self.waiting.popleft(), now, out)

    def _resend_all(self, now: float, out: AshOutput) -> None:
        for sent in self.unacked:
            sent.tries += 1
            sent.sent_at = now
            self.retransmitted += 1
            out.wire += AshFrame(Kind.DATA, sent.frm_num, self.rx_seq, True, data=sent.data).encode()

    def _transmit(self, data: bytes, now: float, out: AshOutput) -> None:
        sent = _Sent(self.tx_seq, data, now)
        self.tx_seq = (self.tx_seq + 1) & 7
        self.unacked.append(sent)
        out.wire += AshFrame(Kind.DATA, sent.frm_num, self.rx_seq, data=data).encode()

    def send(self, data: bytes, now: float, out: AshOutput | None = None) -> AshOutput:
        """An EZSP frame for the host."""
        out = out if out is not None else AshOutput()
        if not self.connected:
            out.notes.append("EZSP frame dropped: the host has not reset the link (no RST yet)")
        elif len(self.unacked) < TX_WINDOW and not self.waiting:
            self._transmit(data, now, out)
        else:
            self.waiting.append(data)
        return out

    def tick(self, now: float) -> AshOutput:
        """Time passing: unacknowledged frames whose ACK is late are sent again, or given up."""
        out = AshOutput()
        if self.unacked and now - self.unacked[0].sent_at >= T_RX_ACK:
            if self.unacked[0].tries >= MAX_RETRIES:
                out.notes.append(f"no ACK for DATA frame {self.unacked[0].frm_num} after {MAX_RETRIES} retries: "
                                 f"{len(self.unacked)} frames dropped")
                self.unacked.clear()
                self._acknowledged(self.tx_seq, now, out)
            else:
                self._resend_all(now, out)
        return out

    def next_deadline(self) -> float | None:
        return self.unacked[0].sent_at + T_RX_ACK if self.unacked else None
