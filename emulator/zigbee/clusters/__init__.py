"""Cluster command tables: the SE Tunneling cluster (0x0704) and the OTA Upgrade cluster (0x0019).

Importing this package registers every command of both clusters with :mod:`emulator.zigbee.zcl`.
"""

from emulator.zigbee.clusters import ota, tunneling

__all__ = ["ota", "tunneling"]
