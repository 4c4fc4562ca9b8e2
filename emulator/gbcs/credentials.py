"""ASN.1 DER of the security-credential use cases (GBCS CS02a/b/f, CS02c/d/e): typed
structures with one encode and one decode each, re-encoding byte for byte.

Shapes (as the RTDS 4.5.0 reference messages carry them):

- Trust anchor cell identifier: SEQUENCE { remotePartyRole INTEGER, keyUsage BIT STRING,
  cellUsage INTEGER DEFAULT management(0) } (cellUsage present only for prepaymentTopUp).
- CS02b Update Security Credentials command: SEQUENCE { authorisingRemotePartyControl
  SEQUENCE { credentialsReplacementMode INTEGER, [0] plaintextSymmetricKey OPTIONAL,
  [1] applyTimeBasedCPVChecks OPTIONAL, [2] authorisingRemotePartyTACellIdentifier OPTIONAL,
  [3] authorisingRemotePartySeqNumber, [4] newRemotePartyFloorSeqNumber OPTIONAL,
  [5] newRemotePartySpecialistFloorSeqNumber OPTIONAL, [6] otherRemotePartySeqNumberChanges
  OPTIONAL }, replacements SEQUENCE OF { certificate, targetCell }, certificationPath
  SEQUENCE OF certificate, executionDateTime GeneralizedTime OPTIONAL }.
- Its response: SEQUENCE { commandAccepted NULL, executionOutcome OPTIONAL } (no outcome when
  future dated); the outcome: SEQUENCE { authorisingRemotePartySeqNumber, mode,
  remotePartySeqNumberChanges, replacementOutcomes SEQUENCE OF { cell, status ENUMERATED,
  existing subject unique id, existing subject key id, replacing unique id, replacing key id } }.
- The future-dated outcome alert (0x00CB): SEQUENCE { alertCode 8F66/8F67, executionDateTime,
  executionOutcome }.
- CS02a/CS02f Provide Security Credential Details: command SEQUENCE { authorising cell
  (role, keyUsage), SEQUENCE OF role }; response SEQUENCE OF { role, status [, seqNumber,
  SEQUENCE OF { keyUsage, [cellUsage], subject unique id, subject key id }] }.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.gbcs import asn1
from emulator.gbcs.asn1 import Tlv, decode
from emulator.gbcs.errors import DecodeError, GbcsError

# Remote party roles (GBCS RemotePartyRole).
ROOT, RECOVERY, SUPPLIER, NETWORK_OPERATOR, ACB, TRANSITIONAL_COS, WAN_PROVIDER, ISSUING_AUTHORITY = range(8)
LOAD_CONTROLLER = 8
OTHER = 127
#: The subject unique id GBCS reports for the root trust anchor (it has no EUI-64).
ROOT_EUI = bytes(8)

# Key usages as DER BIT STRING contents (unused-bits octet + bits).
DIGITAL_SIGNATURE = b"\x07\x80"
KEY_AGREEMENT = b"\x03\x08"
KEY_CERT_SIGN = b"\x02\x04"
MANAGEMENT, PREPAYMENT_TOP_UP = 0, 1

# Credentials replacement modes; the message code of each CS02b variant.
MODE_SUPPLIER_BY_SUPPLIER = 2
MODE_NO_BY_NO = 3
MODE_ACB_BY_ACB = 4
MODE_WAN_PROVIDER_BY_WAN_PROVIDER = 5
MODE_TRANS_COS_BY_TRANS_COS = 6
MODE_SUPPLIER_BY_TRANS_COS = 7
MODE_ANY_EXCEPT_ROOT_BY_RECOVERY = 8
MODE_ANY_BY_CONTINGENCY = 9
MODE_LOAD_CONTROLLER_BY_LOAD_CONTROLLER = 10  # CS02g
MODE_LOAD_CONTROLLER_BY_SUPPLIER = 11  # CS02g
MODE_BY_MESSAGE_CODE: dict[int, int] = {0x0102: 2, 0x0103: 3, 0x0104: 4, 0x0105: 5, 0x0106: 6, 0x0107: 7,
                                        0x0108: 8, 0x0109: 9, 0x0125: 10, 0x0126: 11}
#: The load controller the reference devices trust (RTDS keystore 90b3d51f30010008).
LOAD_CONTROLLER_EUI = bytes.fromhex("90B3D51F30010008")

# StatusCode (CS02a and CS02b outcomes).
SUCCESS = 0
BAD_CERTIFICATE = 5
NO_TRUST_ANCHOR = 10
INSUFFICIENT_MEMORY = 17
TRUST_ANCHOR_NOT_FOUND = 25
RESOURCES_BUSY = 30
OTHER_FAILURE = 127

ALERT_FUTURE_DATED_SUCCESS = 0x8F66
ALERT_FUTURE_DATED_FAILURE = 0x8F67
FUTURE_DATED_CREDENTIALS_ALERT = 0x00CB  # message code of the outcome alert (CS02b)
FUTURE_DATED_LOAD_CONTROLLER_ALERT = 0x0124  # the same for CS02g


def _need(tlv: Tlv, tag: int, what: str) -> Tlv:
    if tlv.tag != tag:
        raise DecodeError(f"{what}: expected tag 0x{tag:02X}, got 0x{tlv.tag:02X}", field=what, offset=0)
    return tlv


def _kids(tlv: Tlv, what: str) -> tuple[Tlv, ...]:
    _need(tlv, asn1.SEQUENCE, what)
    return tlv.children or ()


def _unsigned(tlv: Tlv) -> int:
    return int.from_bytes(tlv.value, "big") if tlv.value else 0


def _implicit_int(tag: int, value: int) -> Tlv:
    return Tlv(tag, asn1.integer(value).value)


def key_usage_name(bits: bytes) -> str:
    return {DIGITAL_SIGNATURE: "ds", KEY_AGREEMENT: "ka", KEY_CERT_SIGN: "ca"}.get(bits, bits.hex())


@dataclass(frozen=True, slots=True)
class Cell:
    """A trust anchor cell identifier: which party role, which key, which use of it."""

    role: int
    key_usage: bytes  # DIGITAL_SIGNATURE / KEY_AGREEMENT / KEY_CERT_SIGN
    cell_usage: int = MANAGEMENT

    def tlv(self) -> Tlv:
        items = [asn1.integer(self.role), Tlv(asn1.BIT_STRING, self.key_usage)]
        if self.cell_usage != MANAGEMENT:
            items.append(asn1.integer(self.cell_usage))
        return asn1.sequence(*items)

    def tagged(self, tag: int) -> Tlv:
        return Tlv(tag, b"", self.tlv().children)

    @classmethod
    def from_tlv(cls, tlv: Tlv, what: str = "cell") -> Cell:
        kids = tlv.children or ()
        if len(kids) not in (2, 3) or kids[0].tag != asn1.INTEGER or kids[1].tag != asn1.BIT_STRING:
            raise DecodeError(f"{what} must be {{role, keyUsage[, cellUsage]}}", field=what, offset=0)
        usage = kids[2].int() if len(kids) == 3 else MANAGEMENT
        return cls(kids[0].int(), kids[1].value, usage)


@dataclass(frozen=True, slots=True)
class SeqNumberChange:
    """A remote party's new floor sequence number (and its specialist floors, e.g. top-up)."""

    role: int
    floor: int
    specialist: tuple[tuple[int, int], ...] | None = None  # (usage, floor); None: absent

    def tlv(self) -> Tlv:
        items = [asn1.integer(self.role), asn1.integer(self.floor)]
        if self.specialist is not None:
            items.append(_specialist(self.specialist))
        return asn1.sequence(*items)

    @classmethod
    def from_tlv(cls, tlv: Tlv) -> SeqNumberChange:
        kids = _kids(tlv, "seq-number-change")
        if len(kids) < 2:
            raise DecodeError("seq number change needs {role, floor}", field="seq-number-change", offset=0)
        spec = _specialist_of(kids[2]) if len(kids) > 2 else None
        return cls(kids[0].int(), kids[1].int(), spec)


def _specialist(items: tuple[tuple[int, int], ...], tag: int = asn1.SEQUENCE) -> Tlv:
    return Tlv(tag, b"", tuple(asn1.sequence(asn1.integer(u), asn1.integer(s)) for u, s in items))


def _specialist_of(tlv: Tlv) -> tuple[tuple[int, int], ...]:
    out = []
    for item in tlv.children or ():
        kids = _kids(item, "specialist-seq-number")
        if len(kids) != 2:
            raise DecodeError("specialist seq number needs {usage, seq}", field="specialist", offset=0)
        out.append((kids[0].int(), kids[1].int()))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Replacement:
    certificate: bytes  # DER
    cell: Cell


@dataclass(frozen=True, slots=True)
class UpdateSecurityCredentials:
    """CS02b command (every replacement mode)."""

    mode: int
    authorising_seq: int
    replacements: tuple[Replacement, ...]
    path: tuple[bytes, ...] = ()
    authorising_cell: Cell | None = None
    apply_time_based_cpv: int | None = None  # None: absent (DEFAULT apply); 1: disapply
    new_floor: int | None = None
    new_specialist: tuple[tuple[int, int], ...] | None = None
    other_changes: tuple[SeqNumberChange, ...] | None = None
    execution: Tlv | None = None  # GeneralizedTime as given (all-9s = cancel)

    def encode(self) -> bytes:
        control = [asn1.integer(self.mode)]
        if self.apply_time_based_cpv is not None:
            control.append(_implicit_int(0x81, self.apply_time_based_cpv))
        if self.authorising_cell is not None:
            control.append(self.authorising_cell.tagged(0xA2))
        control.append(_implicit_int(0x83, self.authorising_seq))
        if self.new_floor is not None:
            control.append(_implicit_int(0x84, self.new_floor))
        if self.new_specialist is not None:
            control.append(_specialist(self.new_specialist, 0xA5))
        if self.other_changes is not None:
            control.append(Tlv(0xA6, b"", tuple(c.tlv() for c in self.other_changes)))
        items = [asn1.sequence(*control),
                 asn1.sequence(*(asn1.sequence(asn1.decode(r.certificate), r.cell.tlv()) for r in self.replacements)),
                 asn1.sequence(*(asn1.decode(c) for c in self.path))]
        if self.execution is not None:
            items.append(self.execution)
        return asn1.sequence(*items).encode()

    @property
    def execution_time(self) -> float | None:
        return asn1.parse_generalized_time(self.execution) if self.execution is not None else None

    @property
    def cancel(self) -> bool:
        return self.execution is not None and self.execution.value.startswith(b"9999")

    @classmethod
    def decode(cls, data: bytes) -> UpdateSecurityCredentials:
        kids = _kids(asn1.decode(data), "cs02b")
        if len(kids) not in (3, 4):
            raise DecodeError("CS02b needs {control, replacements, path[, time]}", field="cs02b", offset=0)
        control = _kids(kids[0], "cs02b.control")
        if not control or control[0].tag != asn1.INTEGER:
            raise DecodeError("CS02b control must start with the replacement mode", field="cs02b.mode", offset=0)
        fields: dict[int, Tlv] = {c.tag: c for c in control[1:]}
        if 0x83 not in fields:
            raise DecodeError("CS02b control has no authorising seq number [3]", field="cs02b.seq", offset=0)
        replacements = []
        for item in _kids(kids[1], "cs02b.replacements"):
            pair = _kids(item, "cs02b.replacement")
            if len(pair) != 2:
                raise DecodeError("a replacement is {certificate, cell}", field="cs02b.replacement", offset=0)
            replacements.append(Replacement(pair[0].encode(), Cell.from_tlv(pair[1], "cs02b.target-cell")))
        path = tuple(c.encode() for c in _kids(kids[2], "cs02b.path"))
        execution = None
        if len(kids) == 4:
            execution = _need(kids[3], asn1.GENERALIZED_TIME, "cs02b.execution")
        a2 = fields.get(0xA2)
        return cls(
            mode=control[0].int(), authorising_seq=_unsigned(fields[0x83]), replacements=tuple(replacements),
            path=path, authorising_cell=Cell.from_tlv(a2, "cs02b.authorising-cell") if a2 is not None else None,
            apply_time_based_cpv=_unsigned(fields[0x81]) if 0x81 in fields else None,
            new_floor=_unsigned(fields[0x84]) if 0x84 in fields else None,
            new_specialist=_specialist_of(fields[0xA5]) if 0xA5 in fields else None,
            other_changes=tuple(SeqNumberChange.from_tlv(c) for c in fields[0xA6].children or ())
            if 0xA6 in fields else None,
            execution=execution)


@dataclass(frozen=True, slots=True)
class ReplacementOutcome:
    cell: Cell
    status: int
    existing_id: bytes
    existing_key_id: bytes
    replacing_id: bytes
    replacing_key_id: bytes

    def tlv(self) -> Tlv:
        return asn1.sequence(self.cell.tlv(), Tlv(asn1.ENUMERATED, bytes((self.status,))),
                             asn1.octets(self.existing_id), asn1.octets(self.existing_key_id),
                             asn1.octets(self.replacing_id), asn1.octets(self.replacing_key_id))

    @classmethod
    def from_tlv(cls, tlv: Tlv) -> ReplacementOutcome:
        k = _kids(tlv, "replacement-outcome")
        if len(k) != 6:
            raise DecodeError("replacement outcome has 6 fields", field="replacement-outcome", offset=0)
        return cls(Cell.from_tlv(k[0]), k[1].int(), k[2].value, k[3].value, k[4].value, k[5].value)


@dataclass(frozen=True, slots=True)
class ExecutionOutcome:
    authorising_seq: int
    mode: int
    changes: tuple[SeqNumberChange, ...]
    outcomes: tuple[ReplacementOutcome, ...]

    def tlv(self) -> Tlv:
        return asn1.sequence(asn1.integer(self.authorising_seq), asn1.integer(self.mode),
                             asn1.sequence(*(c.tlv() for c in self.changes)),
                             asn1.sequence(*(o.tlv() for o in self.outcomes)))

    @classmethod
    def from_tlv(cls, tlv: Tlv) -> ExecutionOutcome:
        k = _kids(tlv, "execution-outcome")
        if len(k) != 4:
            raise DecodeError("execution outcome has 4 fields", field="execution-outcome", offset=0)
        return cls(k[0].int(), k[1].int(), tuple(SeqNumberChange.from_tlv(c) for c in k[2].children or ()),
                   tuple(ReplacementOutcome.from_tlv(o) for o in k[3].children or ()))

    @property
    def succeeded(self) -> bool:
        return all(o.status == SUCCESS for o in self.outcomes)


def update_response(outcome: ExecutionOutcome | None) -> bytes:
    """CS02b response: accepted (NULL), with the outcome unless the command is future dated."""
    items = [Tlv(asn1.NULL, b"")]
    if outcome is not None:
        items.append(outcome.tlv())
    return asn1.device_encode(asn1.sequence(*items))


def decode_update_response(data: bytes) -> ExecutionOutcome | None:
    k = _kids(asn1.decode(data), "cs02b-response")
    if not k or k[0].tag != asn1.NULL:
        raise DecodeError("CS02b response starts with NULL", field="cs02b-response", offset=0)
    return ExecutionOutcome.from_tlv(k[1]) if len(k) > 1 else None


def credentials_alert_code(alert: bytes) -> int:
    """The message code of a future-dated credentials outcome alert: 0x0124 for a load
    controller's (CS02g, modes 10 and 11), 0x00CB otherwise."""
    try:
        mode = (decode(alert).children or ())[2].children[1].int()  # type: ignore[index]
    except (GbcsError, IndexError, TypeError):
        return FUTURE_DATED_CREDENTIALS_ALERT
    return FUTURE_DATED_LOAD_CONTROLLER_ALERT if mode in (10, 11) else FUTURE_DATED_CREDENTIALS_ALERT


def update_alert(outcome: ExecutionOutcome, executed_at: float) -> bytes:
    """0x00CB: the outcome of a future-dated CS02b when it ran (8F66 success, 8F67 failure)."""
    code = ALERT_FUTURE_DATED_SUCCESS if outcome.succeeded else ALERT_FUTURE_DATED_FAILURE
    return asn1.device_encode(asn1.sequence(asn1.integer(code), asn1.generalized_time(executed_at), outcome.tlv()))


# --- CS02a / CS02f Provide Security Credential Details -------------------------------------

@dataclass(frozen=True, slots=True)
class CredentialDetailsRequest:
    authorising_cell: Cell
    roles: tuple[int, ...]

    def encode(self) -> bytes:
        roles = asn1.sequence(*(asn1.integer(r) for r in self.roles))
        return asn1.sequence(self.authorising_cell.tlv(), roles).encode()

    @classmethod
    def decode(cls, data: bytes) -> CredentialDetailsRequest:
        k = _kids(asn1.decode(data), "cs02a")
        if len(k) != 2:
            raise DecodeError("CS02a is {authorising cell, roles}", field="cs02a", offset=0)
        return cls(Cell.from_tlv(k[0], "cs02a.cell"), tuple(r.int() for r in _kids(k[1], "cs02a.roles")))


@dataclass(frozen=True, slots=True)
class CellContents:
    key_usage: bytes
    cell_usage: int
    subject_id: bytes
    key_id: bytes

    def tlv(self) -> Tlv:
        items = [Tlv(asn1.BIT_STRING, self.key_usage)]
        if self.cell_usage != MANAGEMENT:
            items.append(asn1.integer(self.cell_usage))
        return asn1.sequence(*items, asn1.octets(self.subject_id), asn1.octets(self.key_id))


@dataclass(frozen=True, slots=True)
class RoleDetails:
    role: int
    status: int
    seq: int | None = None
    cells: tuple[CellContents, ...] = ()

    def tlv(self) -> Tlv:
        items = [asn1.integer(self.role), Tlv(asn1.ENUMERATED, bytes((self.status,)))]
        if self.seq is not None:
            items += [asn1.integer(self.seq), asn1.sequence(*(c.tlv() for c in self.cells))]
        return asn1.sequence(*items)


def credential_details_response(details: tuple[RoleDetails, ...]) -> bytes:
    return asn1.device_encode(asn1.sequence(*(d.tlv() for d in details)))
