"""The HAN boundary: one small interface the premises uses to reach the Zigbee HAN.

Two implementations: the in-process virtual bus (``virtual_han.py``: CI, laptops,
fleets) and real radios through zigpy (``zigpy_han.py``, optional GPL extra). The
CHF's adapter only ever sees :class:`HanRadio` (the coordinator / trust-centre side)
and :class:`HanListener` (what the radio reports upward). Emulated meters on the
virtual bus attach through :class:`HanDeviceLink`; on a real radio the meters are
real devices and there is no device side in this process.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol

from emulator.zigbee.packet import (  # noqa: F401  (re-exported for adapters)
    CLUSTER_KEY_ESTABLISHMENT,
    CLUSTER_OTA,
    CLUSTER_TUNNELING,
    PROFILE_SMART_ENERGY,
    HanPacket,
)

__all__ = ["HanDeviceLink", "HanListener", "HanMedium", "HanPacket", "HanRadio", "JoinRefused", "JoinRefusedReason",
           "NullListener"]


class JoinRefusedReason:
    """Why a trust centre refused a join (IC-2). Strings, so reports read well."""

    NOT_IN_DEVICE_LOG = "device not in the CHF device log"
    WRONG_LINK_KEY = "link key does not match the install code in the device log"
    PERMIT_EXPIRED = "joining is not permitted for this device now"


class HanListener(Protocol):
    """What a HAN radio reports upward (to the CHF adapter or a device adapter)."""

    def packet_received(self, packet: HanPacket) -> None: ...

    def device_joined(self, eui: bytes, nwk: int) -> None: ...

    def device_left(self, eui: bytes) -> None: ...

    def join_refused(self, eui: bytes, reason: str) -> None: ...

    def connection_lost(self, error: Exception | None) -> None: ...


class NullListener:
    """A listener that ignores everything: for starting a radio only to look at it."""

    def packet_received(self, packet: HanPacket) -> None: ...

    def device_joined(self, eui: bytes, nwk: int) -> None: ...

    def device_left(self, eui: bytes) -> None: ...

    def join_refused(self, eui: bytes, reason: str) -> None: ...

    def connection_lost(self, error: Exception | None) -> None: ...


class HanRadio(ABC):
    """The coordinator / trust-centre side of a HAN: what the CHF drives."""

    @abstractmethod
    async def start(self, listener: HanListener) -> None:
        """Form or resume the network and start reporting to ``listener``."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop the radio; no callbacks after this returns."""

    @abstractmethod
    async def send(self, packet: HanPacket) -> None:
        """Queue ``packet`` for delivery (sleepy devices get it when they poll)."""

    def send_now(self, packet: HanPacket) -> bool:
        """Hand ``packet`` to the medium without waiting, if it can take it so (the virtual bus
        can): True when sent; False when the caller must await :meth:`send` (the default)."""
        return False

    @abstractmethod
    async def permit_join(self, eui: bytes, link_key: bytes, seconds: float) -> None:
        """Let exactly ``eui`` join for ``seconds`` with ``link_key`` (install-code derived)."""

    @abstractmethod
    async def remove(self, eui: bytes) -> None:
        """Ask ``eui`` to leave and forget its key."""

    @property
    @abstractmethod
    def eui(self) -> bytes:
        """The coordinator's EUI-64."""

    @property
    def max_payload(self) -> int | None:
        """The largest ZCL payload one frame can carry on this radio (None: no limit known, e.g. a
        stack that fragments at the APS layer; the virtual bus gives its reassembly limit)."""
        return None


class HanDeviceLink(ABC):
    """A HAN device's side of the link (virtual bus only): join, send, and sleep/wake."""

    @abstractmethod
    async def join(self, link_key: bytes) -> int:
        """Join with ``link_key``; returns the NWK address or raises ``JoinRefused``."""

    @abstractmethod
    async def send(self, packet: HanPacket) -> None: ...

    def send_now(self, packet: HanPacket) -> bool:
        """Hand ``packet`` to the medium without waiting, if it can take it so (the virtual bus
        can): True when sent; False when the caller must await :meth:`send` (the default)."""
        return False

    @abstractmethod
    async def poll(self) -> list[HanPacket]:
        """For sleepy devices: collect what the parent holds for us (MAC data request)."""

    @abstractmethod
    async def leave(self) -> None: ...


class HanMedium(Protocol):
    """One premises' HAN as the world builder sees it: the CHF's radio and links for emulated devices.

    The virtual bus is one; the fake ZNP stick driven through zigpy-znp is another. Both keep
    the trust centre's rules (IC-2), so a journey runs unchanged on either.
    """

    def radio(self, eui: bytes) -> HanRadio: ...

    def attach(self, eui: bytes, listener: HanListener, *, sleepy: bool = False) -> HanDeviceLink: ...

    async def aclose(self) -> None:
        """Release what the medium holds (sockets, a pty); the radio is stopped before."""


class JoinRefused(Exception):
    """A join was refused by the trust centre; ``reason`` is a :class:`JoinRefusedReason`."""

    def __init__(self, eui: bytes, reason: str) -> None:
        self.eui = eui
        self.reason = reason
        super().__init__(f"join of {eui.hex().upper()} refused: {reason}")
