"""``pki init``: a reproducible local test PKI (an adapter: it writes files).

Everything is derived from the seed: private scalars are SHA-256(seed, EUI, usage)
reduced into the P-256 group, certificate serials likewise, signatures are RFC 6979
deterministic, and validity dates are fixed. The same seed gives byte-identical files.

Layout written to DIR:
  ``<eui>-{ds,ka}.pem`` / ``.key``  PEM certificate / PKCS#8 private key per party
  ``root-ca.pem``                    the local root CA certificate (and ``root-ca.key``)
  ``manufacturer-ds.pem`` / ``.key`` the firmware-signing key of the meters' maker
  ``xml-sign-<EUI>-ds.pem`` / ``.key``     DUIS XML-signing key per Service User (supplier, network
                                     operator, second supplier), named as DCC Boxed names its ZAZ1 keys
  ``dsp-xml-sign-<EUI>-ds.pem`` / ``.key`` the DSP's DUIS response-signing key (the DCC's EUI)
  ``keystore.json``                  the same keys in the DCC Boxed keystore layout
  ``pki.json``                       manifest: seed, parties, premises and their devices
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID, ObjectIdentifier

from emulator.gbcs import identities
from emulator.zigbee.jsonvalue import Json, JsonObject

_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256 group order
_NOT_BEFORE = _dt.datetime(2025, 1, 1, tzinfo=_dt.UTC)
_NOT_AFTER = _dt.datetime(2125, 1, 1, tzinfo=_dt.UTC)  # far future: the emulator's clock may run ahead
_X500_UNIQUE_ID = NameOID.X500_UNIQUE_IDENTIFIER
_HARDWARE_MODULE_NAME = ObjectIdentifier("1.3.6.1.5.5.7.8.4")
_SMETS_DEVICE_OID = ObjectIdentifier("1.3.6.1.5.5.7.8.4.1")
_BIT_STRING = _ASN1Type.BitString

# GBCS remote party roles, as DCC tooling records them (keystore.json "role", subject OU in hex).
ROLES = {"recovery": 1, "supplier": 2, "second_supplier": 2, "network_operator": 3, "acb": 4,
         "transitional_cos": 5, "wan_provider": 6}
DEVICE_KINDS = ("ESME", "GSME", "CHF", "GPF")
_DEVICE_SUFFIX = {"ESME": 0xA0, "GSME": 0xA1, "CHF": 0xA2, "GPF": 0xA3}


class PkiError(Exception):
    """A PKI directory that cannot be created or used; the message names the path."""


#: Premises indices the EUI scheme tells apart: bytes 4-5 carry the low 16 bits, byte 6 (0x90) is
#: XORed with the bits above; device_eui(MAX_PREMISES) wraps round to premises 0's EUIs.
MAX_PREMISES = 1 << 24
_REFERENCE_PREMISES = 0x5678  # bytes 4-5 of the reference EUIs (premises 0)


def _swap_reference(low: int) -> int:
    """Premises 0 holds the reference 0x5678 in bytes 4-5, so premises 0x5678 takes the 0000 it leaves free."""
    return _REFERENCE_PREMISES if low == 0 else 0 if low == _REFERENCE_PREMISES else low


def device_eui(premises: int, kind: str) -> bytes:
    """Premises 0 uses the reference EUIs 00DB1234567890A0..A3; premises n replaces the fifth
    and sixth bytes with n (00DB1234 nnnn 90A0), so every device of every premises is distinct.
    Premises 0x5678 gets 0000 there (the value premises 0 leaves free), and premises 65,536 and
    above XOR the bits above 16 into the seventh byte (0x90): 16.7 million premises, all distinct."""
    premises %= MAX_PREMISES
    base = bytearray(identities.ESME)
    base[-1] = _DEVICE_SUFFIX[kind]
    base[4:6] = _swap_reference(premises & 0xFFFF).to_bytes(2, "big")
    base[6] ^= premises >> 16
    return bytes(base)


def device_premises(eui: bytes) -> tuple[int, str] | None:
    """(premises index, device kind) of an EUI :func:`device_eui` makes, else None (remote parties)."""
    kind = next((k for k, suffix in _DEVICE_SUFFIX.items() if len(eui) == 8 and suffix == eui[7]), None)
    if kind is None or eui[:4] != identities.ESME[:4]:
        return None
    high = eui[6] ^ identities.ESME[6]
    return (high << 16) | _swap_reference(int.from_bytes(eui[4:6], "big")), kind


def derive_key(seed: int, eui: bytes, usage: str) -> ec.EllipticCurvePrivateKey:
    digest = hashlib.sha256(f"smets2-emu/{seed}/{eui.hex()}/{usage}".encode()).digest()
    return ec.derive_private_key(int.from_bytes(digest, "big") % (_N - 1) + 1, ec.SECP256R1())


def _serial(seed: int, label: str) -> int:
    return int.from_bytes(hashlib.sha256(f"serial/{seed}/{label}".encode()).digest()[:16], "big") >> 1


@dataclass(frozen=True, slots=True)
class Issued:
    eui: bytes
    usage: str  # ds | ka
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    role: int | None
    name: str


def _cert(seed: int, subject: x509.Name, public: ec.EllipticCurvePublicKey, issuer: x509.Name,
          issuer_key: ec.EllipticCurvePrivateKey, usage: str, label: str, *, ca: bool = False,
          device_eui: bytes | None = None) -> x509.Certificate:
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public)
         .serial_number(_serial(seed, label)).not_valid_before(_NOT_BEFORE).not_valid_after(_NOT_AFTER))
    if ca:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
    else:
        signing = usage == "ds"
        b = b.add_extension(x509.KeyUsage(signing, False, False, False, not signing, False, False, False, False),
                            critical=True)
    if device_eui is not None:
        # GBCS device certificates carry the EUI-64 in subjectAltName hardwareModuleName.
        other = x509.OtherName(_HARDWARE_MODULE_NAME, _hardware_module_name(device_eui))
        b = b.add_extension(x509.SubjectAlternativeName([other]), critical=True)
    return b.sign(issuer_key, hashes.SHA256(), ecdsa_deterministic=True)


def _hardware_module_name(eui: bytes) -> bytes:
    # HardwareModuleName ::= SEQUENCE { hwType OBJECT IDENTIFIER, hwSerialNum OCTET STRING }
    oid = _encode_oid(_SMETS_DEVICE_OID.dotted_string)
    body = oid + b"\x04" + bytes((len(eui),)) + eui
    return b"\x30" + bytes((len(body),)) + body


def _encode_oid(dotted: str) -> bytes:
    parts = [int(x) for x in dotted.split(".")]
    out = bytearray((parts[0] * 40 + parts[1],))
    for p in parts[2:]:
        chunk = [p & 0x7F]
        p >>= 7
        while p:
            chunk.append(0x80 | (p & 0x7F))
            p >>= 7
        out += bytes(reversed(chunk))
    return b"\x06" + bytes((len(out),)) + bytes(out)


def root_ca(seed: int) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The local root CA (certificate, key)."""
    root_key = derive_key(seed, b"\x00" * 8, "root")
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smets2-emu test root"),
                           x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "07")])
    return _cert(seed, root_name, root_key.public_key(), root_name, root_key, "ds", "root", ca=True), root_key


def issue_party(seed: int, name: str, usage: str, root: x509.Certificate,
                root_key: ec.EllipticCurvePrivateKey) -> Issued:
    """Remote party ``name``'s key and certificate of ``usage`` (ds|ka)."""
    eui = identities.REMOTE_PARTIES[name]
    key = derive_key(seed, eui, usage)
    subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"{ROLES[name]:02X}"),
        x509.NameAttribute(_X500_UNIQUE_ID, eui.hex().upper()),
    ])
    cert = _cert(seed, subject, key.public_key(), root.subject, root_key, usage, f"{name}/{usage}")
    return Issued(eui, usage, key, cert, ROLES[name], f"{name}-{usage}")


def issue_device(seed: int, premises: int, kind: str, usage: str, root: x509.Certificate,
                 root_key: ec.EllipticCurvePrivateKey) -> Issued:
    """The key and certificate of ``usage`` (ds|ka) of device ``kind`` of premises ``premises``."""
    eui = device_eui(premises, kind)
    key = derive_key(seed, eui, usage)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, eui.hex().upper())])
    cert = _cert(seed, subject, key.public_key(), root.subject, root_key, usage, f"{eui.hex()}/{usage}",
                 device_eui=eui)
    return Issued(eui, usage, key, cert, None, f"{kind.lower()}-{premises}-{usage}")


def build(seed: int = 1, premises: int = 1) -> tuple[list[Issued], x509.Certificate, ec.EllipticCurvePrivateKey,
                                                      JsonObject]:
    """Everything ``pki init`` writes, in memory: (issued keys, root cert, root key, manifest)."""
    if premises < 1:
        raise PkiError("--premises must be at least 1")
    root, root_key = root_ca(seed)
    issued: list[Issued] = []
    parties: JsonObject = {}
    for name, eui in identities.REMOTE_PARTIES.items():
        parties[name] = eui.hex()
        issued += [issue_party(seed, name, usage, root, root_key) for usage in ("ds", "ka")]
    plist: list[Json] = []
    for p in range(premises):
        devices: JsonObject = {}
        for kind in DEVICE_KINDS:
            devices[kind] = device_eui(p, kind).hex()
            issued += [issue_device(seed, p, kind, usage, root, root_key) for usage in ("ds", "ka")]
        plist.append({"index": p, "devices": devices,
                      "region": "NORTH" if p % 2 == 0 else "CENTRAL_SOUTH"})
    manifest: JsonObject = {"seed": seed, "root": "root-ca.pem", "manufacturer": "manufacturer-ds.pem",
                "remote_parties": parties, "premises": plist}
    return issued, root, root_key, manifest


#: Parties given DUIS XML-signing keys: the Service Users, and the DSP (the DCC's EUI) for its responses.
XML_SIGNING = {"supplier": "xml-sign", "network_operator": "xml-sign", "second_supplier": "xml-sign",
               "acb": "dsp-xml-sign"}


def xml_signing(seed: int, root: x509.Certificate, root_key: ec.EllipticCurvePrivateKey) -> list[
        tuple[str, ec.EllipticCurvePrivateKey, x509.Certificate]]:
    """DUIS XML-signing keys as DCC Boxed's are made: subject OU and the EUI in x500UniqueIdentifier
    (a BIT STRING), digitalSignature only; file stems ``{prefix}-{EUI}-ds``."""
    out = []
    for name, prefix in XML_SIGNING.items():
        eui = identities.REMOTE_PARTIES[name]
        key = derive_key(seed, eui, "xml-sign")
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"{ROLES[name]:02X}"),
                             x509.NameAttribute(_X500_UNIQUE_ID, b"\x00" + eui, _type=_BIT_STRING)])
        cert = _cert(seed, subject, key.public_key(), root.subject, root_key, "ds", f"{name}/xml-sign")
        out.append((f"{prefix}-{eui.hex().upper()}-ds", key, cert))
    return out


def manufacturer_key(seed: int) -> ec.EllipticCurvePrivateKey:
    """The meter maker's firmware-signing key (OTA images are signed with it)."""
    return derive_key(seed, b"\xff" * 8, "manufacturer")


def count(manifest: JsonObject, key: str) -> int:
    """How many entries the manifest's ``key`` (``premises``, ``remote_parties``) holds (0 if none)."""
    value = manifest.get(key)
    return len(value) if isinstance(value, (list, dict)) else 0


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def keystore_json(issued: list[Issued]) -> dict[str, dict[str, dict[str, dict[str, str | int]]]]:
    """DCC Boxed keystore layout: {eui: {digitalSignature|keyAgreement: {serial: entry}}}."""
    out: dict[str, dict[str, dict[str, dict[str, str | int]]]] = {}
    for item in issued:
        usage = "digitalSignature" if item.usage == "ds" else "keyAgreement"
        entry: dict[str, str | int] = {
            "certificate": item.cert.public_bytes(serialization.Encoding.PEM).decode(),
            "privateKey": _pem_key(item.key).decode(),
            "name": item.name,
        }
        if item.role is not None:
            entry["role"] = item.role
        out.setdefault(item.eui.hex(), {}).setdefault(usage, {})[str(item.cert.serial_number)] = entry
    return out


def init(directory: Path | str, *, seed: int = 1, premises: int = 1, force: bool = False) -> JsonObject:
    """Write the PKI to ``directory``; refuses to touch an existing PKI unless ``force``."""
    root = Path(directory)
    if (root / "pki.json").exists() and not force:
        existing: Json = json.loads((root / "pki.json").read_text())
        if not isinstance(existing, dict):
            raise PkiError(f"{root / 'pki.json'} is not a PKI manifest (a JSON object); use --force to replace it")
        if existing.get("seed") == seed and count(existing, "premises") == premises:
            return existing  # idempotent: the same PKI is already there
        raise PkiError(f"{root} already holds a PKI (seed {existing.get('seed')}, "
                       f"{count(existing, 'premises')} premises); use --force to replace it")
    issued, root_cert, root_key, manifest = build(seed, premises)
    root.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {
        "root-ca.pem": root_cert.public_bytes(serialization.Encoding.PEM),
        "root-ca.key": _pem_key(root_key),
    }
    for item in issued:
        files[f"{item.eui.hex()}-{item.usage}.pem"] = item.cert.public_bytes(serialization.Encoding.PEM)
        files[f"{item.eui.hex()}-{item.usage}.key"] = _pem_key(item.key)
    mkey = manufacturer_key(seed)
    mname = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smets2-emu meter manufacturer")])
    mcert = _cert(seed, mname, mkey.public_key(), root_cert.subject, root_key, "ds", "manufacturer")
    files["manufacturer-ds.pem"] = mcert.public_bytes(serialization.Encoding.PEM)
    files["manufacturer-ds.key"] = _pem_key(mkey)
    for name, key, cert in xml_signing(seed, root_cert, root_key):
        files[f"{name}.pem"] = cert.public_bytes(serialization.Encoding.PEM)
        files[f"{name}.key"] = _pem_key(key)
    files["keystore.json"] = (json.dumps(keystore_json(issued), indent=2, sort_keys=True) + "\n").encode()
    files["pki.json"] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    # Write everything beside, then rename: a crash never leaves a half-written PKI.
    for name, data in files.items():
        tmp = root / f".{name}.tmp"
        tmp.write_bytes(data)
    for name in files:
        (root / f".{name}.tmp").replace(root / name)
    return manifest
