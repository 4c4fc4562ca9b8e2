"""Cluster command tables: the SE Tunneling cluster (0x0704), the OTA Upgrade cluster (0x0019)
and the Key Establishment cluster (0x0800).

Importing this package registers every command of these clusters with :mod:`emulator.zigbee.zcl`.
"""

from emulator.zigbee.clusters import key_establishment, ota, tunneling

__all__ = ["key_establishment", "ota", "tunneling"]
