"""The CS02b variant (message code) the DSP frames for an SRV, held to the RTDS 4.5.0 reference.

SRV 6.21 Request Handover Of DCC Controlled Device used to go out as CS02b 0x0100
(rootBySupplier): the SRV table's qualifier "(handover)" names no GBCS variant, so the first
CS02b code won; 8.5 Service Opt Out's "(ACBByACB)" missed "accessControlBrokerByACB" the same
way. The reference has two 6.21 commands, one per DUIS ``RemotePartyRole``, and one 8.5. The
expected bytes below were read off those files (the Other Information field: length 02, then
the message code), not taken from our tables.
"""

from __future__ import annotations

from typing import Any

import pytest

from emulator.devices.events import CommandRefused
from emulator.devices.profile import PremisesProfile
from emulator.dsp.model import Response
from emulator.gbcs import catalogue, commands, frames, security, usecases
from emulator.pytest_plugin import Smets2
from emulator.scenarios.conformance import CommandLog
from emulator.scenarios.world import SUPPLIER, World
from tests.conftest import RTDS, need_rtds
from tests.gbcs.test_rtds_usecases_common import PATH, SUPPLIER_CERTS, SUPPLIER_FLOORS, _certificates, _fill

# (reference COMMAND file under messages/, the DUIS RemotePartyRole it stands for, its message code)
REFERENCE = [
    ("6.21_CS02bSupplierBySupplierHandover/CS02bSupplierBySupplierHandover_6.21_SUCCESS_COMMAND_GBCS.HEX",
     "Supplier", b"\x01\x02"),  # CS02b supplierBySupplier
    ("6.21_CS02bNOByNOHandover/CS02bNOByNOHandover_6.21_SUCCESS_COMMAND_GBCS.HEX",
     "NetworkOperator", b"\x01\x03"),  # CS02b networkOperatorByNetworkOperator
]
IDS = [role for _, role, _ in REFERENCE]
# The DUIS bodies that give the reference payloads ({R0}.. and {P0}: the reference's certificates).
BODIES: dict[str, dict[str, Any]] = {
    "Supplier": {"RemotePartyRole": "Supplier", **SUPPLIER_FLOORS, "ReplacementCertificates": SUPPLIER_CERTS,
                 "CertificationPathCertificates": PATH, "ApplyTimeBasedCPVChecks": "true"},
    "NetworkOperator": {"RemotePartyRole": "NetworkOperator", "RemotePartyFloorSeqNumber": "0",
                        "ReplacementCertificates": {"DigitalSigningCertificate": "{R0}",
                                                    "KeyAgreementCertificate": "{R1}"},
                        "CertificationPathCertificates": PATH, "ApplyTimeBasedCPVChecks": "true"},
}


def _code_after(wire: bytes, target: bytes) -> bytes:
    """The message code of a command to ``target``, found by its bytes alone (no decoder): the
    target EUI (length 08 first), 00 for the absent date-time, 02 for the Other Information length."""
    at = wire.index(b"\x08" + target + b"\x00\x02")
    return wire[at + 11:at + 13]


@pytest.mark.parametrize(("name", "role", "code"), REFERENCE, ids=IDS)
def test_dv2_the_literal_codes_are_the_reference_files_own(name: str, role: str, code: bytes) -> None:
    need_rtds()
    raw = bytes.fromhex((RTDS / "messages" / name).read_text().strip())
    # DD, six empty fields, length 82 xx xx, 11 + counter(4), DF 09 01, counter(8), 08 + ACB,
    # 08 + target, 00, then Other Information 02 + the code at offset 45.
    assert raw[15:18] == b"\xdf\x09\x01" and raw[26:35] == b"\x08" + bytes.fromhex("90B3D51F30000002")
    assert raw[44:48] == b"\x00\x02" + code
    assert _code_after(raw, raw[36:44]) == code


@pytest.mark.parametrize(("name", "role", "code"), REFERENCE, ids=IDS)
def test_dv2_the_dsp_frames_6_21_with_the_reference_code_and_payload(name: str, role: str, code: bytes) -> None:
    need_rtds()
    ref = frames.decode(bytes.fromhex((RTDS / "messages" / name).read_text().strip()))
    body = _fill(BODIES[role], _certificates(ref.payload))
    assert commands.message_code_for("6.21", "GPF", body) == int.from_bytes(code, "big")  # what Restricted judges
    built = commands.build("6.21", "GPF", ref.originator, ref.target, ref.counter, body).message
    block = frames.encode(built.with_(mac_protected=False))
    assert _code_after(block, ref.target) == code
    assert built.payload == ref.payload  # the same builder, now fed the right replacement mode


def test_dv2_a_handover_names_only_the_supplier_or_the_network_operator() -> None:
    # 6.15.1 may replace a load controller's cells (CS02g 0x0126); a handover may not: the role is
    # ignored and the SRV's default, supplierBySupplier, is framed.
    assert commands.message_code_for("6.15.1", "ESME", {"RemotePartyRole": "LoadController"}) == 0x0126
    assert commands.message_code_for("6.21", "ESME", {"RemotePartyRole": "LoadController"}) == 0x0102
    assert commands.message_code_for("6.21", "ESME", {}) == 0x0102


async def _handover(world: World, role: str) -> tuple[Response | None, bytes, bytes]:
    """A supplier's 6.21 to the commissioned premises' GPF: the final answer, the frame the DSP put
    on the WAN, and the GPF."""
    p = world.premises[0]
    await Smets2().commissioned(world, p)
    log = CommandLog(world.dsp.port)
    world.dsp.port = log
    ack, final = await world.users[SUPPLIER].send("6.21", p.gpf.hex().upper(), {"RemotePartyRole": role})
    assert ack.code == "I99", ack.message
    return final, bytes.fromhex(log.sent[ack.request_id]), p.gpf


@pytest.mark.parametrize(("name", "role", "code"), REFERENCE, ids=IDS)
def test_dv2_what_the_dsp_sends_on_the_wan_carries_the_reference_code(name: str, role: str, code: bytes) -> None:
    """End to end: a supplier's 6.21 request, as the DSP puts it on the WAN to the premises' GPF."""

    async def scenario(world: World) -> bytes:
        _, wire, gpf = await _handover(world, role)
        return _code_after(wire, gpf)

    assert Smets2().run(scenario, [PremisesProfile()]) == code


SERVICE_OPT_OUT = ("8.5_CS02bACBByACB/CS02bACBByACB_8.5_SUCCESS_COMMAND_GBCS.HEX",
                   b"\x01\x04")  # CS02b accessControlBrokerByACB


def test_dv2_8_5_service_opt_out_is_the_reference_acb_by_acb_code() -> None:
    need_rtds()
    name, code = SERVICE_OPT_OUT
    raw = bytes.fromhex((RTDS / "messages" / name).read_text().strip())
    assert raw[44:48] == b"\x00\x02" + code  # same layout as the 6.21 files (length 82 xx xx)
    assert commands.message_code_for("8.5", "ESME", {}) == int.from_bytes(code, "big")


def test_dv2_no_srv_falls_back_to_a_root_replacement() -> None:
    """0x0100 / 0x0101 (rootBySupplier, rootByWanProvider) were what an unmatched qualifier fell
    back to; no DUIS SRV sends them, and the RTDS set has no command with either."""
    need_rtds()
    sent = {frames.decode(bytes.fromhex(p.read_text().strip())).message_code
            for p in (RTDS / "messages").glob("*CS02b*/*_COMMAND_*")}
    assert sent == {0x0102, 0x0103, 0x0104, 0x0105, 0x0106, 0x0107, 0x0108}
    for srv in catalogue.srvs():
        for device_type in ("ESME", "GSME", "GPF", "CHF"):
            uc = usecases.use_case_for(srv, device_type)
            assert uc is None or uc.message_code not in (0x0100, 0x0101), (srv, device_type)


@pytest.mark.parametrize("role", ["Supplier", "NetworkOperator"])
def test_dv2_the_dsp_originates_6_21_as_the_acb_and_signs_it_and_a_supplier_controlled_device_refuses_it(
        role: str) -> None:
    """As the RTDS 6.21 commands: originator 90B3D51F30000002 (the ACB), a signature that verifies
    with the ACB's DS key. Our premises are supplier-controlled (the cells hold the supplier's and
    the network operator's own certificates), so the ACB has no authority there: the device
    refuses with 0x8F30 and does not answer, so the DSP's deadline ends the request with E21
    (DUIS: no response from the device)."""

    async def scenario(world: World) -> tuple[frames.Message, str, list[int]]:
        final, wire, gpf = await _handover(world, role)
        sent = frames.decode(wire)
        security.verify_signature(world.keys, sent)  # raises unless the ACB's DS key signed it
        alerts = [e.alert_code for e in world.events if isinstance(e, CommandRefused) and e.device == gpf]
        return sent, final.code if final else "none", alerts

    sent, final, alerts = Smets2().run(scenario, [PremisesProfile()])
    assert sent.originator == bytes.fromhex("90B3D51F30000002") and sent.signature is not None
    assert final == "E21"
    assert alerts == [0x8F30]
