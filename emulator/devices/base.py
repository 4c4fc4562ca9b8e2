"""What every device machine shares: its output type and the sans-IO contract.

A device machine never awaits, sleeps or reads a clock. Its adapter calls it with
``now`` and gets back a :class:`Output`: GBCS frames for the WAN side, HAN packets,
and events. ``get_timer()`` says when the machine next wants ``handle_timer(now)``.
"""

from __future__ import annotations

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


@dataclass(slots=True)
class Output:
    """What one call into a device machine produced."""

    wan: list[WanFrame] = field(default_factory=list)
    han: list[HanPacket] = field(default_factory=list)
    events: list[DeviceEvent] = field(default_factory=list)

    def extend(self, other: Output) -> Output:
        self.wan.extend(other.wan)
        self.han.extend(other.han)
        self.events.extend(other.events)
        return self

    def __bool__(self) -> bool:
        return bool(self.wan or self.han or self.events)


def earliest(*deadlines: float | None) -> float | None:
    """The earliest of some optional deadlines."""
    present = [d for d in deadlines if d is not None]
    return min(present) if present else None
