"""Loading DUIS reference material from disk for the gateway: the XSD and the XML-signing keys.

The DUIS schema and DCC Boxed's ZAZ1 test keys are reference data kept beside the project
(``../shared/duis``), never packaged: the DSP finds them through ``--duis-dir`` or
``SMETS2_DUIS_DIR``, falling back to ``../shared/duis`` next to a source checkout. ``pki init``
writes XML-signing keys under the same file names, so its directory works as a key directory too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from emulator.dsp.duis_xml import DuisSchema
from emulator.dsp.xmldsig import TrustStore, XmlIdentity, XmlSigner, eui_of

SCHEMA_FILE = "DUIS Schema V5.4.xsd"
DSP_EUI = "90B3D51F30000002"
_XS = "http://www.w3.org/2001/XMLSchema"


class DuisFilesError(RuntimeError):
    pass


def default_dir() -> Path:
    """``$SMETS2_DUIS_DIR``, else ``../shared/duis`` beside the source checkout."""
    env = os.environ.get("SMETS2_DUIS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "duis"


class _Local(etree.Resolver):
    """Resolves the schema's imports to files in its own folder, never the network."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def resolve(self, system_url: str | None, public_id: str | None, context: Any) -> Any:
        path = self.folder / Path((system_url or "").replace("%20", " ")).name
        return self.resolve_filename(str(path), context) if path.is_file() else None


def load_schema(xsd_dir: Path) -> DuisSchema:
    path = xsd_dir / SCHEMA_FILE
    if not path.is_file():
        raise DuisFilesError(f"no DUIS schema at {path} (give --duis-dir or SMETS2_DUIS_DIR)")
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_Local(xsd_dir))
    doc = etree.parse(str(path), parser)
    for imp in doc.getroot().iter(f"{{{_XS}}}import"):  # libxml2 does not resolve names with spaces
        loc = imp.get("schemaLocation")
        if loc:
            imp.set("schemaLocation", "duis-xsd:/" + loc.replace(" ", "%20"))
    return DuisSchema(etree.XMLSchema(doc))


def load_trust(keys_dir: Path, roles: Mapping[str, tuple[str, ...]]) -> TrustStore:
    """Every certificate in ``keys_dir`` registered under the EUI it names, with that user's roles."""
    store = TrustStore()
    for pem in sorted(keys_dir.glob("*.pem")):
        try:
            cert = x509.load_pem_x509_certificate(pem.read_bytes())
            eui = eui_of(cert)
        except ValueError:
            continue  # not an XML-signing certificate (e.g. a CA)
        store.add(XmlIdentity(eui, roles.get(eui, ()), cert))
    if not store.identities():
        raise DuisFilesError(f"no XML-signing certificates in {keys_dir}")
    return store


def load_signer(keys_dir: Path, eui: str, prefix: str = "xml-sign") -> XmlSigner:
    """The signer ``{prefix}-{EUI}-ds.key`` / ``.pem`` (``dsp-xml-sign`` for the DSP)."""
    stem = keys_dir / f"{prefix}-{eui.upper()}-ds"
    try:
        key = serialization.load_pem_private_key(stem.with_suffix(".key").read_bytes(), None)
        cert = x509.load_pem_x509_certificate(stem.with_suffix(".pem").read_bytes())
    except (OSError, ValueError) as e:
        raise DuisFilesError(f"cannot load the XML-signing key {stem}.key/.pem: {e}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise DuisFilesError(f"{stem}.key is not an EC key")
    return XmlSigner(key, cert)


def load_dsp_signer(keys_dir: Path) -> XmlSigner:
    return load_signer(keys_dir, DSP_EUI, "dsp-xml-sign")
