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

from emulator.gbcs import asn1

# CS06 Activate Firmware response codes (gbcs.md).
ACTIVATE_SUCCESS = 0
ACTIVATE_NO_IMAGE = 1
ACTIVATE_HASH_MISMATCH = 2
ACTIVATE_FAILURE = 3

# A future-dated CS06, when it runs: alert 0x8F66 (success) / 0x8F67 (failure) in a message
# 0x00CA Future Dated Firmware Activation Alert (as the RTDS 11.3 reference alerts).
ALERT_FUTURE_DATED_SUCCESS = 0x8F66
ALERT_FUTURE_DATED_FAILURE = 0x8F67
FUTURE_DATED_FIRMWARE_ALERT = 0x00CA

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
    activation_counter: int = 0
    activation_originator: bytes | None = None
    failures: int = 0

    def activate(self, wanted_hash: bytes, now: float, at: float | None, counter: int = 0,
                 originator: bytes | None = None) -> tuple[int, bytes]:
        """CS06: returns (response code, version now running). A future date is only recorded
        (GBCS: the device acknowledges it and checks the image when the time comes)."""
        if at is not None and at > now:
            self.activation_at, self.activation_hash, self.activation_counter = at, wanted_hash, counter
            self.activation_originator = originator
            return ACTIVATE_SUCCESS, self.version
        if self.held is None:
            return ACTIVATE_NO_IMAGE, self.version
        if wanted_hash != self.held.image_hash:
            return ACTIVATE_HASH_MISMATCH, self.version
        self.version = self.held.version
        self.held = None
        return ACTIVATE_SUCCESS, self.version

    def due_activation(self, now: float) -> DueActivation | None:
        """Run a future-dated activation whose time has come; its outcome (to be alerted)."""
        if self.activation_at is None or self.activation_at > now:
            return None
        at, wanted, counter = self.activation_at, self.activation_hash or b"", self.activation_counter
        self.activation_at = self.activation_hash = None
        code, version = self.activate(wanted, now, None)
        return DueActivation(at, counter, code, version, self.activation_originator)


@dataclass(frozen=True, slots=True)
class DueActivation:
    """What a future-dated CS06 did when its time came."""

    at: float
    counter: int
    code: int
    version: bytes
    originator: bytes | None = None  # whom the outcome alert goes to (None: the supplier)

    @property
    def alert_code(self) -> int:
        return ALERT_FUTURE_DATED_SUCCESS if self.code == ACTIVATE_SUCCESS else ALERT_FUTURE_DATED_FAILURE

    def alert_payload(self) -> bytes:
        """SEQUENCE { alert code, execution date-time, originator counter, outcome { code, version } }."""
        return asn1.sequence(asn1.integer(self.alert_code), asn1.generalized_time(self.at), asn1.integer(self.counter),
                             asn1.sequence(asn1.integer(self.code), asn1.octets(self.version))).encode()
