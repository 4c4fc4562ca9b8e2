"""The test PKI's Smart Energy side: a seeded ECQV CA on sect283k1 that issues each emulated
device (CHF, ESME, GSME) a suite 2 implicit certificate for CBKE (docs/cbke.md).

Everything follows from the seed, as in :mod:`emulator.pki.generate`: the CA key, each
requester's key, the CA's per-certificate nonce and the serial. Issuing costs two scalar
multiplications, so results are cached per (seed, EUI) for the life of the process.

The CA is the emulator's own: issuer id ``SMETSEMU`` (53 4D 45 54 53 45 4D 55). No real meter
trusts it; a real device under test holds certificates from its maker's CA (the Certicom/
Zigbee SE test CA on development units, issuer ``TESTSECA``), so against real hardware the
CHF needs a certificate from a CA that device trusts (docs/cbke.md).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from emulator.devices.chf import Chf
from emulator.devices.key_establishment import ChfKeyEstablishment, MeterKeyEstablishment
from emulator.devices.meter import Meter
from emulator.zigbee import sect283k1 as curve
from emulator.zigbee.cbke import CbkeCredentials
from emulator.zigbee.cbke_crypto import CertificateFields, derive_scalar, ecqv_issue, ecqv_private_key
from emulator.zigbee.sect283k1 import Point

TEST_CA_ISSUER = b"SMETSEMU"
ROGUE_CA_ISSUER = b"ROGUECA!"  # a CA nobody trusts: for refused-join tests and faulty-device profiles
VALID_FROM = 1_735_689_600  # 2025-01-01 00:00:00 UTC; the certificates never expire (0xFFFFFFFF)


@dataclass(frozen=True, slots=True)
class SeCa:
    """A suite 2 CA: its issuer id and key pair."""

    issuer: bytes
    private_key: int
    public_key: Point


@functools.lru_cache(maxsize=16)
def se_ca(seed: int, issuer: bytes = TEST_CA_ISSUER) -> SeCa:
    """The seed's CA (``issuer`` other than the default gives an unrelated CA with that id)."""
    private = derive_scalar(_secret(seed), b"se-ca", issuer)
    return SeCa(issuer, private, curve.mul(private, curve.G))


@functools.lru_cache(maxsize=1024)
def issue(seed: int, subject: bytes, issuer: bytes = TEST_CA_ISSUER) -> CbkeCredentials:
    """``subject``'s certificate and private key from the seed's CA (``issuer``), trusting that CA."""
    ca = se_ca(seed, issuer)
    secret = _secret(seed)
    request_private = derive_scalar(secret, b"se-request", issuer, subject)
    nonce = derive_scalar(secret, b"se-ca-nonce", issuer, subject)
    serial = hashlib.sha256(b"se-serial" + issuer + subject + secret).digest()[:8]
    fields = CertificateFields(serial, issuer, subject, VALID_FROM)
    cert, contribution = ecqv_issue(ca.private_key, curve.mul(request_private, curve.G), nonce, fields)
    private = ecqv_private_key(cert, request_private, contribution)
    return CbkeCredentials(cert.encode(), private, {ca.issuer: ca.public_key})


def trusting(credentials: CbkeCredentials, *cas: SeCa) -> CbkeCredentials:
    """The same certificate and key, trusting ``cas`` instead."""
    return CbkeCredentials(credentials.certificate, credentials.private_key,
                           {ca.issuer: ca.public_key for ca in cas})


def enable_cbke(seed: int, chf: Chf, meters: list[Meter], *, issuer: bytes = TEST_CA_ISSUER) -> None:
    """Give a premises' machines CBKE with certificates from the seed's CA (meters from ``issuer``'s
    CA: another id makes them untrusted by the CHF, as a device with a foreign certificate is)."""
    chf.key_establishment = ChfKeyEstablishment(chf.eui, issue(seed, chf.eui))
    for meter in meters:
        own = issue(seed, meter.eui, issuer)
        meter.key_establishment = MeterKeyEstablishment(meter.eui, meter.chf, trusting(own, se_ca(seed)))


def _secret(seed: int) -> bytes:
    return hashlib.sha256(f"se-test-pki/{seed}".encode()).digest()
