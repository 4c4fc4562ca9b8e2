"""APS fragmentation (Zigbee PRO 05-3474 2.2.8.4.5), sans-IO: an ASDU larger than one frame
crosses the air as numbered blocks, sent a window at a time with an inter-frame delay; the
receiver acknowledges each window whole and puts the blocks back together.

The first block's extended header carries the block count, later ones their own index
(:class:`emulator.zigbee.aps.Fragmentation`); a HAN frame that is one block says so in
``HanPacket.fragment`` as ``(index, count)``. Defaults are Z-Stack's (``ZGlobals.h``):
a window of 5 blocks and 50 ms between frames.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from emulator.zigbee.errors import ZigbeeDecodeError, ZigbeeEncodeError
from emulator.zigbee.packet import HanPacket

DEFAULT_WINDOW = 5
DEFAULT_FRAME_DELAY_MS = 50
MAX_BLOCKS = 255  # the block count travels in one byte of the first block's extended header
#: ASDU bytes one secured frame carries: a 127-byte PHY payload less the MAC header and FCS (11),
#: the NWK header (8) with its auxiliary security header and MIC (18), the APS header with the
#: fragmentation sub-frame (10) and the APS auxiliary header and MIC (9).
FRAGMENT_SIZE = 71


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
    return [dataclasses.replace(packet, payload=data[i * size:(i + 1) * size], fragment=(i, count))
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
        if self.acked >= self.count or any(i not in self.blocks for i in range(self.acked, end)):
            return None
        self.acked = end
        return end

    @property
    def complete(self) -> bool:
        return len(self.blocks) == self.count

    def payload(self) -> bytes:
        return b"".join(self.blocks[i] for i in range(self.count))


@dataclass(slots=True)
class Transfer:
    """The sending side of one fragmented message: which window goes next."""

    blocks: list[HanPacket]
    config: ApsfConfig
    next: int = 0

    def window(self, now: float) -> list[tuple[float, HanPacket]]:
        """The next window's blocks with the time each leaves (``frame_delay_ms`` apart)."""
        end = min(self.next + self.config.window, len(self.blocks))
        delay = self.config.frame_delay_ms / 1000
        return [(now + k * delay, self.blocks[i]) for k, i in enumerate(range(self.next, end))]

    def acknowledged(self, through: int) -> bool:
        """The receiver has every block below ``through``; True when the whole message is across."""
        self.next = max(self.next, min(through, len(self.blocks)))
        return self.next >= len(self.blocks)
