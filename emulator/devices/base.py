"""What every device machine shares: its output type and the sans-IO contract.

A device machine never awaits, sleeps or reads a clock. Its adapter calls it with
``now`` and gets back a :class:`Output`: GBCS frames for the WAN side, HAN packets,
and events. ``get_timer()`` says when the machine next wants ``handle_timer(now)``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from emulator.devices.events import DeviceEvent
from emulator.zigbee.packet import HanPacket


@dataclass(slots=True)
class WanFrame:
    """A GBCS frame leaving the premises towards the DSP (responses and alerts)."""

    wire: bytes
    kind: str  # "response" | "alert"
    device: bytes
    counter: int

    @property
    def id(self) -> str:
        """The frame's name on the WAN: a re-sent frame is recognised, two frames never collide."""
        return hashlib.blake2b(self.wire, digest_size=12).hexdigest()


@dataclass(slots=True)
class Output:
    """What one call into a device machine produced."""

    wan: list[WanFrame] = field(default_factory=list)
    han: list[HanPacket] = field(default_factory=list)
    events: list[DeviceEvent] = field(default_factory=list)
    poll: bool = False
    """A sleepy device asks its parent for the frames held for it (a MAC data request)."""

    def extend(self, other: Output) -> Output:
        self.wan.extend(other.wan)
        self.han.extend(other.han)
        self.events.extend(other.events)
        self.poll = self.poll or other.poll
        return self

    def __bool__(self) -> bool:
        return bool(self.wan or self.han or self.events or self.poll)


def earliest(*deadlines: float | None) -> float | None:
    """The earliest of some optional deadlines."""
    present = [d for d in deadlines if d is not None]
    return min(present) if present else None
