"""Cluster command tables: the SE Tunneling cluster (0x0704) and the OTA Upgrade cluster (0x0019)."""

from emulator.zigbee.clusters import ota, tunneling

__all__ = ["ota", "tunneling"]
