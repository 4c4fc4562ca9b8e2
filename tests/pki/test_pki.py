"""The test PKI: reproducible, loadable, and interoperable with the reference keys (DV-3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from emulator.gbcs import identities
from emulator.pki import KeyLoadError, load_directory, load_keystore_json
from emulator.pki.generate import PkiError, device_eui, init


def test_dv3_pki_init_is_reproducible_and_complete(tmp_path: Path):
    a, b = tmp_path / "a", tmp_path / "b"
    init(a, seed=7, premises=2)
    init(b, seed=7, premises=2)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    for eui in (*identities.REMOTE_PARTIES.values(), *(device_eui(p, k) for p in (0, 1)
                                                      for k in ("ESME", "GSME", "CHF", "GPF"))):
        for usage in ("ds", "ka"):
            assert (a / f"{eui.hex()}-{usage}.pem").is_file()
            assert (a / f"{eui.hex()}-{usage}.key").is_file()
    assert device_eui(0, "ESME") == identities.ESME
    assert len({device_eui(p, k) for p in range(5) for k in ("ESME", "GSME", "CHF", "GPF")}) == 20


def test_other_seed_other_keys_and_no_silent_overwrite(tmp_path: Path):
    init(tmp_path / "a", seed=1)
    init(tmp_path / "b", seed=2)
    assert (tmp_path / "a" / "00db1234567890a0-ka.key").read_bytes() != \
        (tmp_path / "b" / "00db1234567890a0-ka.key").read_bytes()
    init(tmp_path / "a", seed=1)  # same PKI again: idempotent
    with pytest.raises(PkiError, match="--force"):
        init(tmp_path / "a", seed=3)
    init(tmp_path / "a", seed=3, force=True)


def test_certificates_chain_to_the_root_and_carry_the_eui(tmp_path: Path):
    init(tmp_path, seed=1)
    root = x509.load_pem_x509_certificate((tmp_path / "root-ca.pem").read_bytes())
    for path in tmp_path.glob("*-ds.pem"):
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        cert.verify_directly_issued_by(root)
    esme = x509.load_pem_x509_certificate((tmp_path / "00db1234567890a0-ka.pem").read_bytes())
    san = esme.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert identities.ESME in san[0].value  # hardwareModuleName carries the EUI-64
    supplier = x509.load_pem_x509_certificate((tmp_path / "90b3d51f30010000-ds.pem").read_bytes())
    assert identities.SUPPLIER.hex().upper() in supplier.subject.rfc4514_string()


def test_keystore_json_matches_directory_and_dcc_boxed_layout(tmp_path: Path):
    init(tmp_path, seed=1)
    doc = json.loads((tmp_path / "keystore.json").read_text())
    entry = next(iter(doc["90b3d51f30010000"]["digitalSignature"].values()))
    assert entry["role"] == 2 and entry["certificate"].startswith("-----BEGIN CERTIFICATE")
    assert entry["privateKey"].startswith("-----BEGIN PRIVATE KEY")
    from_json = load_keystore_json(tmp_path / "keystore.json")
    from_dir = load_directory(tmp_path)
    for key in from_dir:
        other = from_json.private(key.eui, key.usage)
        assert other.private_numbers() == from_dir.private(key.eui, key.usage).private_numbers()


def test_loaders_name_the_bad_file(tmp_path: Path):
    (tmp_path / "00db1234567890a0-ka.pem").write_text("not a certificate")
    with pytest.raises(KeyLoadError, match=r"00db1234567890a0-ka\.pem"):
        load_directory(tmp_path)
    with pytest.raises(KeyLoadError, match="not a directory"):
        load_directory(tmp_path / "missing")
    (tmp_path / "k.json").write_text('{"zz": {}}')
    with pytest.raises(KeyLoadError, match="zz"):
        load_keystore_json(tmp_path / "k.json")


def test_reference_keystore_loads_and_ecdh_agrees(rtds_keys):
    device_certs = [k for k in rtds_keys if k.eui.startswith(b"\x00\xdb")]
    assert len({k.eui for k in device_certs}) == 200
    assert rtds_keys.has(identities.ACB, "ka", private=True)
    esme_priv = rtds_keys.private(identities.ESME, "ka")
    acb_priv = rtds_keys.private(identities.ACB, "ka")
    z1 = acb_priv.exchange(ec.ECDH(), rtds_keys.public(identities.ESME, "ka"))
    z2 = esme_priv.exchange(ec.ECDH(), rtds_keys.public(identities.ACB, "ka"))
    assert z1 == z2
