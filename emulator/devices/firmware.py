"""Firmware on a device: the OTA download in progress, the verified image held, activation (DV-5).

Theory of operation. The CHF distributes an OTA file (SRV 11.1); the device fetches it
block by block, accepting only the block at its next offset, so a repeated or lost
block costs a retry, never a corrupt image, and an interrupted transfer resumes from
the last block it holds. When complete, the device checks the file (header, the
manufacturer's ECDSA signature over the image, the SHA-256 hash) and either holds it
as the pending image or discards it and reports failure. Activation (CS06, SRV 11.3)
names the hash of the image to run, now or at a future date; a hash that does not
match what the device holds is refused (CS06 response 2 Hash Mismatch).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

# CS06 Activate Firmware response codes (gbcs.md).
ACTIVATE_SUCCESS = 0
ACTIVATE_NO_IMAGE = 1
ACTIVATE_HASH_MISMATCH = 2
ACTIVATE_FAILURE = 3

# Firmware transfer alerts (CCS08) and the device-side firmware verification alert.
ALERT_TRANSFER_FAIL = 0x8F89
ALERT_TRANSFER_SUCCESS = 0x8F8A
ALERT_VERIFICATION_FAILED = 0x8F1C


@dataclass(slots=True)
class Download:
    """One OTA transfer in progress (device side)."""

    manufacturer_code: int
    image_type: int
    file_version: int
    size: int
    data: bytearray = field(default_factory=bytearray)

    @property
    def offset(self) -> int:
        return len(self.data)

    @property
    def complete(self) -> bool:
        return len(self.data) >= self.size

    def block(self, offset: int, chunk: bytes) -> bool:
        """Take a block; only the one at our next offset counts (duplicates and gaps are ignored)."""
        if offset != len(self.data) or not chunk:
            return False
        self.data += chunk[: self.size - len(self.data)]
        return True


@dataclass(frozen=True, slots=True)
class HeldImage:
    """A verified image waiting for activation."""

    version: bytes
    file_version: int
    image_hash: bytes
    size: int


def image_hash(ota_file: bytes) -> bytes:
    """The hash CS06 names: SHA-256 of the whole OTA file as distributed."""
    return hashlib.sha256(ota_file).digest()


@dataclass(slots=True)
class FirmwareState:
    """What a device knows about its own firmware."""

    version: bytes
    download: Download | None = None
    held: HeldImage | None = None
    activation_at: float | None = None
    activation_hash: bytes | None = None
    failures: int = 0

    def activate(self, wanted_hash: bytes, now: float, at: float | None) -> tuple[int, bytes]:
        """CS06: returns (response code, version now running)."""
        if self.held is None:
            return ACTIVATE_NO_IMAGE, self.version
        if wanted_hash != self.held.image_hash:
            return ACTIVATE_HASH_MISMATCH, self.version
        if at is not None and at > now:
            self.activation_at, self.activation_hash = at, wanted_hash
            return ACTIVATE_SUCCESS, self.version
        self.version = self.held.version
        self.held = None
        return ACTIVATE_SUCCESS, self.version

    def due_activation(self, now: float) -> bytes | None:
        """Run a future-dated activation whose time has come; returns the new version."""
        if self.activation_at is None or self.activation_at > now:
            return None
        wanted = self.activation_hash or b""
        self.activation_at = self.activation_hash = None
        code, version = self.activate(wanted, now, None)
        return version if code == ACTIVATE_SUCCESS else None
