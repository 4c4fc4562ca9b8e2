"""Events the device machines report upward: small frozen dataclasses, past tense."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """Base of every device event."""

    device: bytes
    """EUI-64 of the device that reports it."""
    time: float
    """Virtual or real time (seconds since 1970) at which it happened."""


@dataclass(frozen=True, slots=True)
class CommandAccepted(DeviceEvent):
    message_code: int
    counter: int
    originator: bytes


@dataclass(frozen=True, slots=True)
class CommandRefused(DeviceEvent):
    """A command was refused; ``alert_code`` is the GBCS alert raised for it (0 = none)."""

    reason: str
    alert_code: int
    counter: int | None = None


@dataclass(frozen=True, slots=True)
class AlertRaised(DeviceEvent):
    alert_code: int
    critical: bool
    counter: int


@dataclass(frozen=True, slots=True)
class AlertAcknowledged(DeviceEvent):
    counter: int


@dataclass(frozen=True, slots=True)
class AlertRetried(DeviceEvent):
    counter: int
    attempt: int


@dataclass(frozen=True, slots=True)
class Joined(DeviceEvent):
    nwk: int


@dataclass(frozen=True, slots=True)
class JoinRefusedEvent(DeviceEvent):
    reason: str


@dataclass(frozen=True, slots=True)
class DeviceLogChanged(DeviceEvent):
    """The CHF device log gained or lost ``entry`` (alert 0x8F12)."""

    entry: bytes
    added: bool


@dataclass(frozen=True, slots=True)
class FirmwareBlockReceived(DeviceEvent):
    offset: int
    size: int
    total: int


@dataclass(frozen=True, slots=True)
class FirmwareTransferEnded(DeviceEvent):
    """The OTA transfer ended; ``ok`` says whether hash and signature verified."""

    version: bytes
    ok: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class FirmwareActivated(DeviceEvent):
    old_version: bytes
    new_version: bytes


@dataclass(frozen=True, slots=True)
class SupplyStateChanged(DeviceEvent):
    state: str  # enabled | armed | disabled


@dataclass(frozen=True, slots=True)
class JoinPermitted(DeviceEvent):
    """The CHF asks its radio to let ``eui`` join with ``link_key`` (install-code derived)."""

    eui: bytes
    link_key: bytes
    seconds: float


@dataclass(frozen=True, slots=True)
class DeviceUnreachable(DeviceEvent):
    """A command for a device the CHF cannot reach (not in its log, or not joined)."""

    target: bytes
    counter: int
    reason: str


@dataclass(frozen=True, slots=True)
class ImageDistributed(DeviceEvent):
    """The CHF holds a firmware image for ``targets`` (SRV 11.1) and serves it to them."""

    file_version: int
    targets: tuple[bytes, ...]
