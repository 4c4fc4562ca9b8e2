"""A device's GBCS security endpoint: the checks every SMETS2 device makes on a command,
and the framing of its responses and alerts (GBCS 4.3, 5; DV-3, DV-6).

Theory of operation. A command is accepted only if, in this order: it decodes; it is
a command addressed to this device; its originator is a remote party the device
trusts (a certificate in one of its trust-anchor slots); its MAC verifies (every
command is MACed by the ACB on the way); a critical command also carries the
originator's valid signature (critical: SME.C.C, and the CS02b/CS02g variants whose
reference command is signed, since a MAC only proves the DCC sent it); its counter is
above the last one accepted from that originator (replay refusal); and the originator's role may run that use case. A
refusal says why and which alert GBCS prescribes (0x8F3D trusted source
authentication failure, 0x8F30 no authority). Nothing here changes device state
except the counter, and only once every other check passed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from emulator.devices.device_log import JoinList
from emulator.devices.events import CommandAccepted, CommandRefused, DeviceEvent
from emulator.gbcs import catalogue, frames, security
from emulator.gbcs import credentials as cred
from emulator.gbcs.dlms_datetime import DlmsDateTime
from emulator.gbcs.errors import FrameError, SecurityError
from emulator.gbcs.frames import Cra, Message
from emulator.gbcs.identities import (
    ACB,
    NETWORK_OPERATOR,
    RECOVERY,
    SUPPLIER,
    TRANSITIONAL_COS,
    WAN_PROVIDER,
)
from emulator.gbcs.keys import KeyStore, Usage

ALERT_AUTH_FAILURE = 0x8F3D
ALERT_NO_AUTHORITY = 0x8F30
GENERIC_CRITICAL_ALERT = 0x1000
GENERIC_NON_CRITICAL_ALERT = 0x1001

# Which DUIS roles a trust-anchor slot stands for (the SRV catalogue lists roles).
_SLOT_ROLES: dict[str, tuple[str, ...]] = {
    "supplier": ("IS", "ES", "GS", "RSA"),
    "network_operator": ("ED", "GT"),
    "acb": ("IS", "ES", "GS", "ED", "GT", "RSA", "OU"),
    "recovery": (),
    "transitional_cos": ("IS", "GS"),
    "wan_provider": (),
    "load_controller": (),
}
#: Trust anchor slot names by GBCS remote party role.
SLOT_BY_ROLE: dict[int, str] = {cred.RECOVERY: "recovery", cred.SUPPLIER: "supplier",
                                cred.NETWORK_OPERATOR: "network_operator", cred.ACB: "acb",
                                cred.TRANSITIONAL_COS: "transitional_cos", cred.WAN_PROVIDER: "wan_provider",
                                cred.LOAD_CONTROLLER: "load_controller"}
#: The cell that identifies a party (what it signs or, for the ACB, MACs with).
_IDENTITY_CELL: dict[int, cred.Cell] = {
    role: cred.Cell(role, cred.KEY_AGREEMENT if role == cred.ACB else cred.DIGITAL_SIGNATURE)
    for role in SLOT_BY_ROLE}
_IDENTITY_SLOTS: tuple[tuple[str, cred.Cell], ...] = tuple((name, _IDENTITY_CELL[role])
                                                           for role, name in SLOT_BY_ROLE.items())
#: Who may originate each CS02b/CS02g variant (GBCS: the holder of the authorising remote
#: party's cell for the replacement mode; on a DCC-controlled device that is the ACB, whose
#: certificates fill the supplier and network operator cells until handover, SRV 6.21).
#: Nobody else: a supplierByTransCoS from the network operator or the losing supplier is
#: refused with 0x8F30 whatever its signature.
CREDENTIAL_AUTHORITY: dict[int, str] = {
    0x0102: "supplier", 0x0103: "network_operator", 0x0104: "acb", 0x0105: "wan_provider",
    0x0106: "transitional_cos", 0x0107: "transitional_cos", 0x0108: "recovery", 0x0125: "load_controller",
    0x0126: "supplier"}


def _default_cells() -> dict[cred.Cell, bytes]:
    """A new device's cells: a copy of one table built once (a fleet makes thousands of devices)."""
    return dict(_factory_cells())


@functools.cache
def _factory_cells() -> dict[cred.Cell, bytes]:
    ds, ka = cred.DIGITAL_SIGNATURE, cred.KEY_AGREEMENT
    return {
        cred.Cell(cred.ROOT, cred.KEY_CERT_SIGN): cred.ROOT_EUI,
        cred.Cell(cred.RECOVERY, ds): RECOVERY,
        cred.Cell(cred.SUPPLIER, ds): SUPPLIER, cred.Cell(cred.SUPPLIER, ka): SUPPLIER,
        cred.Cell(cred.SUPPLIER, ka, cred.PREPAYMENT_TOP_UP): SUPPLIER,
        cred.Cell(cred.NETWORK_OPERATOR, ds): NETWORK_OPERATOR, cred.Cell(cred.NETWORK_OPERATOR, ka): NETWORK_OPERATOR,
        cred.Cell(cred.ACB, ds): ACB, cred.Cell(cred.ACB, ka): ACB,
        cred.Cell(cred.TRANSITIONAL_COS, ds): TRANSITIONAL_COS,
        cred.Cell(cred.WAN_PROVIDER, ds): WAN_PROVIDER,
        cred.Cell(cred.LOAD_CONTROLLER, ds): cred.LOAD_CONTROLLER_EUI,
        cred.Cell(cred.LOAD_CONTROLLER, ka): cred.LOAD_CONTROLLER_EUI,
    }


@dataclass(slots=True)
class TrustAnchors:
    """The device's trust anchor cells (GBCS 4.2): (remote party role, key usage, cell usage)
    -> the EUI-64 of the party whose certificate the cell holds, with each role's current
    sequence number. A cell changes only by CS02b, for the cell the command names by role."""

    cells: dict[cred.Cell, bytes] = field(default_factory=_default_cells)
    seq: dict[int, int] = field(default_factory=dict)
    #: A future-dated CS02b waiting for its execution time: (time, command, its originator).
    pending: tuple[float, cred.UpdateSecurityCredentials, bytes] | None = None

    @property
    def slots(self) -> dict[str, bytes]:
        """Slot name -> the EUI of the party that holds that role's identity cell."""
        return {name: self.cells[_IDENTITY_CELL[role]] for role, name in SLOT_BY_ROLE.items()
                if _IDENTITY_CELL[role] in self.cells}

    def slot_of(self, eui: bytes) -> str | None:
        cells = self.cells  # looked up cell by cell: every command asks, and a dict of all slots cost more
        for name, cell in _IDENTITY_SLOTS:
            if cells.get(cell) == eui:
                return name
        return None

    def replace(self, slot: str, eui: bytes) -> None:
        """Hand every cell of the role ``slot`` names to ``eui`` (set-up and tests; CS02b goes cell by cell)."""
        roles = [r for r, n in SLOT_BY_ROLE.items() if n == slot]
        if not roles:
            raise ValueError(f"unknown trust-anchor slot {slot!r}")
        for cell in self.cells:
            if cell.role == roles[0]:
                self.cells[cell] = eui


class Refused(Exception):
    """A command the device will not act on."""

    def __init__(self, reason: str, alert_code: int, msg: Message | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.alert_code = alert_code
        self.msg = msg


#: Catalogue types that do not settle whether the command is critical: the reference form decides.
_TYPE_LEFT_TO_THE_VARIANT = frozenset({"See GBCS", "", "Variant C&R"})


@functools.cache
def _signature_required() -> frozenset[int]:
    """Commands a device executes only with the originator's valid signature: the critical ones
    (SME.C.C), and those the catalogue leaves to GBCS ("See GBCS": the CS02b/CS02g credential
    updates) whose reference command is always signed. Without the second part an unsigned
    CS02b supplierBySupplier that claims the supplier as originator, MACed by the ACB (which
    MACs every command), replaced the supplier's trust anchor without the supplier: the DCC
    alone could take over a supplier's or network operator's cells. CS02b accessControlBrokerByACB
    (reference "M") stays MAC only: the ACB is its authority and the MAC is the ACB's. The same
    holds for the use cases the catalogue gives no type (ECS08, ECS30, ECS46c, ECS47, GCS24:
    critical SRVs in DUIS, reference "M+S/pre"), and CS02e (0x000C, "Variant C&R", 6.24.2, reference
    "M+S/pre"): unsigned, they too were executed. CS02a (also "Variant C&R") has reference "M/S"
    (some variants MAC only) and keeps its signature optional."""
    return frozenset(code for code, info in catalogue.message_codes().items()
                     if info.gbcs_type == "SME.C.C"
                     or (info.gbcs_type in _TYPE_LEFT_TO_THE_VARIANT and info.command_always_signed))


def is_critical(msg: Message) -> bool:
    """A signed command, or one that must be: its signature is checked and its response signed."""
    return msg.signature is not None or msg.message_code in _signature_required()


def allowed_roles(message_code: int) -> tuple[str, ...] | None:
    """Roles that may run the use case, from the SRV catalogue (None: no restriction known)."""
    info = catalogue.message_codes().get(message_code)
    if info is None or not info.service_reference:
        return None
    srv = catalogue.srvs().get(info.service_reference.split(",")[0].strip())
    return srv.roles if srv else None


class GbcsEndpoint:
    """Security state of one device: its keys, trust anchors and counters."""

    def __init__(self, eui: bytes, keys: KeyStore, trust: TrustAnchors | None = None) -> None:
        self.eui = eui
        self.keys = keys
        self.trust = trust or TrustAnchors()
        self.counters = security.CounterGuard()
        self.alert_counter = security.CounterSource()
        #: The HAN devices this one has joined with (CS03/CS04/CS07).
        self.joins = JoinList()
        #: Key pairs CS02c generated, waiting for their certificate (CS02d), by usage.
        self.pending_keys: dict[Usage, ec.EllipticCurvePrivateKey] = {}
        #: Alerts the command being executed calls for (raised by the device after its response).
        self._alerts: list[int] = []

    def call_for_alert(self, code: int) -> None:
        """A use case handler's outcome needs an alert (e.g. 0x8F4D own certificate replaced)."""
        self._alerts.append(code)

    def take_alerts(self) -> list[int]:
        alerts, self._alerts = self._alerts, []
        return alerts

    def accept(self, wire: bytes) -> Message:
        """Run every check on an inbound command; raise :class:`Refused` naming the failure."""
        try:
            msg = frames.decode(wire)
        except FrameError as e:
            raise Refused(f"malformed command: {e}", ALERT_AUTH_FAILURE) from e
        if msg.cra is not Cra.COMMAND:
            raise Refused(f"expected a command, got a {msg.cra.name.lower()}", ALERT_AUTH_FAILURE, msg)
        if msg.target != self.eui:
            raise Refused(f"command is for {msg.target.hex().upper()}, not this device", ALERT_AUTH_FAILURE,
                          msg)
        slot = self.trust.slot_of(msg.originator)
        if slot is None:
            raise Refused(f"originator {msg.originator.hex().upper()} is not a trusted remote party",
                          ALERT_AUTH_FAILURE, msg)
        if msg.mac is None:
            raise Refused("command carries no MAC", ALERT_AUTH_FAILURE, msg)
        try:
            security.verify_mac(self.keys, msg)
            if is_critical(msg):
                security.verify_signature(self.keys, msg)
            self.counters.check(msg.originator, self.eui, msg.counter)
        except SecurityError as e:
            raise Refused(str(e), ALERT_AUTH_FAILURE, msg) from e
        needed = CREDENTIAL_AUTHORITY.get(msg.message_code)
        if needed is not None and self.trust.slots.get(needed) != msg.originator:
            raise Refused(f"{slot} may not update credentials with 0x{msg.message_code:04X} (only the {needed})",
                          ALERT_NO_AUTHORITY, msg)
        roles = allowed_roles(msg.message_code)
        if needed is None and roles is not None and slot != "acb" and not set(roles) & set(_SLOT_ROLES[slot]):
            raise Refused(f"{slot} may not run use case 0x{msg.message_code:04X} (roles {','.join(roles)})",
                          ALERT_NO_AUTHORITY, msg)
        self.counters.accept(msg.originator, self.eui, msg.counter)
        return msg

    def respond(self, command: Message, payload: bytes, now: float) -> bytes:
        """The response to ``command``: signed ``DF`` for a critical command, else MACed ``DD``."""
        critical = is_critical(command)
        msg = Message(Cra.RESPONSE, command.counter, self.eui, command.originator, command.message_code,
                      payload, date_time=DlmsDateTime.from_epoch(now), mac_protected=not critical)
        if critical:
            msg = security.sign(self.keys, msg)
        return security.seal(self.keys, msg)

    def alert(self, payload: bytes, now: float, *, critical: bool, message_code: int | None = None,
              target: bytes | None = None) -> tuple[int, bytes]:
        """A device alert: critical ones signed (``DF``), others MACed (``DD``). Returns (counter, wire)."""
        counter = self.alert_counter.next(now)
        code = message_code if message_code is not None else (
            GENERIC_CRITICAL_ALERT if critical else GENERIC_NON_CRITICAL_ALERT)
        msg = Message(Cra.ALERT, counter, self.eui, target or self.trust.slots["supplier"], code, payload,
                      mac_protected=not critical)
        if critical:
            msg = security.sign(self.keys, msg)
        return counter, security.seal(self.keys, msg)


def accept_reporting(endpoint: GbcsEndpoint, wire: bytes, now: float) -> tuple[Message | None, list[DeviceEvent]]:
    """:meth:`GbcsEndpoint.accept`, with the outcome as an event (accepted, or refused and why)."""
    try:
        msg = endpoint.accept(wire)
    except Refused as r:
        return None, [CommandRefused(endpoint.eui, now, r.reason, r.alert_code, r.msg.counter if r.msg else None)]
    return msg, [CommandAccepted(endpoint.eui, now, msg.message_code, msg.counter, msg.originator)]
