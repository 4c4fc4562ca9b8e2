"""APS fragmentation (Zigbee PRO 05-3474 2.2.8.4.5), sans-IO: an ASDU larger than one frame
crosses the air as numbered blocks, sent a window at a time with an inter-frame delay; the
receiver acknowledges each window whole and puts the blocks back together.

The first block's extended header carries the block count, later ones their own index
(:class:`emulator.zigbee.aps.Fragmentation`); a HAN frame that is one block says so in
``HanPacket.fragment`` as ``(index, count)``. Defaults are Z-Stack's (``ZGlobals.h``):
a window of 5 blocks and 50 ms between frames.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from emulator.zigbee.errors import ZigbeeDecodeError, ZigbeeEncodeError
from emulator.zigbee.packet import HanPacket

DEFAULT_WINDOW = 5
DEFAULT_FRAME_DELAY_MS = 50
#: apscAckWaitDuration: 0.05 s x (2 x nwkcMaxDepth 15) + 0.1 s for security; apscMaxFrameRetries.
ACK_WAIT_S = 1.6
MAX_RETRIES = 3
MAX_BLOCKS = 255  # the block count travels in one byte of the first block's extended header
#: ASDU bytes one secured frame carries: a 127-byte PHY payload less the MAC header and FCS (11),
#: the NWK header (8) with its auxiliary security header and MIC (18), the APS header with the
#: fragmentation sub-frame (10) and the APS auxiliary header and MIC (9).
FRAGMENT_SIZE = 71
#: ASDU bytes one secured frame carries when it is not fragmented: the same budget without the APS
#: extended header (extended frame control and block number, 2 bytes). 127 - 11 - 8 - 18 - 8 - 9 = 73.
UNFRAGMENTED_MAX = FRAGMENT_SIZE + 2
#: The largest ASDU fragmentation can carry at all: the block count is one byte.
REASSEMBLY_MAX = MAX_BLOCKS * FRAGMENT_SIZE
#: Messages a receiver remembers as delivered, to acknowledge a repeat again without delivering it twice.
FINISHED_KEPT = 16


class ApsfError(ZigbeeDecodeError):
    """A block that does not belong to the message being reassembled (bad index, count changed)."""


@dataclass(frozen=True, slots=True)
class ApsfConfig:
    """How a sender fragments: block size, blocks per window, delay between frames."""

    fragment_size: int = FRAGMENT_SIZE
    window: int = DEFAULT_WINDOW
    frame_delay_ms: int = DEFAULT_FRAME_DELAY_MS

    def __post_init__(self) -> None:
        if not 1 <= self.window <= 8:  # apsMaxWindowSize is 1..8
            raise ZigbeeEncodeError(f"window {self.window} is outside 1..8", field="apsf.window")
        if self.fragment_size < 1:
            raise ZigbeeEncodeError("fragment size must be positive", field="apsf.fragment_size")


def split(packet: HanPacket, size: int = FRAGMENT_SIZE) -> list[HanPacket]:
    """``packet`` as the blocks that carry it (one unfragmented frame when it fits)."""
    data = packet.payload
    if len(data) <= size:
        return [packet]
    count = -(-len(data) // size)
    if count > MAX_BLOCKS:
        raise ZigbeeEncodeError(f"{len(data)} bytes need {count} blocks of {size}; APS carries at most "
                                f"{MAX_BLOCKS}", field="apsf.block_count")
    return [packet.with_payload(data[i * size:(i + 1) * size], (i, count))
            for i in range(count)]


@dataclass(slots=True)
class Reassembly:
    """The receiving side of one fragmented message: blocks in, the whole ASDU out."""

    count: int
    window: int = DEFAULT_WINDOW
    blocks: dict[int, bytes] = field(default_factory=dict)
    acked: int = 0
    """Blocks below this index have been acknowledged."""

    def add(self, index: int, count: int, data: bytes) -> None:
        if count != self.count:
            raise ApsfError(f"block {index} says {count} blocks, the first said {self.count}", field="apsf.count")
        if not 0 <= index < count:
            raise ApsfError(f"block index {index} outside 0..{count - 1}", field="apsf.block_number")
        self.blocks.setdefault(index, data)  # a retransmitted block changes nothing

    def window_acknowledged(self) -> int | None:
        """When every block of the current window is in: the index the sender goes on from (the
        acknowledgement is sent, and the window moves); else None."""
        end = min(self.acked + self.window, self.count)
        if self.acked >= self.count:
            return None
        blocks = self.blocks
        if len(blocks) < end:
            return None  # the indices are distinct and below count: one below end is missing
        for i in range(self.acked, end):
            if i not in blocks:
                return None
        self.acked = end
        return end

    @property
    def complete(self) -> bool:
        return len(self.blocks) == self.count

    def payload(self) -> bytes:
        blocks = self.blocks
        return b"".join([blocks[i] for i in range(self.count)])


@dataclass(slots=True)
class Transfer:
    """The sending side of one fragmented message: which window goes next."""

    blocks: list[HanPacket]
    config: ApsfConfig
    next: int = 0

    def window(self, now: float) -> list[tuple[float, HanPacket]]:
        """The next window's blocks with the time each leaves (``frame_delay_ms`` apart)."""
        end = min(self.next + self.config.window, len(self.blocks))
        if not self.config.frame_delay_ms:
            return [(now, block) for block in self.blocks[self.next:end]]
        delay = self.config.frame_delay_ms / 1000
        return [(now + k * delay, self.blocks[i]) for k, i in enumerate(range(self.next, end))]

    def acknowledged(self, through: int) -> bool:
        """The receiver has every block below ``through``; True when the whole message is across."""
        self.next = max(self.next, min(through, len(self.blocks)))
        return self.next >= len(self.blocks)


def check_size(size: int, limit: int, fragment_size: int = FRAGMENT_SIZE) -> None:
    """Refuse an ASDU of ``size`` bytes that the receiver could not reassemble (``limit``: its
    reassembly buffer) or whose block count would not fit the extended header."""
    if size > limit:
        raise ZigbeeEncodeError(f"a {size}-byte frame exceeds the {limit}-byte APS reassembly limit; it is refused "
                                f"(no receiver could put it back together)", field="apsf.size")
    count = -(-size // fragment_size)
    if count > MAX_BLOCKS:
        raise ZigbeeEncodeError(f"{size} bytes need {count} blocks of {fragment_size}; APS carries at most "
                                f"{MAX_BLOCKS}", field="apsf.block_count")


@dataclass(slots=True)
class Sender:
    """One sender's fragmented messages to one receiver, one at a time (APS sends the next only
    when the last window of the current one is acknowledged): windows out, acknowledgements in,
    a window sent again when its acknowledgement is ``ack_wait_s`` late, up to ``max_retries``."""

    config: ApsfConfig
    ack_wait_s: float = ACK_WAIT_S
    max_retries: int = MAX_RETRIES
    queue: deque[Transfer] = field(default_factory=deque)
    sent_at: float = 0.0
    tries: int = 0

    def start(self, packet: HanPacket, now: float) -> list[tuple[float, HanPacket]]:
        """Queue ``packet`` (too large for one frame); the blocks to transmit now (if it is first)."""
        self.queue.append(Transfer(split(packet, self.config.fragment_size), self.config))
        return self._window(now) if len(self.queue) == 1 else []

    def _window(self, now: float) -> list[tuple[float, HanPacket]]:
        blocks = self.queue[0].window(now)
        self.sent_at = blocks[-1][0] if blocks else now
        return blocks

    def _next(self, now: float) -> list[tuple[float, HanPacket]]:
        self.queue.popleft()
        self.tries = 0
        return self._window(now) if self.queue else []

    def acknowledged(self, through: int, now: float) -> tuple[Transfer | None, list[tuple[float, HanPacket]]]:
        """The receiver has every block below ``through``: (the transfer it finished, or None; the
        blocks to transmit next). An acknowledgement of nothing new changes nothing."""
        if not self.queue:
            return None, []
        job = self.queue[0]
        before = job.next
        if job.acknowledged(through):
            return job, self._next(now)
        if job.next == before:
            return None, []
        self.tries = 0
        return None, self._window(now)

    def deadline(self) -> float | None:
        """When the window on the air is overdue (None: nothing on the air)."""
        return self.sent_at + self.ack_wait_s if self.queue else None

    def overdue(self, now: float) -> tuple[Transfer | None, list[tuple[float, HanPacket]]]:
        """Time passing: (the transfer given up after ``max_retries``, or None; the blocks to transmit)."""
        due = self.deadline()
        if due is None or now < due:
            return None, []
        if self.tries < self.max_retries:
            self.tries += 1
            return None, self._window(now)
        return self.queue[0], self._next(now)


@dataclass(slots=True)
class Receiver:
    """One receiver's reassembly of one sender's blocks. ``tag`` names the message a block belongs
    to (what the APS counter does on the air), so a window sent again after its acknowledgement
    was lost is acknowledged again and never delivered twice."""

    window: int = DEFAULT_WINDOW
    current: tuple[int, HanPacket, Reassembly] | None = None
    finished: dict[int, int] = field(default_factory=dict)
    """Recently completed messages (the latest :data:`FINISHED_KEPT`): tag -> block count (a dict: every
    message's first block asks whether it is a repeat)."""

    def block(self, packet: HanPacket, tag: int) -> tuple[int | None, HanPacket | None]:
        """(the acknowledgement to send: blocks below this index are in, or None; the whole
        message once complete, or None). Raises :class:`ApsfError` for a block that cannot belong."""
        index, count = packet.fragment or (0, 1)
        if self.current is None or self.current[0] != tag:
            # Not the message being put together (whose tag cannot be among the finished ones).
            done = self.finished.get(tag)
            if done is not None:
                return done, None  # a repeat of a message already delivered: acknowledge it again
            if index != 0 and self.current is None:
                raise ApsfError(f"block {index}/{count} without its first block", field="apsf.block_number")
            self.current = (tag, packet, Reassembly(count, self.window))
        _, first, reassembly = self.current
        try:
            reassembly.add(index, count, packet.payload)
        except ApsfError:
            self.current = None
            raise
        ack = reassembly.window_acknowledged()
        if ack is None and index < reassembly.acked:
            ack = reassembly.acked  # a window already acknowledged came again: its ack was lost
        if len(reassembly.blocks) != reassembly.count:  # (``complete``, without a property call per block)
            return ack, None
        self.current = None
        finished = self.finished
        finished[tag] = count
        if len(finished) > FINISHED_KEPT:
            del finished[next(iter(finished))]  # the oldest
        return ack if ack is not None else count, first.with_payload(reassembly.payload())
