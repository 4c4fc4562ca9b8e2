"""What the DSP core asks its adapters to do, and what it tells users: frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.dsp.model import Response
from emulator.zigbee.eui64 import Eui64


@dataclass(frozen=True, slots=True)
class DspOutput:
    time: float


@dataclass(frozen=True, slots=True)
class Answer(DspOutput):
    """A response to the Service User (I99 acknowledgement, I0 result, or a refusal)."""

    user: str
    response: Response


@dataclass(frozen=True, slots=True)
class SendCommand(DspOutput):
    """Frame and send a GBCS command for an accepted request (the adapter builds and seals it)."""

    request_id: str
    hub: Eui64 | None
    target: Eui64
    device_type: str
    srv: str
    counter: int
    originator: str
    body: dict[str, Any] = field(default_factory=dict)
    signed_command: str | None = None
    future_dated: bool = False
    """Sent at its execution time (the core released it from :meth:`Dsp.handle_timer`)."""
    resend: bool = False
    """The same command again (no answer yet): send the frame sent before, byte for byte."""


@dataclass(frozen=True, slots=True)
class SendFirmware(DspOutput):
    request_id: str
    hub: Eui64
    image_hex: str
    targets: tuple[Eui64, ...]


@dataclass(frozen=True, slots=True)
class AlertForUser(DspOutput):
    """DUIS DeviceAlertMessage to the responsible user (and the SAT log)."""

    user: str
    device: Eui64
    alert_code: int
    gbcs_hex: str


@dataclass(frozen=True, slots=True)
class CspNotification(DspOutput):
    """RM-7: the DSP tells the hub's CSP (Device Manager) that Restricted changed."""

    region: str
    hub: Eui64
    device: Eui64
    restricted: bool
