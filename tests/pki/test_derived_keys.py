"""Keys derived on use (issue 13): the same keys and certificates ``pki init`` issues, a party's
view holding no other party's private key, and the EUI scheme beyond premises 0x5678."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization

from emulator.gbcs import identities
from emulator.gbcs.credentials import ROOT_EUI
from emulator.gbcs.errors import UnknownKeyError
from emulator.pki.derived import DerivedKeys
from emulator.pki.generate import MAX_PREMISES, build, derive_key, device_eui, device_premises


def test_derived_keys_are_the_issued_keys():
    issued, root, _, _ = build(3, 2)
    keys = DerivedKeys(3, 2)
    for item in issued:
        key = keys.get(item.eui, item.usage)  # type: ignore[arg-type]
        assert key.certificate_der == item.cert.public_bytes(serialization.Encoding.DER)
        assert key.private is not None and key.private.private_numbers() == item.key.private_numbers()
    assert keys.get(ROOT_EUI, "ds").public.public_numbers() == root.public_key().public_numbers()
    assert keys.get(ROOT_EUI, "ds").private is None


def test_nothing_is_derived_until_asked_and_outside_the_range_nothing_is():
    keys = DerivedKeys(1, 5)
    assert keys.derivations == 0 and len(keys) == 1  # the root trust anchor only
    with pytest.raises(UnknownKeyError):
        keys.get(device_eui(5, "ESME"), "ka")  # premises 5 is not in a 5-premises PKI
    with pytest.raises(UnknownKeyError):
        keys.get(device_eui(0, "ESME"), "ka-pp")
    keys.get(device_eui(4, "ESME"), "ka")
    keys.get(device_eui(4, "ESME"), "ka")
    assert keys.derivations == 1


def test_the_cache_is_bounded_and_forgets_nothing_that_matters():
    keys = DerivedKeys(1, 10, cache_keys=4)
    first = keys.get(device_eui(0, "CHF"), "ds").public.public_numbers()
    for i in range(10):
        keys.get(device_eui(i, "ESME"), "ds")
    assert len(keys) <= 5  # 4 cached + the root
    assert keys.get(device_eui(0, "CHF"), "ds").public.public_numbers() == first  # derived again, the same


def test_a_view_holds_its_own_private_keys_only_and_its_changes_stay_its_own():
    keys = DerivedKeys(1, 2)
    esme, other = device_eui(1, "ESME"), device_eui(0, "ESME")
    mine = keys.view([esme])
    assert mine.has(esme, "ka", private=True)
    assert mine.has(other, "ka") and not mine.has(other, "ka", private=True)
    assert mine.has(identities.SUPPLIER, "ds") and not mine.has(identities.SUPPLIER, "ds", private=True)
    # A replaced supplier key (as CS02b installs) is the view's alone.
    replacement = derive_key(9, identities.SUPPLIER, "ds")
    mine.add_public(identities.SUPPLIER, "ds", replacement.public_key())
    assert mine.public(identities.SUPPLIER, "ds").public_numbers() == replacement.public_key().public_numbers()
    theirs = keys.view([other])
    assert theirs.public(identities.SUPPLIER, "ds").public_numbers() != replacement.public_key().public_numbers()
    # ECDH agrees from both sides.
    assert mine.shared_secret(esme, other) == theirs.shared_secret(esme, other)


def test_eui_scheme_reaches_beyond_premises_0x5678():
    assert device_eui(0, "ESME") == bytes.fromhex("00DB1234567890A0")
    assert device_eui(1, "CHF") == bytes.fromhex("00DB1234000190A2")
    assert device_eui(0x5678, "CHF") == bytes.fromhex("00DB1234000090A2")  # the value premises 0 leaves free
    assert device_eui(0x10000, "ESME") == bytes.fromhex("00DB1234567891A0")
    assert device_eui(0x10001, "GPF") == bytes.fromhex("00DB1234000191A3")
    assert device_eui(MAX_PREMISES, "CHF") == device_eui(0, "CHF")  # why the limit is there
    assert len({device_eui(i, "CHF") for i in range(0x5670, 0x10010)}) == 0x10010 - 0x5670
    for i in (0, 1, 0x5678, 0xFFFF, 0x10000, 20_000, MAX_PREMISES - 1):
        for kind in ("ESME", "GSME", "CHF", "GPF"):
            assert device_premises(device_eui(i, kind)) == (i, kind)
    assert device_premises(identities.SUPPLIER) is None and device_premises(bytes(8)) is None
