"""Key store: the P-256 keys of devices and remote parties, in memory.

The GBCS layer never reads files; :mod:`emulator.pki` loads PEM/PKCS#8 files and
DCC Boxed ``keystore.json`` into a :class:`KeyStore`. Each party has up to two key
pairs, Digital Signing (``ds``) and Key Agreement (``ka``); prepayment KA keys of the
reference set (``-pp``) are held under usage ``ka-pp``. A public key alone (from a
certificate) is enough to verify; the private key is needed to sign or to MAC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import ec

from emulator.gbcs.errors import UnknownKeyError

Usage = Literal["ds", "ka", "ka-pp"]


@dataclass(frozen=True, slots=True)
class PartyKey:
    """One key of one party: the public key, and the private key when we hold it."""

    eui: bytes
    usage: Usage
    public: ec.EllipticCurvePublicKey
    private: ec.EllipticCurvePrivateKey | None = None
    certificate_der: bytes | None = None


class KeyStore:
    """EUI-64 + usage → key. ECDH shared secrets are cached per party pair."""

    def __init__(self) -> None:
        self._keys: dict[tuple[bytes, str], PartyKey] = {}
        self._shared: dict[tuple[bytes, bytes, str], bytes] = {}
        #: Per-party-pair state the security layer derives from shared secrets (KDF prefixes).
        self.derived_cache: dict[Any, Any] = {}

    def add(self, key: PartyKey) -> None:
        """Add or replace a key. A private key replaces a public-only entry, never the reverse."""
        if len(key.eui) != 8:
            raise ValueError(f"EUI-64 must be 8 bytes, got {len(key.eui)}")
        old = self._find(key.eui, key.usage)
        if (old is not None and old.private is not None and key.private is None
                and old.public.public_numbers() == key.public.public_numbers()):
            return
        self._keys[(key.eui, key.usage)] = key
        self._shared = {k: v for k, v in self._shared.items() if key.eui not in (k[0], k[1])}
        self.derived_cache.clear()

    def add_private(self, eui: bytes, usage: Usage, private: ec.EllipticCurvePrivateKey,
                    certificate_der: bytes | None = None) -> None:
        self.add(PartyKey(eui, usage, private.public_key(), private, certificate_der))

    def add_public(self, eui: bytes, usage: Usage, public: ec.EllipticCurvePublicKey,
                   certificate_der: bytes | None = None) -> None:
        self.add(PartyKey(eui, usage, public, None, certificate_der))

    def _find(self, eui: bytes, usage: str) -> PartyKey | None:
        """The key held, or None. A store that derives keys on demand (a fleet's) extends this."""
        return self._keys.get((eui, usage))

    def get(self, eui: bytes, usage: Usage) -> PartyKey:
        key = self._find(eui, usage)
        if key is None:
            raise UnknownKeyError(eui, usage)
        return key

    def has(self, eui: bytes, usage: Usage, *, private: bool = False) -> bool:
        key = self._find(eui, usage)
        return key is not None and (not private or key.private is not None)

    def public(self, eui: bytes, usage: Usage) -> ec.EllipticCurvePublicKey:
        return self.get(eui, usage).public

    def private(self, eui: bytes, usage: Usage) -> ec.EllipticCurvePrivateKey:
        key = self.get(eui, usage)
        if key.private is None:
            raise UnknownKeyError(eui, f"private {usage}")
        return key.private

    def shared_secret(self, a: bytes, b: bytes, usage: Usage = "ka") -> bytes:
        """ECDH Z between parties ``a`` and ``b``: whichever side's private key we hold.

        Cached per (unordered) pair, since ECDH costs far more than the rest of a frame.
        """
        first, second = (a, b) if a <= b else (b, a)
        cache_key = (first, second, usage)
        z = self._shared.get(cache_key)
        if z is not None:
            return z
        ka_a = self._find(a, usage)
        ka_b = self._find(b, usage)
        if ka_a is None:
            raise UnknownKeyError(a, usage)
        if ka_b is None:
            raise UnknownKeyError(b, usage)
        if ka_a.private is not None:
            z = ka_a.private.exchange(ec.ECDH(), ka_b.public)
        elif ka_b.private is not None:
            z = ka_b.private.exchange(ec.ECDH(), ka_a.public)
        else:
            raise UnknownKeyError(a, f"private {usage} (nor one for {b.hex().upper()})")
        self._shared[cache_key] = z
        return z

    def __iter__(self) -> Iterator[PartyKey]:
        return iter(list(self._keys.values()))

    def __len__(self) -> int:
        return len(self._keys)

    def merge(self, other: KeyStore) -> None:
        for key in other:
            self.add(key)
