"""The unit the HAN carries between devices: one APS data frame with its ZCL payload.

Defined here, below both the device machines and the HAN adapters, so that the sans-IO
devices and the transports speak the same type without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

PROFILE_SMART_ENERGY = 0x0109
CLUSTER_OTA = 0x0019
CLUSTER_TUNNELING = 0x0704
CLUSTER_KEY_ESTABLISHMENT = 0x0800


@dataclass(frozen=True, slots=True, init=False)
class HanPacket:
    """One APS data frame on the HAN (ZCL payload kept as bytes)."""

    src: bytes
    """EUI-64 of the sender."""
    dst: bytes
    """EUI-64 of the receiver."""
    cluster: int
    """ZCL cluster id (0x0704 Tunneling, 0x0019 OTA Upgrade, ...)."""
    payload: bytes
    """The ZCL frame: header and command fields."""
    src_ep: int = 1
    dst_ep: int = 1
    profile: int = PROFILE_SMART_ENERGY
    src_nwk: int = 0xFFFE
    """NWK short address of the sender (0xFFFE: unknown)."""
    dst_nwk: int = 0xFFFE
    aps_secured: bool = True
    """APS-layer encryption with the device's link key (SE requires it for these clusters)."""
    lqi: int = 255
    fragment: tuple[int, int] | None = None
    """(block index, block count) when this frame is one APS fragment of a larger ASDU (the payload
    is then that block; ``emulator.zigbee.apsf``); None for a whole frame."""

    def __init__(self, src: bytes, dst: bytes, cluster: int, payload: bytes, src_ep: int = 1, dst_ep: int = 1,
                 profile: int = PROFILE_SMART_ENERGY, src_nwk: int = 0xFFFE, dst_nwk: int = 0xFFFE,
                 aps_secured: bool = True, lqi: int = 255, fragment: tuple[int, int] | None = None) -> None:
        # Hand-written, as frames.Message's: the virtual bus makes several per message (blocks, the
        # reassembled frame, addresses) and the generated frozen __init__ sets twelve fields one
        # costly object.__setattr__ at a time; the slots' own descriptors set them for less.
        _S_SRC(self, src)
        _S_DST(self, dst)
        _S_CLUSTER(self, cluster)
        _S_PAYLOAD(self, payload)
        _S_SRC_EP(self, src_ep)
        _S_DST_EP(self, dst_ep)
        _S_PROFILE(self, profile)
        _S_SRC_NWK(self, src_nwk)
        _S_DST_NWK(self, dst_nwk)
        _S_APS_SECURED(self, aps_secured)
        _S_LQI(self, lqi)
        _S_FRAGMENT(self, fragment)

    # Built field by field: ``dataclasses.replace`` looks every field up again on each call, and the
    # virtual bus makes several of these per message (fragments, addresses).
    def with_payload(self, payload: bytes, fragment: tuple[int, int] | None = None) -> HanPacket:
        """This frame carrying ``payload`` (a block of it, with ``fragment``, or the whole reassembled)."""
        return HanPacket(self.src, self.dst, self.cluster, payload, self.src_ep, self.dst_ep, self.profile,
                         self.src_nwk, self.dst_nwk, self.aps_secured, self.lqi, fragment)

    def addressed(self, src_nwk: int, dst_nwk: int) -> HanPacket:
        """This frame with the NWK short addresses the network gave its ends."""
        return HanPacket(self.src, self.dst, self.cluster, self.payload, self.src_ep, self.dst_ep, self.profile,
                         src_nwk, dst_nwk, self.aps_secured, self.lqi, self.fragment)


(_S_SRC, _S_DST, _S_CLUSTER, _S_PAYLOAD, _S_SRC_EP, _S_DST_EP, _S_PROFILE, _S_SRC_NWK, _S_DST_NWK, _S_APS_SECURED,
 _S_LQI, _S_FRAGMENT) = (HanPacket.__dict__[name].__set__ for name in HanPacket.__dataclass_fields__)
