"""The CHF on a real Zigbee radio: the project's :class:`HanRadio` over zigpy and a radio library
(EZSP/bellows, ZNP/zigpy-znp, deCONZ, XBee), chosen by a hardware profile (DV-7).

zigpy and the radio libraries are GPL-3.0: they are an optional extra (``smets2-emu[radio]``)
and this is the only module that imports them (with ``emulator.hardware``, which only looks
them up). zigpy is the coordinator and trust centre; the CHF's logic stays in
``emulator.devices.chf`` and sees only :class:`HanPacket`s, exactly as on the virtual bus.

How frames flow (``zigbee.md`` sections 1 and 10):

* In: the radio class is subclassed so that every application frame from a joined device
  is handed to the CHF as it arrives, before zigpy parses it. Cluster-specific commands
  (Tunneling, OTA, Key Establishment, ...) stop there: zigpy's own OTA handler never answers
  a meter. ZDO frames, and the global ZCL responses zigpy may be waiting for during its
  interview (Read Attributes Response, Default Response, ...), also go on to zigpy, with the
  Smart Energy profile (0x0109) relabelled as Home Automation (0x0104): zigpy parses ZCL
  only for HA and ZLL, and would otherwise drop the answers to its own interview.
* Out: the CHF's frames are sent as raw ZigbeePackets (``send_packet``), APS-encrypted
  when the packet says so. On ZNP a frame larger than one MT frame goes through Z-Stack's data
  store instead, and larger incoming ones are fetched from it (``zigpy_znp_large``); on EZSP the
  adapter fragments it at the APS layer itself (``zigpy_ezsp_large``), as EmberZNet expects.
* Joins: ``permit_with_link_key`` with the install-code key, for the device alone. Radios
  bound a permit to at most 254 s, and zigpy-znp's call blocks for the whole window, so
  each permit runs in its own task and is renewed until the device joins or the CHF's
  window closes. A real trust centre does not report refused joins: ``join_refused`` is
  never called on this radio.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import logging
import math
from dataclasses import dataclass
from typing import Any

from emulator.hardware import RadioError, RadioProfile, radio_class
from emulator.transport.han import HanListener, HanPacket, HanRadio
from emulator.transport.zigpy_ezsp_large import MAX_PAYLOAD as EZSP_MAX_PAYLOAD
from emulator.transport.zigpy_ezsp_large import EzspFragmenter, fits_whole
from emulator.transport.zigpy_znp_large import MAX_PAYLOAD as ZNP_MAX_PAYLOAD
from emulator.transport.zigpy_znp_large import ZnpLargeMessages, fits_inline
from emulator.zigbee import zcl
from emulator.zigbee.errors import ZigbeeError
from emulator.zigbee.packet import PROFILE_SMART_ENERGY

log = logging.getLogger(__name__)

PROFILE_HA = 0x0104
RECONNECT_MAX_S = 30.0
#: The largest APS payload the CHF can send through each radio library, where it is known. On ZNP
#: a frame beyond one MT frame goes through Z-Stack's data store and APS fragmentation
#: (``zigpy_znp_large``), up to what the stick holds.
RADIO_MAX_PAYLOAD = {"znp": ZNP_MAX_PAYLOAD, "ezsp": EZSP_MAX_PAYLOAD}
MAX_PERMIT_S = 254  # Mgmt_Permit_Joining_req carries a u8; 255 would mean "forever" (not allowed in 3.0)
#: Global ZCL commands that answer a request (zigpy may be awaiting one of its own).
GLOBAL_RESPONSES = frozenset((0x01, 0x04, 0x05, 0x07, 0x09, 0x0B, 0x0D, 0x12, 0x16))
#: The CHF's Smart Energy endpoint, registered on the radio beside zigpy's own (1 HA, 2 ZLL, 242 GP).
SE_ENDPOINT = 9
SE_ENDPOINT_DESCRIPTOR = {"endpoint": SE_ENDPOINT, "profile": PROFILE_SMART_ENERGY, "device_type": 0x0500,
                          "device_version": 0, "input_clusters": [0x0000, 0x000A, 0x0019, 0x0702, 0x0704, 0x0800],
                          "output_clusters": [0x0704]}


@dataclass(slots=True)
class RadioStats:
    sent: int = 0
    send_failed: int = 0
    received: int = 0
    ignored_unknown: int = 0
    joins: int = 0
    permits: int = 0
    reconnects: int = 0


def zigpy_config(profile: RadioProfile, *, network: dict[str, Any] | None = None) -> dict[str, Any]:
    """The zigpy configuration for a profile: no database, no OTA providers (they fetch from the
    Internet), no backups or scans: the emulator owns all of that."""
    config: dict[str, Any] = {
        "device": {"path": profile.port, "baudrate": profile.baudrate, "flow_control": profile.flow_control},
        "database_path": None,
        "ota": {"enabled": False},
        "backup_enabled": False,
        "topology_scan_enabled": False,
        "watchdog_enabled": False,
        "network": {"channel": profile.channel, **(network or {})},
        "additional_endpoints": [SE_ENDPOINT_DESCRIPTOR],
    }
    if profile.radio == "ezsp":
        # bellows' default serial thread outlives a failed start and keeps the process alive.
        config["use_thread"] = False
    option_key = {"znp": "znp_config", "ezsp": "ezsp_config"}.get(profile.radio)
    if profile.radio_options:
        if option_key is None:
            raise RadioError(f"{profile.source}: radio_options are only passed to znp and ezsp radios, "
                             f"not {profile.radio}")
        config[option_key] = dict(profile.radio_options)
    return config


def _zigpy_types() -> Any:
    """zigpy's types, imported only when a radio is used (GPL extra); typed as Any here because
    zigpy's own annotations are partial."""
    return importlib.import_module("zigpy.types")


def _app_class(base: Any) -> Any:
    """The radio's ControllerApplication with the CHF's inbound hook in front of zigpy."""

    class ChfApplication(base):  # type: ignore[misc]
        smets2_radio: ZigpyRadio | None = None

        def packet_received(self, packet: Any) -> None:
            radio = self.smets2_radio
            if radio is not None and radio.intercept(packet):
                return
            if packet.profile_id == PROFILE_SMART_ENERGY:
                packet = packet.replace(profile_id=PROFILE_HA)
            super().packet_received(packet)

    ChfApplication.__name__ = f"Chf{base.__module__.split('.')[0].title()}Application"
    return ChfApplication


class ZigpyRadio(HanRadio):
    """The CHF's HAN on a zigpy radio described by ``profile``."""

    def __init__(self, profile: RadioProfile, *, network: dict[str, Any] | None = None,
                 start_timeout_s: float = 60.0) -> None:
        if profile.radio == "virtual":
            raise RadioError(f"{profile.source}: the virtual radio is emulator.transport.virtual_han, not zigpy")
        self.profile = profile
        self.network = network
        self.start_timeout_s = start_timeout_s
        self.stats = RadioStats()
        self.app: Any = None
        self.listener: HanListener | None = None
        self._eui = b""
        self._permits: dict[bytes, asyncio.Task[None]] = {}
        self._joined: set[bytes] = set()
        self._known: dict[bytes, int] = {}
        self._cls: Any = None
        self._config: dict[str, Any] = {}
        self._stopping = False
        self._reconnect_task: asyncio.Task[None] | None = None
        self.large: ZnpLargeMessages | None = None
        """Z-Stack's large-frame path (ZNP radios only)."""
        self.fragmenter: EzspFragmenter | None = None
        """Host-side APS fragmentation (EZSP radios only: EmberZNet leaves it to the host)."""

    @property
    def max_payload(self) -> int | None:
        return RADIO_MAX_PAYLOAD.get(self.profile.radio)

    @property
    def eui(self) -> bytes:
        if not self._eui:
            raise RadioError("the radio's EUI-64 is known only once it has started")
        return self._eui

    # --- lifecycle ---------------------------------------------------------------------------
    async def start(self, listener: HanListener) -> None:
        self._cls = _app_class(radio_class(self.profile))
        self._config = zigpy_config(self.profile, network=self.network)
        try:
            self._cls.SCHEMA(self._config)  # zigpy validates again in new(); this names a bad key before any I/O
        except Exception as e:  # voluptuous.Invalid, without importing voluptuous here
            raise RadioError(f"{self.profile.source}: zigpy refuses the configuration: {e}") from None
        self.listener = listener
        self._stopping = False
        await self._open()

    async def _open(self) -> None:
        try:
            app = await asyncio.wait_for(self._cls.new(self._config, auto_form=True, start_radio=True),
                                         self.start_timeout_s)
        except TimeoutError:
            raise RadioError(f"{self.profile.source}: the {self.profile.radio} radio at {self.profile.port} did not "
                             f"start within {self.start_timeout_s:.0f} s (wrong radio type or baud rate?)") from None
        except Exception as e:  # zigpy wraps I/O errors (TransientConnectionError): report the cause
            cause = e.__cause__ or e
            raise RadioError(f"{self.profile.source}: cannot start the {self.profile.radio} radio at "
                             f"{self.profile.port}: {type(cause).__name__}: {cause}") from None
        # zigpy keeps no database here: after a reconnect it must be told the devices it had.
        zt = _zigpy_types()
        for eui, nwk in self._known.items():
            with contextlib.suppress(Exception):
                app.add_device(zt.EUI64(eui[::-1]), zt.NWK(nwk))
        if self.profile.radio == "znp":
            self.large = ZnpLargeMessages(app)
            self.large.install()
            try:
                await self.large.configure([1, SE_ENDPOINT])
            except Exception as e:  # an older image without APSF settings still fragments with its defaults
                log.warning("radio %s: AF.APSFConfigSet refused (%s); the stick's own fragmentation settings apply",
                            self.profile.port, e)
        if self.profile.radio == "ezsp":
            self.fragmenter = EzspFragmenter(app)
        app.smets2_radio = self
        app.add_listener(self)
        self.app = app
        self._eui = bytes(app.state.node_info.ieee)[::-1]

    async def _reconnect(self) -> None:
        """The radio went away (unplugged, a coordinator rebooted): open it again until it answers.
        Frames sent meanwhile are dropped with a warning; the CHF re-sends what it must."""
        delay = 1.0
        old, self.app = self.app, None
        if old is not None:
            old.smets2_radio = None
            with contextlib.suppress(Exception):
                await old.shutdown()
        while not self._stopping:
            try:
                await self._open()
            except RadioError as e:
                log.warning("radio %s: reconnect failed, again in %.0f s: %s", self.profile.port, delay, e)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)
                continue
            self.stats.reconnects += 1
            log.warning("radio %s: reconnected", self.profile.port)
            return

    async def stop(self) -> None:
        self._stopping = True
        tasks = list(self._permits.values())
        self._permits.clear()
        if self._reconnect_task is not None:
            tasks.append(self._reconnect_task)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.listener = None
        if self.large is not None:
            await self.large.close()
        if self.app is not None:
            self.app.smets2_radio = None
            with contextlib.suppress(Exception):
                await self.app.shutdown()
            self.app = None

    def network_info(self) -> dict[str, Any]:
        state = self.app.state
        return {"radio": self.profile.radio, "port": self.profile.port, "ieee": self._eui.hex().upper(),
                "firmware": str(getattr(state.node_info, "version", "") or ""),
                "channel": state.network_info.channel, "pan_id": f"0x{state.network_info.pan_id:04X}",
                "extended_pan_id": str(state.network_info.extended_pan_id)}

    # --- down --------------------------------------------------------------------------------
    async def send(self, packet: HanPacket) -> None:
        zt = _zigpy_types()
        if self.app is None:
            self.stats.send_failed += 1
            log.warning("radio %s: not connected; frame to %s dropped", self.profile.port, packet.dst.hex().upper())
            return
        limit = self.max_payload
        if limit is not None and len(packet.payload) > limit:
            self.stats.send_failed += 1
            log.error("radio %s: a %d-byte frame to %s on cluster 0x%04X does not fit: %s carries at most %d bytes",
                      self.profile.port, len(packet.payload), packet.dst.hex().upper(), packet.cluster,
                      self.profile.radio, limit)
            return
        dst = self._address(packet)
        if dst is None:
            self.stats.send_failed += 1
            log.warning("radio %s: no NWK address for %s; frame dropped", self.profile.port, packet.dst.hex().upper())
            return
        payload = packet.payload
        try:
            tsn = zcl.ZclHeader.decode(payload)[0].sequence
        except ZigbeeError:
            tsn = 0
        options = zt.TransmitOptions.APS_Encryption if packet.aps_secured else zt.TransmitOptions.NONE
        zp = zt.ZigbeePacket(
            src=zt.AddrModeAddress(addr_mode=zt.AddrMode.NWK, address=self.app.state.node_info.nwk),
            src_ep=zt.uint8_t(packet.src_ep), dst=dst, dst_ep=zt.uint8_t(packet.dst_ep), tsn=zt.uint8_t(tsn),
            profile_id=zt.uint16_t(packet.profile), cluster_id=zt.uint16_t(packet.cluster),
            data=zt.SerializableBytes(payload), tx_options=options | zt.TransmitOptions.ACK, radius=zt.uint8_t(0))
        try:
            if self.fragmenter is not None and not fits_whole(payload, packet.aps_secured):
                await self.fragmenter.send(nwk=int(dst.address), dst_ep=packet.dst_ep, src_ep=packet.src_ep,
                                           profile=packet.profile, cluster=packet.cluster, tsn=tsn,
                                           secured=packet.aps_secured, data=payload)
            elif self.large is not None and not fits_inline(payload):
                await self.large.send(nwk=int(dst.address), dst_ep=packet.dst_ep, src_ep=packet.src_ep,
                                      cluster=packet.cluster, tsn=tsn, secured=packet.aps_secured, data=payload)
            else:
                await self.app.send_packet(zp)
        except Exception as e:  # DeliveryError, radio time-outs: the CHF re-sends on its own
            self.stats.send_failed += 1
            log.warning("radio %s: frame to %s on cluster 0x%04X not delivered: %s", self.profile.port,
                        packet.dst.hex().upper(), packet.cluster, e)
            return
        self.stats.sent += 1

    def _address(self, packet: HanPacket) -> Any:
        zt = _zigpy_types()
        nwk = packet.dst_nwk
        if nwk == 0xFFFE:
            with contextlib.suppress(KeyError):
                nwk = self.app.get_device(ieee=zt.EUI64(packet.dst[::-1])).nwk
        if nwk == 0xFFFE:
            return None
        return zt.AddrModeAddress(addr_mode=zt.AddrMode.NWK, address=zt.NWK(nwk))

    async def permit_join(self, eui: bytes, link_key: bytes, seconds: float) -> None:
        """Let ``eui`` join with ``link_key``; returns at once, the permit runs in the background."""
        if not self.profile.install_codes:
            reason = f"the {self.profile.radio} radio cannot do install-code joins (IC-2)"
            log.error("radio %s: %s not permitted: %s", self.profile.port, eui.hex().upper(), reason)
            if self.listener is not None:
                self.listener.join_refused(eui, reason)
            return
        old = self._permits.pop(eui, None)
        if old is not None:
            old.cancel()
        self._joined.discard(eui)
        task = asyncio.ensure_future(self._permit_loop(eui, link_key, seconds))
        self._permits[eui] = task
        task.add_done_callback(functools.partial(self._permit_done, eui))

    def _permit_done(self, eui: bytes, task: asyncio.Task[None]) -> None:
        if self._permits.get(eui) is task:
            del self._permits[eui]

    async def _permit_loop(self, eui: bytes, link_key: bytes, seconds: float) -> None:
        zt = _zigpy_types()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds if math.isfinite(seconds) else math.inf
        while eui not in self._joined and loop.time() < deadline:
            # XBee takes 30 s at the least; every radio takes 254 s at the most.
            window = int(max(30, min(MAX_PERMIT_S, deadline - loop.time())))
            if self.app is None:  # reconnecting: permit again once the radio is back
                await asyncio.sleep(1.0)
                continue
            self.stats.permits += 1
            try:
                await self.app.permit_with_link_key(zt.EUI64(eui[::-1]), zt.KeyData(link_key), time_s=window)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the radio refused or went away: say so, try again shortly
                log.warning("radio %s: permitting %s failed: %s", self.profile.port, eui.hex().upper(), e)
                await asyncio.sleep(5.0)
                continue
            if eui not in self._joined:
                # zigpy-znp returns when the window ends; others return at once: wait it out.
                await self._wait_joined(eui, window)

    async def _wait_joined(self, eui: bytes, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while eui not in self._joined and loop.time() < end:
            await asyncio.sleep(min(1.0, end - loop.time()))

    async def remove(self, eui: bytes) -> None:
        zt = _zigpy_types()
        task = self._permits.pop(eui, None)
        if task is not None:
            task.cancel()
        self._joined.discard(eui)
        if self.app is None:
            return
        try:
            await self.app.remove(zt.EUI64(eui[::-1]))
        except Exception as e:  # a device that is gone cannot be asked to leave
            log.warning("radio %s: removing %s: %s", self.profile.port, eui.hex().upper(), e)

    # --- up ----------------------------------------------------------------------------------
    def intercept(self, packet: Any) -> bool:
        """Hand an application frame from a joined device to the CHF; True when zigpy need not see it."""
        if self.listener is None or packet.dst_ep == 0 or packet.src_ep == 0 or packet.profile_id == 0:
            return False
        try:
            device = self.app.get_device_with_address(packet.src)
        except (KeyError, ValueError):
            self.stats.ignored_unknown += 1
            return False
        if device.nwk == self.app.state.node_info.nwk:
            return False  # our own frame, looped back by the stack
        zt = _zigpy_types()
        data = packet.data.serialize()
        self.stats.received += 1
        self.listener.packet_received(HanPacket(
            bytes(device.ieee)[::-1], self._eui, packet.cluster_id, data, packet.src_ep, packet.dst_ep,
            packet.profile_id, device.nwk, self.app.state.node_info.nwk,
            zt.TransmitOptions.APS_Encryption in packet.tx_options, packet.lqi if packet.lqi is not None else 255))
        try:
            header, _ = zcl.ZclHeader.decode(data)
        except ZigbeeError:
            return True
        return header.cluster_specific or header.command_id not in GLOBAL_RESPONSES

    # zigpy listener callbacks (called by name) -----------------------------------------------
    def device_joined(self, device: Any) -> None:
        eui = bytes(device.ieee)[::-1]
        self._joined.add(eui)
        self._known[eui] = int(device.nwk)
        self.stats.joins += 1
        if self.listener is not None:
            self.listener.device_joined(eui, int(device.nwk))

    def device_left(self, device: Any) -> None:
        eui = bytes(device.ieee)[::-1]
        self._joined.discard(eui)
        self._known.pop(eui, None)
        if self.listener is not None:
            self.listener.device_left(eui)

    def device_removed(self, device: Any) -> None:
        self.device_left(device)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.listener is not None:
            self.listener.connection_lost(exc)
        if not self._stopping and (self._reconnect_task is None or self._reconnect_task.done()):
            self._reconnect_task = asyncio.ensure_future(self._reconnect())
