"""DV-3 / DV-6 at the device boundary: command checks, responses, alerts and their retries."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from emulator.devices.alerts import AlertOutbox, alert_is_critical
from emulator.devices.endpoint import ALERT_AUTH_FAILURE, ALERT_NO_AUTHORITY, GbcsEndpoint, Refused
from emulator.gbcs import frames, security
from emulator.gbcs.frames import Cra, Message
from emulator.gbcs.identities import ACB, ESME, NETWORK_OPERATOR, SECOND_SUPPLIER, SUPPLIER
from emulator.gbcs.keys import KeyStore

NOW = 1767225600.0


def _keys() -> KeyStore:
    ks = KeyStore()
    for i, eui in enumerate((ACB, ESME, SUPPLIER, NETWORK_OPERATOR, SECOND_SUPPLIER)):
        for j, usage in enumerate(("ds", "ka")):
            ks.add_private(eui, usage, ec.derive_private_key(50 + 10 * i + j, ec.SECP256R1()))  # type: ignore[arg-type]
    return ks


def _cmd(keys: KeyStore, counter: int, code: int = 0x0059, originator: bytes = SUPPLIER) -> bytes:
    msg = Message(Cra.COMMAND, counter, originator, ESME, code, b"\xd9\x20\x00\x00\x01\x00", mac_protected=True)
    if code == 0x0012:  # CS06 is critical: signed by the supplier, then MACed
        msg = security.sign(keys, msg)
    return security.seal(keys, msg)


def test_dv3_device_accepts_then_refuses_the_replay():
    keys = _keys()
    ep = GbcsEndpoint(ESME, keys)
    wire = _cmd(keys, 1000)
    msg = ep.accept(wire)
    response = frames.decode(ep.respond(msg, b"\xda", NOW))
    assert response.cra is Cra.RESPONSE and response.counter == 1000 and response.mac is not None
    security.verify_mac(keys, response)
    with pytest.raises(Refused) as e:
        ep.accept(wire)
    assert e.value.alert_code == ALERT_AUTH_FAILURE and "replay" in e.value.reason


def test_dv3_forged_and_untrusted_commands_are_refused_with_8f3d():
    keys = _keys()
    ep = GbcsEndpoint(ESME, keys)
    bad = bytearray(_cmd(keys, 5))
    bad[-1] ^= 0xFF
    with pytest.raises(Refused) as e:
        ep.accept(bytes(bad))
    assert e.value.alert_code == ALERT_AUTH_FAILURE
    with pytest.raises(Refused) as e:
        ep.accept(_cmd(keys, 6, originator=SECOND_SUPPLIER))
    assert "not a trusted remote party" in e.value.reason
    # the forged frame burned no counter: the genuine one is still accepted
    ep.accept(_cmd(keys, 5))


def test_critical_command_needs_signature_and_gets_a_signed_response():
    keys = _keys()
    ep = GbcsEndpoint(ESME, keys)
    msg = ep.accept(_cmd(keys, 10, code=0x0012))
    response = frames.decode(ep.respond(msg, b"\x05\x00", NOW))
    assert response.mac is None and response.signature is not None
    security.verify_signature(keys, response)
    unsigned = security.seal(keys, Message(Cra.COMMAND, 11, SUPPLIER, ESME, 0x0012, b"\x30\x00", mac_protected=True))
    with pytest.raises(Refused, match="signature"):
        ep.accept(unsigned)


def test_network_operator_has_no_authority_for_supplier_only_use_case():
    keys = _keys()
    ep = GbcsEndpoint(ESME, keys)
    with pytest.raises(Refused) as e:
        ep.accept(_cmd(keys, 1, code=0x0024, originator=NETWORK_OPERATOR))  # ECS15a: suppliers only
    assert e.value.alert_code == ALERT_NO_AUTHORITY


def test_dv6_alerts_framed_by_criticality_and_retried_until_acknowledged():
    keys = _keys()
    ep = GbcsEndpoint(ESME, keys)
    # 0x8F12 from the hub is CS14, a non-critical use-case alert (RTDS CS14_NA_8F12: MAC only)
    assert alert_is_critical(0x8F3D) and not alert_is_critical(0x8F12, "CHF") and not alert_is_critical(0x810E)
    c1, crit = ep.alert(b"\x0f", NOW, critical=True)
    c2, noncrit = ep.alert(b"\x0f", NOW, critical=False)
    assert c2 > c1
    m1, m2 = frames.decode(crit), frames.decode(noncrit)
    assert m1.message_code == 0x1000 and m1.signature is not None and m1.mac is None
    assert m2.message_code == 0x1001 and m2.mac is not None and m2.signature is None
    security.verify_signature(keys, m1)
    security.verify_mac(keys, m2)
    box = AlertOutbox(retry_interval=300, max_attempts=3)
    box.sent(c1, 0x8F3D, crit, NOW)
    box.sent(c2, 0x8F12, noncrit, NOW)
    assert box.due(NOW + 10) == []
    assert {a.counter for a in box.due(NOW + 300)} == {c1, c2}
    assert box.acknowledged(c1)
    assert [a.counter for a in box.due(NOW + 600)] == [c2]
    assert box.due(NOW + 900) == [] and [a.counter for a in box.given_up] == [c2]
