"""The Zigbee layer, sans-IO: install codes, 802.15.4/NWK/APS headers, ZCL with the SE
Tunneling and OTA Upgrade clusters, the OTA file format and a pcap writer.

Importing the package loads the cluster tables, so :func:`zcl.decode_command` knows the
Tunneling and OTA commands whichever submodule a caller imported first.
"""

from __future__ import annotations

from emulator.zigbee import aps, clusters, install_code, mac, ota_file, pcap, zcl
from emulator.zigbee.errors import (
    FrameDecodeError,
    InstallCodeError,
    OtaFileError,
    UnknownCommandError,
    ZclDecodeError,
    ZigbeeDecodeError,
    ZigbeeEncodeError,
    ZigbeeError,
)
from emulator.zigbee.install_code import link_key_from_install_code
from emulator.zigbee.packet import HanPacket
from emulator.zigbee.pcap import PcapWriter
from emulator.zigbee.status import ZclStatus

__all__ = [
    "FrameDecodeError",
    "HanPacket",
    "InstallCodeError",
    "OtaFileError",
    "PcapWriter",
    "UnknownCommandError",
    "ZclDecodeError",
    "ZclStatus",
    "ZigbeeDecodeError",
    "ZigbeeEncodeError",
    "ZigbeeError",
    "aps",
    "clusters",
    "install_code",
    "link_key_from_install_code",
    "mac",
    "ota_file",
    "pcap",
    "zcl",
]
