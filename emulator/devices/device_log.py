"""The CHF device log: which HAN devices may join, with which key (IC-1, IC-2; GBCS CCS01/CCS02).

An entry is created by SRV 8.11 (CCS01 Add Device to CHF device log) with the device's
EUI-64 and install code. The CHF checks the install code (length, CRC) and derives
the link key (AES-MMO) at that moment: a bad code never enters the log. A device may
join only while it is in the log, and only with that key. An entry that was added
but never joined stays joinable indefinitely (IC-1: installed, not commissioned).

CCS01 carries the install code as DUIS gives it, without its CRC: DUIS ``InstallCode`` is
hexBinary of 6 to 16 bytes (a 16-byte code could not carry its CRC), and the RTDS 4.5.0
CCS01 command carries the 16 octets ``30..46`` that its DUIS request names, which the
reference CHF accepts (action result 0, in both the SUCCESS and the ERROR response). So
the hub appends the CRC itself (:func:`install_code_from_ccs01`). The emulator's own
tools may send the code as printed on a label, CRC included; those lengths (10, 14, 18)
do not collide with DUIS's, and there the CRC is checked (IC-2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from emulator.gbcs import dlms
from emulator.gbcs.dlms_datetime import DlmsDateTime
from emulator.zigbee.install_code import CODE_LENGTHS, link_key_from_install_code, with_crc

MAX_ENTRIES = 16  # GBCS: a CHF device log holds at least 5 devices; SMETS2 hubs commonly 16


class EntryState(Enum):
    WHITELISTED = "whitelisted"  # in the log, never joined (IC-1)
    JOINED = "joined"
    LEFT = "left"  # joined once, currently not on the network


@dataclass(slots=True)
class DeviceLogEntry:
    eui: bytes
    device_type: str
    link_key: bytes
    state: EntryState = EntryState.WHITELISTED
    nwk: int | None = None
    added_at: float = 0.0


class DeviceLogError(Exception):
    """A device-log change refused; ``code`` is the CCS01/CS03 response code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


# CS03 join response codes used here (GBCS: 0 success, 4 device log full, ...).
JOIN_SUCCESS = 0
DEVICE_LOG_FULL = 4
INVALID_INSTALL_CODE = 11
NOT_IN_DEVICE_LOG = 1


#: Lengths of an install code sent with its CRC (a label's form): 6, 8, 12 or 16 bytes + 2.
#: 8 is left out: DUIS reads 8 octets as an 8-byte code, and so does the hub.
_WITH_CRC_LENGTHS = frozenset(n + 2 for n in CODE_LENGTHS) - frozenset(CODE_LENGTHS)


def install_code_from_ccs01(eui: bytes, octets: bytes) -> bytes:
    """The install code with its CRC, from the octet string of a CCS01 entry: a 6, 8, 12 or
    16-octet code (the DUIS and GBCS form, no CRC) gets its CRC appended; a 10, 14 or 18-octet
    one is taken to carry its CRC, which :meth:`DeviceLog.add` checks. Anything else is refused
    with :data:`INVALID_INSTALL_CODE`, naming the length."""
    n = len(octets)
    if n in CODE_LENGTHS:
        return with_crc(octets)
    if n in _WITH_CRC_LENGTHS:
        return octets
    raise DeviceLogError(f"install code for {eui.hex().upper()} refused: CCS01 carries {n} octets, not a 6, 8, 12 "
                         f"or 16-octet install code (DUIS InstallCode, no CRC) nor one of 10, 14 or 18 with its CRC",
                         INVALID_INSTALL_CODE)


class DeviceLog:
    """The log itself: pure state, changed only by the CHF machine."""

    def __init__(self, capacity: int = MAX_ENTRIES) -> None:
        self.capacity = capacity
        self.entries: dict[bytes, DeviceLogEntry] = {}

    def add(self, eui: bytes, device_type: str, install_code: bytes, now: float) -> DeviceLogEntry:
        """Add or update ``eui``; raises :class:`DeviceLogError` naming a bad install code."""
        try:
            key = link_key_from_install_code(install_code)
        except ValueError as e:  # the zigbee layer's InstallCodeError is a ValueError subclass
            raise DeviceLogError(f"install code for {eui.hex().upper()} refused: {e}", INVALID_INSTALL_CODE) from e
        entry = self.entries.get(eui)
        if entry is None and len(self.entries) >= self.capacity:
            raise DeviceLogError(f"device log full ({self.capacity} entries)", DEVICE_LOG_FULL)
        if entry is None or entry.link_key != key:
            entry = DeviceLogEntry(eui, device_type, key, added_at=now)
            self.entries[eui] = entry
        return entry

    def restore(self, eui: bytes, device_type: str, link_key: bytes, now: float) -> DeviceLogEntry:
        """CCS03: an entry copied from a replaced hub's log, with the link key it used."""
        if len(link_key) != 16:
            raise DeviceLogError(f"link key for {eui.hex().upper()} is {len(link_key)} bytes, not 16",
                                 INVALID_INSTALL_CODE)
        if eui not in self.entries and len(self.entries) >= self.capacity:
            raise DeviceLogError(f"device log full ({self.capacity} entries)", DEVICE_LOG_FULL)
        entry = DeviceLogEntry(eui, device_type, link_key, added_at=now)
        self.entries[eui] = entry
        return entry

    def remove(self, eui: bytes) -> DeviceLogEntry:
        try:
            return self.entries.pop(eui)
        except KeyError:
            raise DeviceLogError(f"{eui.hex().upper()} is not in the device log", NOT_IN_DEVICE_LOG) from None

    def key_for(self, eui: bytes) -> bytes | None:
        entry = self.entries.get(eui)
        return entry.link_key if entry else None

    def joined(self, eui: bytes, nwk: int) -> None:
        entry = self.entries.get(eui)
        if entry is not None:
            entry.state, entry.nwk = EntryState.JOINED, nwk

    def left(self, eui: bytes) -> None:
        entry = self.entries.get(eui)
        if entry is not None:
            entry.state = EntryState.LEFT

    def __contains__(self, eui: object) -> bool:
        return eui in self.entries


# --- a device's own join list (CS03 join, CS04 unjoin, CS07 read) ---------------------------

# CS04 unjoin response codes.
UNJOIN_SUCCESS = 0
UNJOIN_NOT_IN_LOG = 1
# CS03 join response codes this model can give (GBCS: 0 success ... 13).
JOIN_INVALID_METHOD = 2
JOIN_INCOMPATIBLE = 3
JOIN_INVALID_CERTIFICATE = 11


@dataclass(slots=True)
class JoinList:
    """The devices a meter, GPF or PPMID has joined with (GBCS device log of a HAN device):
    EUI-64 -> GBCS device type (0 GSME, 1 ESME, 2 CHF, 3 GPF, 4 HCALCS, 5 PPMID, 6 Type 2)."""

    entries: dict[bytes, int] = field(default_factory=dict)
    capacity: int = MAX_ENTRIES

    def join(self, eui: bytes, device_type: int) -> int:
        """CS03: add or confirm ``eui``; the CS03 response code."""
        known = self.entries.get(eui)
        if known is not None and known != device_type:
            return JOIN_INCOMPATIBLE
        if known is None and len(self.entries) >= self.capacity:
            return DEVICE_LOG_FULL
        self.entries[eui] = device_type
        return JOIN_SUCCESS

    def unjoin(self, eui: bytes) -> int:
        """CS04: remove ``eui``; the CS04 response code."""
        return UNJOIN_SUCCESS if self.entries.pop(eui, None) is not None else UNJOIN_NOT_IN_LOG


# --- what the CHF answers about its log (CCS04/05/06 statistics, CCS07 security details) -------

def log_statistics(log: DeviceLog, now: float) -> dlms.Data:
    """CCS04/05, CCS06 (Get attribute 4 of the ZigBee network control object): per entry a
    structure of 14 values as the reference answer carries them: the EUI, a status bit-string,
    three signal levels (dBm), link counters, the last communication time, and quality figures.
    The emulated HAN has no radio: the levels are those of a good link, the time is when the
    entry was last changed."""
    rows = []
    for entry in log.entries.values():
        joined = entry.state is EntryState.JOINED
        rows.append(dlms.Data("structure", (
            dlms.Data("octet-string", entry.eui), dlms.Data("bit-string", (8, bytes((0xC8 if joined else 0x48,)))),
            dlms.Data("integer", -35), dlms.Data("integer", -50), dlms.Data("integer", -100),
            dlms.Data("unsigned", 2), dlms.Data("unsigned", 39), dlms.Data("unsigned", 247),
            dlms.Data("octet-string", DlmsDateTime.from_epoch(entry.added_at).encode()),
            dlms.Data("unsigned", 1 if joined else 0), dlms.Data("unsigned", 0), dlms.Data("unsigned", 100),
            dlms.Data("unsigned", 1), dlms.Data("unsigned", 1))))
    return dlms.Data("array", tuple(rows))


def security_details(entries: list[DeviceLogEntry], network_id: bytes, now: float) -> dlms.Data:
    """CCS07 (method 4): {read time, network id, array of {EUI, link key}} for one log."""
    keys = tuple(dlms.Data("structure", (dlms.Data("octet-string", e.eui), dlms.Data("octet-string", e.link_key)))
                 for e in entries)
    return dlms.Data("structure", (dlms.Data("octet-string", DlmsDateTime.from_epoch(now).encode()),
                                   dlms.Data("octet-string", network_id), dlms.Data("array", keys)))
