"""Large APS payloads on an EmberZNet radio through bellows: host-side APS fragmentation.

EmberZNet does not fragment for the host (UG100; Silicon Labs' fragmentation plugin runs on
the host): a frame larger than ``maximumApsPayloadLength`` is refused with MESSAGE_TOO_LONG.
bellows reassembles incoming blocks and acknowledges each, but sends every frame whole. This
module sends the blocks, through bellows' own command API:

* each block is a ``sendUnicast`` with ``APS_OPTION_FRAGMENT`` and the same APS sequence, its
  group id carrying the block count (high byte) and the block index (low byte);
* the NCP reports each block's ``messageSentHandler`` once the receiver's APS acknowledgement
  covers it; the next window goes only when the whole window is acknowledged (window 1: one
  block at a time, which every Smart Energy device takes);
* a block the NCP refuses, or never confirms, fails the whole frame (the CHF re-sends).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from dataclasses import dataclass
from typing import Any

from emulator.ezsp.fake import max_payload
from emulator.ezsp.ncp_tables import OPTION_ENCRYPTION, OPTION_FRAGMENT
from emulator.zigbee.apsf import MAX_BLOCKS

log = logging.getLogger(__name__)
#: Blocks sent before waiting for their acknowledgement (apsMaxWindowSize at the receiver).
WINDOW = 1
#: How long one window may take: apscAckWaitDuration (1.6 s) x (apscMaxFrameRetries 3 + 1), and margin.
WINDOW_TIMEOUT_S = 10.0
OPTION_RETRY, OPTION_ENABLE_ROUTE_DISCOVERY = 0x0040, 0x0100


@dataclass(slots=True)
class FragmentStats:
    sent: int = 0
    blocks: int = 0
    failed: int = 0


def block_size(secured: bool) -> int:
    """APS payload bytes in one block (the NCP's limit for a fragment, with or without APS security)."""
    return max_payload(OPTION_FRAGMENT | (OPTION_ENCRYPTION if secured else 0))


def fits_whole(data: bytes, secured: bool) -> bool:
    """Whether bellows' own send path can carry ``data`` (one unfragmented frame)."""
    return len(data) <= max_payload(OPTION_ENCRYPTION if secured else 0)


#: The largest frame this path sends: 255 blocks (the count is one byte) of unsecured size.
MAX_PAYLOAD = MAX_BLOCKS * block_size(False)


class EzspFragmenter:
    """Host-side APS fragmentation for one started bellows ControllerApplication ``app``."""

    def __init__(self, app: Any, *, window: int = WINDOW) -> None:
        self.app = app
        self.window = window
        self.stats = FragmentStats()
        self._locks: dict[int, asyncio.Lock] = {}
        self._tags: set[tuple[int, int]] = set()

    async def send(self, *, nwk: int, dst_ep: int, src_ep: int, profile: int, cluster: int, tsn: int,
                   secured: bool, data: bytes) -> None:
        """Send ``data`` in APS blocks; raises on any failure (a block refused, never acknowledged)."""
        size = block_size(secured)
        count = -(-len(data) // size)
        if count > MAX_BLOCKS:
            raise ValueError(f"{len(data)} bytes need {count} blocks of {size}; APS carries at most {MAX_BLOCKS}")
        t = importlib.import_module("bellows.types")
        options = OPTION_RETRY | OPTION_ENABLE_ROUTE_DISCOVERY | OPTION_FRAGMENT | (OPTION_ENCRYPTION if secured else 0)
        # APS sends one fragmented frame at a time to a destination: its blocks share one APS counter.
        async with self._locks.setdefault(nwk, asyncio.Lock()):
            try:
                for start in range(0, count, self.window):
                    pending = []
                    for index in range(start, min(start + self.window, count)):
                        aps = t.EmberApsFrame(profileId=profile, clusterId=cluster, sourceEndpoint=src_ep,
                                              destinationEndpoint=dst_ep, options=t.EmberApsOption(options),
                                              groupId=(count << 8) | index, sequence=tsn & 0xFF)
                        pending.append(await self._send_block(t, nwk, aps, data[index * size:(index + 1) * size]))
                    async with asyncio.timeout(WINDOW_TIMEOUT_S):
                        results = await asyncio.gather(*(fut for _, fut in pending))
                    for status, _ in results:
                        if t.sl_Status.from_ember_status(status) != t.sl_Status.OK:
                            raise RuntimeError(f"the NCP reported {status!r} for a block of the {len(data)}-byte frame")
            except BaseException:
                self.stats.failed += 1
                raise
            finally:
                for key in self._tags:
                    self.app._pending_requests.pop(key, None)
                self._tags.clear()
        self.stats.sent += 1

    async def _send_block(self, t: Any, nwk: int, aps: Any, block: bytes) -> tuple[tuple[int, int], Any]:
        """One block handed to the NCP; returns its tag and the future its messageSentHandler resolves."""
        zt = importlib.import_module("zigpy.types")
        app = self.app
        tag = app.get_sequence()
        key = (zt.NWK(nwk), tag)
        future = asyncio.get_running_loop().create_future()
        app._pending_requests[key] = future  # bellows resolves it on the NCP's messageSentHandler
        self._tags.add(key)
        async with app._req_lock:
            status, _ = await app._ezsp.send_unicast(nwk=t.NWK(nwk), aps_frame=aps, message_tag=tag, data=block)
        self.stats.blocks += 1
        if status != t.sl_Status.OK:
            raise RuntimeError(f"the NCP refused block {aps.groupId & 0xFF} of {aps.groupId >> 8}: {status!r}")
        return key, future
