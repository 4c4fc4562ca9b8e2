"""The test PKI's keys derived on demand: what a fleet holds instead of every key of every premises.

:func:`~emulator.pki.generate.build` derives every key and signs every certificate up front,
and each party then got its own copy of the whole store (its private keys, everyone's public
keys): a fleet of N premises held N copies of an 8N-key store, memory growing as N squared.
Every key is a function of (seed, EUI, usage), so nothing needs holding at rest:

* :class:`DerivedKeys` is the whole PKI of premises ``0 .. premises-1`` (remote parties, devices,
  the root trust anchor). A key is derived, with its certificate, the first time it is asked
  for, and kept in a bounded least-recently-used cache; keys added explicitly are kept for good.
* :meth:`DerivedKeys.view` is one party's view (its own private keys, every other party's
  public key) as a :class:`KeyView` that holds only what the party itself added (a replaced
  certificate) and the ECDH secrets and KDF prefixes it has used: a few hundred bytes at rest.

Iterating a :class:`DerivedKeys` lists what it holds now (explicit and cached keys), not every
key it could derive.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator

from cryptography.hazmat.primitives import serialization

from emulator.gbcs import identities
from emulator.gbcs.credentials import ROOT_EUI
from emulator.gbcs.keys import KeyStore, PartyKey
from emulator.pki.generate import Issued, device_premises, issue_device, issue_party, root_ca

#: Derived keys kept at once: a busy DSP's working set (its own keys and the meters it is
#: talking to), not the fleet (a meter's view keeps the ECDH secret, not the key).
CACHE_KEYS = 4096
_PARTY_NAMES = {eui: name for name, eui in identities.REMOTE_PARTIES.items()}
_DERIVED_USAGES = ("ds", "ka")


def _party_key(item: Issued) -> PartyKey:
    public = item.key.public_key()
    return PartyKey(item.eui, item.usage, public, item.key,  # type: ignore[arg-type]
                    item.cert.public_bytes(serialization.Encoding.DER))


class DerivedKeys(KeyStore):
    """Every key of the test PKI of ``seed`` for premises ``0 .. premises-1``, derived on first use."""

    def __init__(self, seed: int, premises: int, cache_keys: int = CACHE_KEYS) -> None:
        super().__init__()
        self.seed = seed
        self.premises = premises
        self.cache_keys = cache_keys
        self.derivations = 0
        self._root, self._root_key = root_ca(seed)
        self._cache: OrderedDict[tuple[bytes, str], PartyKey] = OrderedDict()
        root_public = self._root_key.public_key()
        self.add_public(ROOT_EUI, "ds", root_public, self._root.public_bytes(serialization.Encoding.DER))

    def _find(self, eui: bytes, usage: str) -> PartyKey | None:
        held = self._keys.get((eui, usage))
        if held is not None:
            return held
        cached = self._cache.get((eui, usage))
        if cached is not None:
            self._cache.move_to_end((eui, usage))
            return cached
        derived = self._derive(eui, usage)
        if derived is not None:
            self._cache[(eui, usage)] = derived
            if len(self._cache) > self.cache_keys:
                self._cache.popitem(last=False)
        return derived

    def _derive(self, eui: bytes, usage: str) -> PartyKey | None:
        if usage not in _DERIVED_USAGES:
            return None
        name = _PARTY_NAMES.get(eui)
        if name is not None:
            self.derivations += 1
            return _party_key(issue_party(self.seed, name, usage, self._root, self._root_key))
        device = device_premises(eui)
        if device is None or device[0] >= self.premises:
            return None
        self.derivations += 1
        return _party_key(issue_device(self.seed, device[0], device[1], usage, self._root, self._root_key))

    def view(self, own: Iterable[bytes]) -> KeyView:
        """Party view: private keys of ``own`` only, every other key public."""
        return KeyView(self, frozenset(own))

    def __iter__(self) -> Iterator[PartyKey]:
        return iter([*self._keys.values(), *self._cache.values()])

    def __len__(self) -> int:
        return len(self._keys) + len(self._cache)


class KeyView(KeyStore):
    """One party's view of a :class:`DerivedKeys`: what it adds itself shadows the source."""

    def __init__(self, source: DerivedKeys, own: frozenset[bytes]) -> None:
        super().__init__()
        self.source = source
        self.own = own

    def _find(self, eui: bytes, usage: str) -> PartyKey | None:
        held = self._keys.get((eui, usage))
        if held is not None:
            return held
        key = self.source._find(eui, usage)
        if key is None or key.private is None or eui in self.own:
            return key
        return PartyKey(key.eui, key.usage, key.public, None, key.certificate_der)

    def __iter__(self) -> Iterator[PartyKey]:
        return iter([self._find(k.eui, k.usage) or k for k in self.source] + list(self._keys.values()))

