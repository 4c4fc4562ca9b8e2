"""Traces of a run: every GBCS frame on the WAN and the HAN as JSON lines, and the HAN pcap."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import IO

from emulator.transport.han import HanPacket
from emulator.transport.wan import DownMessage, DspPort, UpHandler, UpMessage, WanMessage
from emulator.transport.wan_messages import Command, DeviceAlert, DeviceResponse
from emulator.zigbee import zcl
from emulator.zigbee.clusters import tunneling
from emulator.zigbee.errors import ZigbeeError
from emulator.zigbee.jsonvalue import JsonObject
from emulator.zigbee.pcap import PcapWriter


class Trace:
    """Collects frames; writes JSON lines and a pcap if asked to."""

    def __init__(self, jsonl: Path | None = None, pcap: Path | None = None,
                 now: Callable[[], float] | None = None) -> None:
        self.now = now  # the run's clock (epoch seconds); the bus reports loop time
        self._jsonl: IO[str] | None = jsonl.open("w") if jsonl else None
        self._pcap: IO[bytes] | None = pcap.open("wb") if pcap else None
        self.pcap_writer = PcapWriter()
        if self._pcap is not None:
            self._pcap.write(self.pcap_writer.header())
        self.frames = 0
        self.han_packets = 0
        self.han_fragments = 0
        self._blocks: dict[tuple[bytes, bytes, int], list[bytes]] = {}

    def close(self) -> None:
        for f in (self._jsonl, self._pcap):
            if f is not None:
                f.close()

    def _line(self, record: JsonObject) -> None:
        self.frames += 1
        if self._jsonl is not None:
            self._jsonl.write(json.dumps(record) + "\n")

    def han(self, time: float, packet: HanPacket, delivered: bool) -> None:
        if self.now is not None:
            time = self.now()
        self.han_packets += 1
        if self._pcap is not None:
            self._pcap.write(self.pcap_writer.packet(time, packet))
        if packet.fragment is not None:  # the pcap shows the blocks; the JSON line, the whole message
            self.han_fragments += 1
            index, count = packet.fragment
            key = (packet.src, packet.dst, packet.cluster)
            blocks = self._blocks.setdefault(key, [])
            if index == 0:
                blocks.clear()
            if index != len(blocks):
                return  # a retransmission or a lost block: the trace draws only what arrived in order
            blocks.append(packet.payload)
            if len(blocks) < count:
                return
            packet = dataclasses.replace(packet, payload=b"".join(self._blocks.pop(key)), fragment=None)
        gbcs = _gbcs_in(packet)
        if gbcs:
            self._line({"time": time, "link": "han", "direction": "up" if packet.dst_nwk == 0 else "down",
                        "source": packet.src.hex().upper(), "destination": packet.dst.hex().upper(),
                        "delivered": delivered, "hex": gbcs.hex().upper()})

    def wan(self, time: float, direction: str, hub: bytes, message: WanMessage) -> None:
        if isinstance(message, Command | DeviceResponse | DeviceAlert):
            self._line({"time": time, "link": "wan", "direction": direction,
                        "source": hub.hex().upper() if direction == "up" else "DSP",
                        "destination": "DSP" if direction == "up" else hub.hex().upper(),
                        "kind": message.KIND, "hex": message.gbcs.hex().upper()})


def gbcs_in(packet: HanPacket) -> bytes:
    """The GBCS message a HAN frame tunnels (empty when it tunnels none)."""
    return _gbcs_in(packet)


def _gbcs_in(packet: HanPacket) -> bytes:
    if packet.cluster != tunneling.CLUSTER_ID:
        return b""
    try:
        _, cmd = zcl.decode_command(packet.cluster, packet.payload)
    except ZigbeeError:
        return b""
    if isinstance(cmd, tunneling.TransferDataServer | tunneling.TransferDataClient):
        data = cmd.data
        if data[:1] in (b"\x01", b"\x02", b"\x03"):
            try:
                return tunneling.split_gb_header(data)[2]
            except ZigbeeError:
                return b""
        return data
    return b""


class TracedDspPort(DspPort):
    def __init__(self, inner: DspPort, trace: Trace, now: Callable[[], float]) -> None:
        self.inner, self.trace, self.now = inner, trace, now

    async def start(self, on_up: UpHandler) -> None:
        async def traced(hub: bytes, message: UpMessage) -> None:
            self.trace.wan(self.now(), "up", hub, message)
            await on_up(hub, message)

        await self.inner.start(traced)

    async def send(self, hub: bytes, message: DownMessage) -> None:
        self.trace.wan(self.now(), "down", hub, message)
        await self.inner.send(hub, message)

    async def stop(self) -> None:
        await self.inner.stop()
