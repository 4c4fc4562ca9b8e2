"""Large AF messages in the fake Z-Stack, as TI's MT_AF.c and the APS layer handle them.

Host to air: an ``AF.DataRequestExt`` with more than 230 data bytes carries only the length;
the chip holds one such request and the host fills its buffer with ``AF.DataStore`` chunks,
then sends it with a zero-length ``AF.DataStore``. Air to host: a message of more than 220
bytes is announced by ``AF.IncomingMsgExt`` with its length and no data, held under its
timestamp, and fetched with ``AF.DataRetrieve`` (a zero length frees it). Either kind not
finished within 15 s (MT_AF_EXEC_CNT x MT_AF_EXEC_DLY) is dropped, as the chip does.

On the air, an ASDU larger than one frame crosses in APS fragments (:mod:`emulator.zigbee.apsf`)
with the window and inter-frame delay the host set for the source endpoint
(``AF.APSFConfigSet``); the data confirm comes once the last window is acknowledged.

Where real Z-Stack copies blindly (a store past the buffer, a retrieve past the message) the
fake refuses with INVALID_PARAMETER and says what was wrong: a tester wants the fault named.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from emulator.zigbee.apsf import ACK_WAIT_S, MAX_RETRIES, ApsfConfig, ApsfError, Reassembly, Transfer, split
from emulator.zigbee.fields import Fields, FieldValue
from emulator.zigbee.packet import HanPacket
from emulator.znp import commands as mt
from emulator.znp import errors as st

HELD_S = 15.0  # MT_AF_EXEC_CNT (15) ticks of MT_AF_EXEC_DLY (1000 ms)
#: The most a held request may carry: the chip allocates it whole on its heap. 8 KiB is what
#: this fake's heap gives (a CC2652 has a few tens of KB; a CC2531 far less).
MAX_LARGE = 0x2000
MEM_FAIL = 0x10  # afStatus_MEM_FAIL
APS_NO_ACK = 0xB7  # ZApsNoAck: a window was never acknowledged, whatever the retries


@dataclass(slots=True)
class HeldRequest:
    """The one data request the chip holds while the host stores its data."""

    fields: Fields
    data: bytearray
    stored: bytearray
    """One flag per byte: written by a DataStore."""
    since: float

    def missing(self) -> list[tuple[int, int]]:
        """Byte ranges [start, end) never stored."""
        gaps: list[tuple[int, int]] = []
        start = None
        for i, flag in enumerate(self.stored):
            if not flag and start is None:
                start = i
            elif flag and start is not None:
                gaps.append((start, i))
                start = None
        if start is not None:
            gaps.append((start, len(self.stored)))
        return gaps


@dataclass(slots=True)
class OutgoingTransfer:
    transfer: Transfer
    src_ep: int
    tsn: int
    sent_at: float = 0.0
    """When the window on the air left (its last block): the ack is due ACK_WAIT_S later."""
    tries: int = 0

    def send_window(self, now: float) -> list[tuple[float, HanPacket]]:
        blocks = self.transfer.window(now)
        self.sent_at = blocks[-1][0] if blocks else now
        return blocks


@dataclass(slots=True)
class LargeMessages:
    """The chip's state for large messages both ways; the fake's handlers call in here."""

    fragment_size: int
    apsf: dict[int, ApsfConfig] = field(default_factory=dict)
    request: HeldRequest | None = None
    held: dict[int, tuple[float, bytes]] = field(default_factory=dict)
    """Incoming messages awaiting AF.DataRetrieve, by timestamp: (since, data)."""
    outgoing: dict[bytes, deque[OutgoingTransfer]] = field(default_factory=dict)
    """Fragmented transfers per device; the first is on the air, the rest wait their turn."""
    incoming: dict[bytes, tuple[HanPacket, Reassembly]] = field(default_factory=dict)

    def config(self, endpoint: int) -> ApsfConfig:
        return self.apsf.get(endpoint) or ApsfConfig(self.fragment_size)

    def expire(self, now: float, notes: list[str]) -> None:
        if self.request is not None and now - self.request.since > HELD_S:
            notes.append(f"a held {len(self.request.data)}-byte data request was never sent within {HELD_S:.0f} s: "
                         f"dropped")
            self.request = None
        for ts in [ts for ts, (since, _) in self.held.items() if now - since > HELD_S]:
            notes.append(f"incoming message 0x{ts:08X} was never retrieved within {HELD_S:.0f} s: dropped")
            del self.held[ts]

    # --- host to air -----------------------------------------------------------------------
    def hold_request(self, f: Fields, now: float, notes: list[str]) -> int:
        """A DataRequestExt with only a length: the status of holding it."""
        size = f.integer("DataLength")
        if self.request is not None:
            notes.append("AF.DataRequestExt: a large request is already held; send or let it expire first")
            return st.INVALID_PARAMETER
        if size > MAX_LARGE:
            notes.append(f"AF.DataRequestExt: {size} bytes do not fit the chip's buffer (at most {MAX_LARGE})")
            return MEM_FAIL
        self.request = HeldRequest(f, bytearray(size), bytearray(size), now)
        return st.SUCCESS

    def store(self, index: int, data: bytes, notes: list[str]) -> int:
        """A DataStore chunk (not the zero-length one that sends)."""
        req = self.request
        if req is None:
            notes.append("AF.DataStore: no large data request is held (send AF.DataRequestExt with the length first)")
            return MEM_FAIL
        if index + len(data) > len(req.data):
            notes.append(f"AF.DataStore: {len(data)} bytes at offset {index} overrun the {len(req.data)}-byte "
                         f"request")
            return st.INVALID_PARAMETER
        req.data[index:index + len(data)] = data
        req.stored[index:index + len(data)] = b"\x01" * len(data)
        return st.SUCCESS

    def take_request(self, notes: list[str]) -> tuple[Fields | None, int]:
        """The zero-length DataStore: the held request with its data, or why it cannot go."""
        req, self.request = self.request, None
        if req is None:
            notes.append("AF.DataStore: nothing to send (no large data request is held)")
            return None, MEM_FAIL
        gaps = req.missing()
        if gaps:
            notes.append(f"AF.DataStore: the {len(req.data)}-byte request was sent with bytes never stored: "
                         + ", ".join(f"{a}..{b - 1}" for a, b in gaps[:5]) + "; dropped")
            return None, st.INVALID_PARAMETER
        return Fields(req.fields.command, {**req.fields, "Data": bytes(req.data)}), st.SUCCESS

    def start(self, packet: HanPacket, tsn: int, now: float) -> list[tuple[float, HanPacket]]:
        """Queue a unicast too large for one frame; the blocks to transmit now (if it is first)."""
        cfg = self.config(packet.src_ep)
        job = OutgoingTransfer(Transfer(split(packet, cfg.fragment_size), cfg), packet.src_ep, tsn)
        queue = self.outgoing.setdefault(packet.dst, deque())
        queue.append(job)
        return job.send_window(now) if len(queue) == 1 else []

    def acknowledged(self, eui: bytes, through: int, now: float
                     ) -> tuple[OutgoingTransfer | None, list[tuple[float, HanPacket]]]:
        """A device acknowledged blocks below ``through``: (the transfer it finished, or None;
        the blocks to transmit next)."""
        queue = self.outgoing.get(eui)
        if not queue:
            return None, []
        job = queue[0]
        if not job.transfer.acknowledged(through):
            job.tries = 0
            return None, job.send_window(now)
        return job, self._next(eui, now)

    def _next(self, eui: bytes, now: float) -> list[tuple[float, HanPacket]]:
        """The head of ``eui``'s queue is done: the next transfer's first window."""
        queue = self.outgoing[eui]
        queue.popleft()
        if not queue:
            del self.outgoing[eui]
            return []
        return queue[0].send_window(now)

    def overdue(self, now: float, notes: list[str]
                ) -> tuple[list[OutgoingTransfer], list[tuple[float, HanPacket]]]:
        """Windows whose ack is late: sent again up to MAX_RETRIES times, then the transfer fails.
        Returns (the failed transfers, the blocks to transmit)."""
        failed: list[OutgoingTransfer] = []
        blocks: list[tuple[float, HanPacket]] = []
        for eui in list(self.outgoing):
            job = self.outgoing[eui][0]
            if now - job.sent_at < ACK_WAIT_S:
                continue
            if job.tries < MAX_RETRIES:
                job.tries += 1
                blocks += job.send_window(now)
                continue
            notes.append(f"{eui.hex().upper()} never acknowledged blocks from {job.transfer.next} after "
                         f"{MAX_RETRIES} retries: the frame is dropped (APS_NO_ACK)")
            failed.append(job)
            blocks += self._next(eui, now)
        return failed, blocks

    def next_deadline(self) -> float | None:
        """When the earliest outstanding ack falls due (None: no window on the air)."""
        due = [q[0].sent_at + ACK_WAIT_S for q in self.outgoing.values()]
        return min(due) if due else None

    def forget(self, eui: bytes) -> list[OutgoingTransfer]:
        """A device left: its transfers are abandoned (their confirms fail)."""
        self.incoming.pop(eui, None)
        return list(self.outgoing.pop(eui, ()))

    # --- air to host -----------------------------------------------------------------------
    def block(self, packet: HanPacket, notes: list[str]) -> tuple[int | None, HanPacket | None]:
        """One block from a device: (the acknowledgement to send, or None; the whole message once
        complete, or None)."""
        index, count = packet.fragment or (0, 1)
        current = self.incoming.get(packet.src)
        if index == 0:  # a first block starts a new message (one at a time per sender)
            current = (packet, Reassembly(count, self.config(packet.dst_ep).window))
            self.incoming[packet.src] = current
        if current is None:
            notes.append(f"block {index}/{count} from {packet.src.hex().upper()} without a first block: dropped")
            return None, None
        first, reassembly = current
        try:
            reassembly.add(index, count, packet.payload)
        except ApsfError as e:
            notes.append(f"fragment from {packet.src.hex().upper()}: {e}; the message is dropped")
            del self.incoming[packet.src]
            return None, None
        ack = reassembly.window_acknowledged()
        if not reassembly.complete:
            return ack, None
        del self.incoming[packet.src]
        whole = HanPacket(first.src, first.dst, first.cluster, reassembly.payload(), first.src_ep, first.dst_ep,
                          first.profile, first.src_nwk, first.dst_nwk, first.aps_secured, first.lqi)
        return ack, whole

    def hold_incoming(self, data: bytes, now: float) -> int:
        """Keep an incoming message for AF.DataRetrieve; returns the timestamp that names it."""
        ts = int(now * 1000) & 0xFFFFFFFF
        while ts in self.held:
            ts = (ts + 1) & 0xFFFFFFFF
        self.held[ts] = (now, data)
        return ts

    def retrieve(self, f: Fields, notes: list[str]) -> tuple[int, bytes]:
        """An AF.DataRetrieve: (status, data)."""
        ts, index, length = f.integer("TimeStamp"), f.integer("Index"), f.integer("Length")
        item = self.held.get(ts)
        if item is None:
            notes.append(f"AF.DataRetrieve: no incoming message held with timestamp 0x{ts:08X}")
            return st.FAILURE, b""
        data = item[1]
        if length == 0:
            del self.held[ts]
            return st.SUCCESS, b""
        if length > mt.RETRIEVE_CHUNK_MAX or index + length > len(data):
            notes.append(f"AF.DataRetrieve: {length} bytes at offset {index} go beyond the {len(data)}-byte message"
                         if index + length > len(data) else
                         f"AF.DataRetrieve: {length} bytes do not fit one answer (at most {mt.RETRIEVE_CHUNK_MAX})")
            return st.INVALID_PARAMETER, b""
        return st.SUCCESS, data[index:index + length]


def address_field(nwk: int) -> dict[str, FieldValue]:
    """An MT AddrModeAddress for a NWK address."""
    return {"mode": mt.ADDR_NWK, "address": nwk.to_bytes(2, "little") + bytes(6)}
