"""A small GBCS-like PKI for credential tests: a root (OU 00), an issuing CA (OU 07, as the
reference's Z1) and remote-party certificates (subject OU = role in hex, x500UniqueIdentifier
= EUI-64, key usage DS or KA), plus the commands a party sends to an ESME."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from emulator.devices.chf import Chf
from emulator.devices.endpoint import GbcsEndpoint
from emulator.devices.esme import Esme
from emulator.devices.gsme import Gsme
from emulator.devices.profile import MeterProfile
from emulator.gbcs import credentials as cred
from emulator.gbcs import frames, security
from emulator.gbcs.frames import Cra, Message
from emulator.gbcs.identities import (
    ACB,
    CHF,
    ESME,
    GSME,
    NETWORK_OPERATOR,
    RECOVERY,
    SECOND_SUPPLIER,
    SUPPLIER,
    TRANSITIONAL_COS,
    WAN_PROVIDER,
)
from emulator.gbcs.keys import KeyStore
from emulator.zigbee import zcl
from emulator.zigbee.clusters import tunneling
from emulator.zigbee.packet import CLUSTER_TUNNELING, HanPacket

NOW = 1767225600.0  # 2026-01-01
ROLES = {SUPPLIER: 2, SECOND_SUPPLIER: 2, NETWORK_OPERATOR: 3, ACB: 4, TRANSITIONAL_COS: 5, WAN_PROVIDER: 6,
         RECOVERY: 1}
_FROM, _TO = dt.datetime(2025, 1, 1, tzinfo=dt.UTC), dt.datetime(2125, 1, 1, tzinfo=dt.UTC)


def _key(n: int) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(1000 + n, ec.SECP256R1())


def _name(ou: str, cn: str | None = None, eui: bytes | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou)]
    if cn:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    if eui is not None:
        attrs.append(x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, eui.hex().upper()))
    return x509.Name(attrs)


def certificate(subject: x509.Name, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
                issuer_key: ec.EllipticCurvePrivateKey, *, ds: bool = True, ca: bool = False) -> x509.Certificate:
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(_FROM).not_valid_after(_TO))
    if ca:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
    else:
        b = b.add_extension(x509.KeyUsage(ds, False, False, False, not ds, False, False, False, False), critical=True)
    return b.sign(issuer_key, hashes.SHA256())


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def b64(cert: x509.Certificate) -> str:
    return base64.b64encode(der(cert)).decode()


@dataclass
class Pki:
    root_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: _key(1))
    ca_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: _key(2))
    keys: KeyStore = field(default_factory=KeyStore)  # every party's private keys (the senders' side)

    def __post_init__(self) -> None:
        self.root_name = _name("00", "ZA")
        self.root = certificate(self.root_name, self.root_key, self.root_name, self.root_key, ca=True)
        self.ca_name = _name("07", "Z1")
        self.ca = certificate(self.ca_name, self.ca_key, self.root_name, self.root_key, ca=True)
        for i, (eui, role) in enumerate(ROLES.items()):
            for j, usage in enumerate(("ds", "ka")):
                key = _key(10 + 2 * i + j)
                cert = certificate(_name(f"{role:02X}", None, eui), key, self.ca_name, self.ca_key, ds=usage == "ds")
                self.keys.add_private(eui, usage, key, der(cert))  # type: ignore[arg-type]
        for i, eui in enumerate((ESME, CHF, GSME)):
            for j, usage in enumerate(("ds", "ka")):
                key = _key(90 + 2 * i + j)
                cert = certificate(_name("00", eui.hex().upper()), key, self.ca_name, self.ca_key, ds=usage == "ds")
                self.keys.add_private(eui, usage, key, der(cert))  # type: ignore[arg-type]

    def party_certificate(self, eui: bytes, role: int, *, ds: bool = True, seed: int = 200,
                          issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None = None,
                          cn: str | None = None) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        """A fresh certificate for ``eui`` in ``role`` (issued by Z1 unless ``issuer``)."""
        key = _key(seed)
        name, signer = issuer or (self.ca_name, self.ca_key)
        return certificate(_name(f"{role:02X}", cn, eui), key, name, signer, ds=ds), key

    def device_keys(self, device: bytes = ESME) -> KeyStore:
        """A device's view: its own private keys, the parties' public keys, the root anchor."""
        view = KeyStore()
        for k in self.keys:
            if k.eui == device:
                view.add(k)
            else:
                view.add_public(k.eui, k.usage, k.public, k.certificate_der)
        public = self.root.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        view.add_public(cred.ROOT_EUI, "ds", public, der(self.root))
        return view

    def esme(self) -> Esme:
        return Esme(ESME, GbcsEndpoint(ESME, self.device_keys()), CHF, MeterProfile(), NOW)

    def chf(self) -> Chf:
        return Chf(CHF, GbcsEndpoint(CHF, self.device_keys(CHF)), bytes.fromhex("0123ABCD"))

    def gsme(self) -> Gsme:
        return Gsme(GSME, GbcsEndpoint(GSME, self.device_keys(GSME)), CHF, MeterProfile(image_type=2), NOW)

    def command(self, originator: bytes, code: int, payload: bytes, counter: int, *, sign: bool = True,
                target: bytes = ESME) -> bytes:
        msg = Message(Cra.COMMAND, counter, originator, target, code, payload, mac_protected=True)
        if sign:
            msg = security.sign(self.keys, msg)
        return security.seal(self.keys, msg)


def gbcs_out(packets: list[HanPacket]) -> list[Message]:
    """The GBCS messages an ESME sent up its tunnel (responses and alerts)."""
    out = []
    for p in packets:
        if p.cluster != CLUSTER_TUNNELING:
            continue
        _, command = zcl.decode_command(p.cluster, p.payload)
        if isinstance(command, tunneling.TransferDataServer):
            out.append(frames.decode(command.data))
        elif isinstance(command, tunneling.TransferDataClient):  # a GSME: GB PUT header first
            out.append(frames.decode(tunneling.split_gb_header(command.data)[2]))
    return out
