"""A device acting on security-credential commands: CS02b/CS02g Update Security Credentials
(every replacement mode), CS02a/CS02f credential details, CS02c/CS02d/CS02e its own key pairs
and certificates.

Theory of operation. Who may send which CS02b variant is checked before anything runs
(:data:`emulator.devices.endpoint.CREDENTIAL_AUTHORITY`; a refusal is alerted 0x8F30 and
not answered). Then each replacement is judged on its own, as the reference's responses
show (one cell refused, the others replaced): the certificate must parse and name one
remote party (subject unique id); its role (subject OU, two hex digits) and key usage must
be those of the target cell the command names, and the replacement mode must allow that
role; the cell is found by (role, key usage, cell usage), never by a name; and the
certificate must chain, through the command's certification path, to the device's root
trust anchor (the root certificate held under the all-zero EUI). Status codes: 0 success,
5 bad certificate, 10 no trust anchor (does not chain to the root), 25 trust anchor not
found (the device has no such cell), 127 other (the mode may not replace that role, or a
stale sequence number). A replaced cell takes the new party's public key into the device's
key store, and the new party's commands are accepted above the floor sequence number the
command sets. A future-dated command is acknowledged (NULL) and runs at its time, its
outcome alerted to the command's originator (0x00CB, or 0x0124 for a load controller's:
8F66 success / 8F67 failure). CS02c makes a new key pair and answers its certification
request; CS02d installs a certificate for it (or re-certifies the current key) and is
alerted 0x8F4D / 0x8F4F (own DS / KA certificate replaced) or 0x8F4C / 0x8F4E (failed).
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from emulator.devices.endpoint import SLOT_BY_ROLE, GbcsEndpoint
from emulator.gbcs import asn1
from emulator.gbcs import credentials as cred
from emulator.gbcs.errors import GbcsError, UnknownKeyError
from emulator.gbcs.frames import Message
from emulator.gbcs.keys import Usage

#: Roles each replacement mode may replace (GBCS: a party replaces its own cells; the
#: Transitional CoS party replaces the supplier's; Recovery any but the root).
REPLACEABLE: dict[int, frozenset[int]] = {
    cred.MODE_SUPPLIER_BY_SUPPLIER: frozenset({cred.SUPPLIER}),
    cred.MODE_NO_BY_NO: frozenset({cred.NETWORK_OPERATOR}),
    cred.MODE_ACB_BY_ACB: frozenset({cred.ACB}),
    cred.MODE_WAN_PROVIDER_BY_WAN_PROVIDER: frozenset({cred.WAN_PROVIDER}),
    cred.MODE_TRANS_COS_BY_TRANS_COS: frozenset({cred.TRANSITIONAL_COS}),
    cred.MODE_SUPPLIER_BY_TRANS_COS: frozenset({cred.SUPPLIER}),
    cred.MODE_ANY_EXCEPT_ROOT_BY_RECOVERY: frozenset({cred.RECOVERY, cred.SUPPLIER, cred.NETWORK_OPERATOR,
                                                      cred.ACB, cred.TRANSITIONAL_COS, cred.WAN_PROVIDER}),
    cred.MODE_LOAD_CONTROLLER_BY_LOAD_CONTROLLER: frozenset({cred.LOAD_CONTROLLER}),
    cred.MODE_LOAD_CONTROLLER_BY_SUPPLIER: frozenset({cred.LOAD_CONTROLLER}),
}
#: Certificate roles a cell accepts other than its own: a load controller is a supplier or a
#: network operator acting as one (the reference installs a supplier certificate, OU 02, there).
_ALSO_ACCEPTED: dict[int, frozenset[int]] = {cred.LOAD_CONTROLLER: frozenset({cred.SUPPLIER, cred.NETWORK_OPERATOR})}
#: The role that authorises each mode (its sequence number is the command's).
AUTHORISING_ROLE: dict[int, int] = {
    cred.MODE_SUPPLIER_BY_SUPPLIER: cred.SUPPLIER, cred.MODE_NO_BY_NO: cred.NETWORK_OPERATOR,
    cred.MODE_ACB_BY_ACB: cred.ACB, cred.MODE_WAN_PROVIDER_BY_WAN_PROVIDER: cred.WAN_PROVIDER,
    cred.MODE_TRANS_COS_BY_TRANS_COS: cred.TRANSITIONAL_COS, cred.MODE_SUPPLIER_BY_TRANS_COS: cred.TRANSITIONAL_COS,
    cred.MODE_ANY_EXCEPT_ROOT_BY_RECOVERY: cred.RECOVERY,
    cred.MODE_LOAD_CONTROLLER_BY_LOAD_CONTROLLER: cred.LOAD_CONTROLLER,
    cred.MODE_LOAD_CONTROLLER_BY_SUPPLIER: cred.SUPPLIER,
}
_UNIQUE_ID = x509.ObjectIdentifier("2.5.4.45")
_OWN_USAGES: dict[bytes, Usage] = {cred.DIGITAL_SIGNATURE: "ds", cred.KEY_AGREEMENT: "ka"}


class HasEndpoint(Protocol):
    endpoint: GbcsEndpoint


def _usage(cell: cred.Cell) -> Usage:
    if cell.key_usage == cred.DIGITAL_SIGNATURE:
        return "ds"
    return "ka-pp" if cell.cell_usage == cred.PREPAYMENT_TOP_UP else "ka"


def key_id(cert: x509.Certificate) -> bytes:
    """The certificate's subject key identifier (GBCS: 8 octets); derived from the key if absent."""
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest[-8:]
    except x509.ExtensionNotFound:
        point = cert.public_key().public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.UncompressedPoint)
        return hashlib.sha256(point).digest()[:8]


def subject_eui(cert: x509.Certificate) -> bytes | None:
    """The remote party's EUI-64: x500UniqueIdentifier (a BIT STRING in GBCS certificates, the
    hex text in the test PKI's)."""
    for attr in cert.subject.get_attributes_for_oid(_UNIQUE_ID):
        raw = attr.value if isinstance(attr.value, bytes) else str(attr.value).encode()
        if len(raw) == 8:
            return raw
        if len(raw) == 9 and raw[0] == 0:  # BIT STRING content: unused-bits octet, then the EUI
            return raw[1:]
        try:
            eui = bytes.fromhex(raw.decode("ascii"))
        except ValueError:
            return None
        return eui if len(eui) == 8 else None
    return None


def subject_role(cert: x509.Certificate) -> int | None:
    """The remote party role a certificate is issued for: its subject OU, two hex digits."""
    for attr in cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATIONAL_UNIT_NAME):
        try:
            return int(str(attr.value), 16)
        except ValueError:
            return None
    return None


def certificate_key_usage(cert: x509.Certificate) -> bytes | None:
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    if ku.digital_signature and not ku.key_agreement:
        return cred.DIGITAL_SIGNATURE
    if ku.key_agreement and not ku.digital_signature:
        return cred.KEY_AGREEMENT
    return None


def chains_to_root(cert: x509.Certificate, path: list[x509.Certificate], root: x509.Certificate | None) -> bool:
    """True when ``cert`` is signed by the root, or by a path certificate that chains to it
    (at most the path's length of intermediates; each link's signature checked)."""
    if root is None:
        return False
    current = cert
    for _ in range(len(path) + 1):
        if current.issuer == root.subject:
            return _signed_by(current, root)
        issuer = next((p for p in path if p.subject == current.issuer and p is not current), None)
        if issuer is None or not _signed_by(current, issuer):
            return False
        current = issuer
    return False


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def root_certificate(endpoint: GbcsEndpoint) -> x509.Certificate | None:
    """The root trust anchor: the certificate held under the root cell's all-zero EUI."""
    try:
        der = endpoint.keys.get(cred.ROOT_EUI, "ds").certificate_der
    except UnknownKeyError:
        return None
    return x509.load_der_x509_certificate(der) if der else None


def _held_key_id(endpoint: GbcsEndpoint, eui: bytes, cell: cred.Cell) -> bytes:
    try:
        key = endpoint.keys.get(eui, _usage(cell) if cell.role != cred.ROOT else "ds")
    except UnknownKeyError:
        return bytes(8)
    if key.certificate_der:
        return key_id(x509.load_der_x509_certificate(key.certificate_der))
    point = key.public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return hashlib.sha256(point).digest()[:8]


def _judge(endpoint: GbcsEndpoint, cmd: cred.UpdateSecurityCredentials, rep: cred.Replacement,
           path: list[x509.Certificate], root: x509.Certificate | None) -> tuple[int, x509.Certificate | None]:
    trust = endpoint.trust
    if rep.cell not in trust.cells:
        return cred.TRUST_ANCHOR_NOT_FOUND, None
    if rep.cell.role not in REPLACEABLE.get(cmd.mode, frozenset()):
        return cred.OTHER_FAILURE, None
    try:
        cert = x509.load_der_x509_certificate(rep.certificate)
    except ValueError:
        return cred.BAD_CERTIFICATE, None
    role = subject_role(cert)
    if (subject_eui(cert) is None or (role != rep.cell.role and role not in _ALSO_ACCEPTED.get(rep.cell.role, ()))
            or certificate_key_usage(cert) != rep.cell.key_usage
            or not isinstance(cert.public_key(), ec.EllipticCurvePublicKey)):
        return cred.BAD_CERTIFICATE, None
    if not chains_to_root(cert, path, root):
        return cred.NO_TRUST_ANCHOR, None
    return cred.SUCCESS, cert


def execute_update(endpoint: GbcsEndpoint, cmd: cred.UpdateSecurityCredentials) -> cred.ExecutionOutcome:
    """Run a CS02b now: judge and apply each replacement, then the sequence-number changes."""
    trust = endpoint.trust
    authoriser = AUTHORISING_ROLE.get(cmd.mode)
    stale = authoriser is None or cmd.authorising_seq <= trust.seq.get(authoriser, -1)
    path: list[x509.Certificate] = []
    for der in cmd.path:
        try:
            path.append(x509.load_der_x509_certificate(der))
        except ValueError:
            continue  # a bad path certificate simply cannot be a link of any chain
    root = root_certificate(endpoint)
    outcomes = []
    replaced: list[int] = []
    for rep in cmd.replacements:
        held = trust.cells.get(rep.cell, bytes(8))
        existing = (held, _held_key_id(endpoint, held, rep.cell))
        status, cert = (cred.OTHER_FAILURE, None) if stale else _judge(endpoint, cmd, rep, path, root)
        replacing = existing
        if status == cred.SUCCESS and cert is not None:
            eui = subject_eui(cert)
            assert eui is not None  # checked by _judge
            public = cert.public_key()
            assert isinstance(public, ec.EllipticCurvePublicKey)
            endpoint.keys.add_public(eui, _usage(rep.cell), public, rep.certificate)
            trust.cells[rep.cell] = eui
            replacing = (eui, key_id(cert))
            replaced.append(rep.cell.role)
        outcomes.append(cred.ReplacementOutcome(rep.cell, status, *existing, *replacing))
    changes: list[cred.SeqNumberChange] = []
    if not stale and authoriser is not None:
        trust.seq[authoriser] = cmd.authorising_seq
        if cmd.new_floor is not None:
            role = cmd.replacements[0].cell.role if cmd.replacements else authoriser
            changes.append(cred.SeqNumberChange(role, cmd.new_floor, cmd.new_specialist))
        changes.extend(cmd.other_changes or ())
        for change in changes:
            _set_floor(endpoint, change, fresh=change.role in replaced)
    return cred.ExecutionOutcome(cmd.authorising_seq, cmd.mode, tuple(changes), tuple(outcomes))


def _set_floor(endpoint: GbcsEndpoint, change: cred.SeqNumberChange, *, fresh: bool) -> None:
    """A role's new floor: its commands must carry counters above it. A party that has just
    taken the cells starts from the floor; one that keeps them never goes below its last counter."""
    endpoint.trust.seq[change.role] = change.floor
    slot = SLOT_BY_ROLE.get(change.role)
    holder = endpoint.trust.slots.get(slot) if slot else None
    if holder is None:
        return
    key = (holder, endpoint.eui)
    last = endpoint.counters.last.get(key)
    endpoint.counters.last[key] = change.floor if fresh or last is None else max(last, change.floor)


def update_security_credentials(device: HasEndpoint, msg: Message, now: float) -> bytes:
    """CS02b: the response payload (the outcome now, or NULL when future dated / cancelled)."""
    endpoint = device.endpoint
    mode = cred.MODE_BY_MESSAGE_CODE.get(msg.message_code, 0)
    try:
        cmd = cred.UpdateSecurityCredentials.decode(msg.payload)
    except GbcsError:
        return cred.update_response(cred.ExecutionOutcome(0, mode, (), ()))
    if cmd.mode != mode:  # the payload claims another mode than the message code authorised
        refused = tuple(cred.ReplacementOutcome(r.cell, cred.OTHER_FAILURE, bytes(8), bytes(8), bytes(8), bytes(8))
                        for r in cmd.replacements)
        return cred.update_response(cred.ExecutionOutcome(cmd.authorising_seq, cmd.mode, (), refused))
    if cmd.cancel:
        endpoint.trust.pending = None
        return cred.update_response(None)
    when = cmd.execution_time
    if when is not None and when > now:
        endpoint.trust.pending = (when, cmd, msg.originator)
        return cred.update_response(None)
    return cred.update_response(execute_update(endpoint, cmd))


def due_update_alert(device: HasEndpoint, now: float) -> tuple[bytes, bytes] | None:
    """Run a future-dated CS02b whose time has come: (the 0x00CB alert payload, the command's
    originator, to whom it goes: the Transitional CoS party for 6.23, as in the reference), or None."""
    pending = device.endpoint.trust.pending
    if pending is None or pending[0] > now:
        return None
    device.endpoint.trust.pending = None
    when, cmd, originator = pending
    return cred.update_alert(execute_update(device.endpoint, cmd), when), originator


def credential_details(device: HasEndpoint, msg: Message, now: float) -> bytes:
    """CS02a/CS02f: per role asked, the cells the device holds (or 25 trust anchor not found)."""
    endpoint = device.endpoint
    try:
        req = cred.CredentialDetailsRequest.decode(msg.payload)
    except GbcsError:
        return cred.credential_details_response(())
    out = []
    for role in req.roles:
        cells = sorted((c for c in endpoint.trust.cells if c.role == role and role != cred.ROOT),
                       key=lambda c: (c.key_usage != cred.DIGITAL_SIGNATURE, c.cell_usage))
        if not cells:
            out.append(cred.RoleDetails(role, cred.TRUST_ANCHOR_NOT_FOUND))
            continue
        contents = tuple(cred.CellContents(c.key_usage, c.cell_usage, endpoint.trust.cells[c],
                                           _held_key_id(endpoint, endpoint.trust.cells[c], c)) for c in cells)
        out.append(cred.RoleDetails(role, cred.SUCCESS, endpoint.trust.seq.get(role, 0), contents))
    return cred.credential_details_response(tuple(out))


def provide_device_certificate(device: HasEndpoint, msg: Message, now: float) -> bytes:
    """CS02e: the device's own certificate for the key usage asked (1 invalid key usage,
    2 no certificate held)."""
    endpoint = device.endpoint
    try:
        kids = asn1.decode(msg.payload).children or ()
        bits = kids[0].value
    except (GbcsError, IndexError):
        return asn1.integer(1).encode()
    usage = _OWN_USAGES.get(bits)
    if usage is None:
        return asn1.integer(1).encode()
    try:
        der = endpoint.keys.get(endpoint.eui, usage).certificate_der
    except UnknownKeyError:
        der = None
    return der if der else asn1.integer(2).encode()


# The device's own certificate replaced (CS02d): alert codes by key usage, (failed, succeeded).
OWN_CERTIFICATE_ALERTS: dict[str, tuple[int, int]] = {"ds": (0x8F4C, 0x8F4D), "ka": (0x8F4E, 0x8F4F)}


def update_device_certificate(device: HasEndpoint, msg: Message, now: float) -> bytes:
    """CS02d (see :func:`_update_device_certificate`), alerting the outcome as GBCS names it:
    0x8F4D / 0x8F4F own DS / KA certificate replaced, 0x8F4C / 0x8F4E replacement failed."""
    response = _update_device_certificate(device, msg, now)
    usage = _usage_of_certificate(msg.payload)
    if usage is not None:
        failed, succeeded = OWN_CERTIFICATE_ALERTS[usage]
        device.endpoint.call_for_alert(succeeded if response == asn1.integer(0).encode() else failed)
    return response


def _usage_of_certificate(der: bytes) -> Usage | None:
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return None
    return _OWN_USAGES.get(certificate_key_usage(cert) or b"")


def _update_device_certificate(device: HasEndpoint, msg: Message, now: float) -> bytes:
    """CS02d: a new certificate for the device's own key: 0 success, 1 invalid certificate,
    2 wrong device identity, 3 invalid key usage, 4 no corresponding key pair generated, 5 wrong
    public key. A certificate for the key pair CS02c generated makes that pair the device's."""
    endpoint = device.endpoint
    try:
        cert = x509.load_der_x509_certificate(msg.payload)
    except ValueError:
        return asn1.integer(1).encode()
    usage = _OWN_USAGES.get(certificate_key_usage(cert) or b"")
    public = cert.public_key()
    if usage is None or not isinstance(public, ec.EllipticCurvePublicKey):
        return asn1.integer(3).encode()
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [n.value for n in san if isinstance(n, x509.OtherName)]
    except x509.ExtensionNotFound:
        names = []
    if names and not any(endpoint.eui in bytes(v) for v in names):
        return asn1.integer(2).encode()
    pending = endpoint.pending_keys.get(usage)
    if pending is not None and pending.public_key().public_numbers() == public.public_numbers():
        # the key pair CS02c generated takes over, with its certificate
        endpoint.keys.add_private(endpoint.eui, usage, pending, msg.payload)
        del endpoint.pending_keys[usage]
        return asn1.integer(0).encode()
    try:
        held = endpoint.keys.get(endpoint.eui, usage)
    except UnknownKeyError:
        return asn1.integer(4).encode()
    if held.public.public_numbers() != public.public_numbers():
        return asn1.integer(4 if pending is None else 5).encode()
    endpoint.keys.add(type(held)(held.eui, held.usage, held.public, held.private, msg.payload))
    return asn1.integer(0).encode()


# --- CS02c Issue Security Credentials: a new key pair and its certification request ----------

_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256 group order
_HARDWARE_MODULE_NAME = x509.ObjectIdentifier("1.3.6.1.5.5.7.8.4")
_GBCS_DEVICE_HW_TYPE = bytes.fromhex("060D2A863A0001848FB90F01020201")  # OID 1.2.826.0.1.8641679.1.2.2.1
INVALID_KEY_USAGE, KEY_GENERATION_FAILED, REQUEST_FAILED = 1, 2, 3


def _usage_of(payload: bytes) -> Usage | None:
    try:
        kids = asn1.decode(payload).children or ()
        bits = kids[0].value if kids and kids[0].tag == asn1.BIT_STRING else b""
    except GbcsError:
        return None
    return _OWN_USAGES.get(bits)


def issue_security_credentials(device: HasEndpoint, msg: Message, now: float) -> bytes:
    """CS02c: generate a new key pair for the usage asked (kept aside until CS02d brings its
    certificate) and answer its PKCS#10 certification request: empty subject, the device's
    EUI-64 as hardwareModuleName, the key usage; 1 invalid key usage, 2 no key to renew."""
    endpoint = device.endpoint
    usage = _usage_of(msg.payload)
    if usage is None:
        return asn1.integer(INVALID_KEY_USAGE).encode()
    try:
        old = endpoint.keys.private(endpoint.eui, usage)
    except UnknownKeyError:
        return asn1.integer(KEY_GENERATION_FAILED).encode()
    # Deterministic (sans-IO, reproducible runs): the new scalar from the old one and the counter.
    seed = hashlib.sha256(old.private_numbers().private_value.to_bytes(32, "big") + msg.counter.to_bytes(8, "big"))
    new = ec.derive_private_key(int.from_bytes(seed.digest(), "big") % (_N - 1) + 1, ec.SECP256R1())
    ds = usage == "ds"
    eui = bytes((0x04, len(endpoint.eui))) + endpoint.eui
    body = _GBCS_DEVICE_HW_TYPE + eui
    hw = bytes((0x30, len(body))) + body
    try:
        csr = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
               .add_extension(x509.KeyUsage(ds, False, False, False, not ds, False, False, False, False), critical=True)
               .add_extension(x509.SubjectAlternativeName([x509.OtherName(_HARDWARE_MODULE_NAME, hw)]), critical=True)
               .sign(new, hashes.SHA256()))
    except ValueError:
        return asn1.integer(REQUEST_FAILED).encode()
    endpoint.pending_keys[usage] = new
    return csr.public_bytes(serialization.Encoding.DER)
