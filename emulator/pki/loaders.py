"""Load keys into a :class:`~emulator.gbcs.keys.KeyStore` from files (an adapter: it reads files).

Two layouts: a directory of ``<eui>[-pp]-{ds|ka}.{pem|key}`` files (what ``pki init``
writes, and the RTDS reference keystore), and a DCC Boxed style ``keystore.json``.
Certificate dates are not checked: the public test certificates expired in 2025.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from emulator.gbcs.keys import KeyStore, Usage


class KeyLoadError(ValueError):
    """A key file that cannot be used; the message names the file and the problem."""


def _usage(name: str) -> tuple[bytes, Usage] | None:
    """``00db1234567890a0-ka`` / ``90b3d51f30010000-pp-ka`` -> (EUI, usage)."""
    parts = name.split("-")
    if len(parts) not in (2, 3) or len(parts[0]) != 16:
        return None
    try:
        eui = bytes.fromhex(parts[0])
    except ValueError:
        return None
    if parts[1:] == ["ds"]:
        return eui, "ds"
    if parts[1:] == ["ka"]:
        return eui, "ka"
    if parts[1:] == ["pp", "ka"]:
        return eui, "ka-pp"
    return None


def load_public(data: bytes, source: str) -> tuple[ec.EllipticCurvePublicKey, bytes | None]:
    """A P-256 public key from a PEM certificate or a PEM public key; returns (key, cert DER)."""
    try:
        if b"BEGIN CERTIFICATE" in data:
            cert = x509.load_pem_x509_certificate(data)
            key = cert.public_key()
            der: bytes | None = cert.public_bytes(serialization.Encoding.DER)
        else:
            key = serialization.load_pem_public_key(data)  # type: ignore[assignment]
            der = None
    except ValueError as e:
        raise KeyLoadError(f"{source}: not a PEM certificate or public key ({e})") from e
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise KeyLoadError(f"{source}: not a P-256 key")
    return key, der


def load_private(data: bytes, source: str) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as e:
        raise KeyLoadError(f"{source}: not an unencrypted PKCS#8 PEM private key ({e})") from e
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise KeyLoadError(f"{source}: not a P-256 private key")
    return key


def load_directory(path: Path | str, into: KeyStore | None = None) -> KeyStore:
    """Every ``<eui>[-pp]-{ds|ka}.{pem|key}`` file under ``path`` (other files are ignored)."""
    root = Path(path)
    if not root.is_dir():
        raise KeyLoadError(f"{root}: not a directory of keys")
    store = into if into is not None else KeyStore()
    found = 0
    for file in sorted(root.iterdir()):
        if file.suffix not in (".pem", ".key"):
            continue
        parsed = _usage(file.stem.lower())
        if parsed is None:
            continue
        eui, usage = parsed
        data = file.read_bytes()
        if file.suffix == ".key":
            store.add_private(eui, usage, load_private(data, str(file)))
        else:
            public, der = load_public(data, str(file))
            if store.has(eui, usage, private=True):
                if store.public(eui, usage).public_numbers() != public.public_numbers():
                    raise KeyLoadError(f"{file}: certificate does not match the private key beside it")
                continue
            store.add_public(eui, usage, public, der)
        found += 1
    if not found:
        raise KeyLoadError(f"{root}: no <eui>-ds/-ka .pem or .key files")
    return store


_USAGES: dict[str, Usage] = {"digitalSignature": "ds", "keyAgreement": "ka"}


def load_keystore_json(path: Path | str, into: KeyStore | None = None) -> KeyStore:
    """A DCC Boxed ``keystore.json``: {eui: {digitalSignature|keyAgreement: {serial: entry}}},
    each entry with a PEM ``certificate`` and/or PKCS#8 ``privateKey`` (and ``name``, ``role``).
    Entries named ``*PP-ka`` (prepayment) go under usage ``ka-pp``."""
    file = Path(path)
    try:
        doc: Any = json.loads(file.read_text())
    except (OSError, ValueError) as e:
        raise KeyLoadError(f"{file}: cannot read JSON ({e})") from e
    if not isinstance(doc, dict):
        raise KeyLoadError(f"{file}: expected an object keyed by EUI-64")
    store = into if into is not None else KeyStore()
    for eui_text, usages in doc.items():
        try:
            eui = bytes.fromhex(eui_text)
        except ValueError:
            raise KeyLoadError(f"{file}: key {eui_text!r} is not an EUI-64 in hex") from None
        if len(eui) != 8 or not isinstance(usages, dict):
            raise KeyLoadError(f"{file}: {eui_text}: expected 16 hex digits mapping to key usages")
        for usage_name, serials in usages.items():
            if usage_name not in _USAGES or not isinstance(serials, dict):
                raise KeyLoadError(f"{file}: {eui_text}: unknown key usage {usage_name!r}")
            for serial, entry in serials.items():
                where = f"{file}: {eui_text}/{usage_name}/{serial}"
                if not isinstance(entry, dict):
                    raise KeyLoadError(f"{where}: not an object")
                usage: Usage = _USAGES[usage_name]
                if usage == "ka" and str(entry.get("name", "")).lower().endswith("pp-ka"):
                    usage = "ka-pp"
                if isinstance(entry.get("privateKey"), str):
                    der = None
                    if isinstance(entry.get("certificate"), str):
                        _, der = load_public(entry["certificate"].encode(), where)
                    if not store.has(eui, usage, private=True):
                        store.add_private(eui, usage, load_private(entry["privateKey"].encode(), where), der)
                elif isinstance(entry.get("certificate"), str):
                    public, der = load_public(entry["certificate"].encode(), where)
                    if not store.has(eui, usage):
                        store.add_public(eui, usage, public, der)
                else:
                    raise KeyLoadError(f"{where}: has neither 'privateKey' nor 'certificate'")
    return store


def load_keys(path: Path | str) -> KeyStore:
    """A directory or a ``keystore.json``, whichever ``path`` is."""
    p = Path(path)
    if p.is_file() and p.suffix == ".json":
        return load_keystore_json(p)
    return load_directory(p)
