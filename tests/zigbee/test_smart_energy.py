"""The Smart Energy commands GB gas use cases carry (emulator/zigbee/clusters/smart_energy.py).

Every declared command has a golden frame: a ZCL frame of the RTDS 4.5.0 reference (file named
beside it), which must decode to that command and encode back to the same bytes, sequence
number and frame control included.
"""

from __future__ import annotations

import pytest

from emulator.zigbee import zcl
from emulator.zigbee.clusters import smart_energy as se

# (command class, RTDS file it comes from, the ZCL frame)
GOLDEN: list[tuple[type[zcl.ZclCommand], str, str]] = [
    (se.GetBillingPeriod, "GCS21d_6.2.3_ERROR_COMMAND_GBCS.HEX",
     "01000B00000000FFFFFFFF0100"),
    (se.PublishBlockPeriod, "GCS25_6.8_ERROR_COMMAND_GBCS.HEX",
     "09010100000000804A371C0029601C01000002230001"),
    (se.PublishConversionFactor, "GCS23_6.6_ERROR_COMMAND_GBCS.HEX",
     "090002804A371C0000000040E2010050"),
    (se.PublishCalorificValue, "GCS23_6.6_ERROR_COMMAND_GBCS.HEX",
     "090103804A371C000000007B0000000110"),
    (se.PublishBillingPeriod, "GCS21d_6.2.3_SUCCESS_RESPONSE_GBCS.HEX",
     "09000900000000804A371C0017561A0100002200"),
    (se.GetSnapshot, "GCS15b_4.4.2_ERROR_COMMAND_GBCS.HEX",
     "010C06006C0E1C8012C81D0008600000"),
    (se.StartSampling, "GCS31_14.1_ERROR_COMMAND_GBCS.HEX",
     "010007804A371C000000000068012900"),
    (se.GetSampledData, "GCS18_4.10_ERROR_COMMAND_GBCS.HEX",
     "010008020001000000002900"),
    (se.ChangeSupply, "GCS32_7.2_ERROR_COMMAND_GBCS.HEX",
     "01000B00000000804A371C00000000000000000001"),
    (se.SetSupplyStatus, "GCS24_6.7_ERROR_COMMAND_GBCS.HEX",
     "01010D804A371C03030003"),
    (se.SetUncontrolledFlowThreshold, "GCS24_6.7_ERROR_COMMAND_GBCS.HEX",
     "01000E00000000804A371CF0F001010001003C2C01"),
    (se.SupplyStatusResponse, "GCS32_7.2_SUCCESS_RESPONSE_GBCS.HEX",
     "09000C00000000804A371C0000000000"),
    (se.StartSamplingResponse, "GCS31_14.1_ERROR_RESPONSE_GBCS.HEX",
     "09000DFFFF"),
    (se.DisplayMessage, "GCS07_3.1_ERROR_COMMAND_GBCS.HEX",
     "090000804A371C0000000000FFFF055265736574"),
    (se.SelectAvailableEmergencyCredit, "GCS06_2.5_ERROR_COMMAND_GBCS.HEX",
     "0100000000000000"),
    (se.ChangeDebt, "GCS04_2.3_ERROR_COMMAND_GBCS.HEX",
     "010002804A371C0040420F0000010000000000000150C300000000"),
    (se.EmergencyCreditSetup, "GCS05_2.1_CANCELLATION_SUCCESS_COMMAND_GBCS.HEX",
     "010003804A371CFFFFFFFF80969800A0860100"),
    (se.CreditAdjustment, "GCS40a_1.5_ERROR_COMMAND_GBCS.HEX",
     "010005804A371C00000000005A5A0000"),
    (se.ChangePaymentMode, "GCS02_1.6_CANCELLATION_SUCCESS_COMMAND_GBCS.HEX",
     "01000600000000804A371CFFFFFFFF940CFFFFFFFF"),
    (se.GetPrepaySnapshot, "GCS16b_4.14_KRP_ERROR_COMMAND_GBCS.HEX",
     "0100077099341C804A371C0001000000"),
    (se.GetTopUpLog, "GCS15e_4.4.5_ERROR_COMMAND_GBCS.HEX",
     "010008FEFFFFFF05"),
    (se.SetLowCreditWarningLevel, "GCS05_2.1_CANCELLATION_SUCCESS_COMMAND_GBCS.HEX",
     "010209404B4C00"),
    (se.GetDebtRepaymentLog, "GCS15d_4.4.4_ERROR_COMMAND_GBCS.HEX",
     "01000A00F9351C0A02"),
    (se.SetMaximumCreditLimit, "GCS05_2.1_CANCELLATION_SUCCESS_COMMAND_GBCS.HEX",
     "01030B00000000804A371CFFFFFFFF40787D0140787D01"),
    (se.SetOverallDebtCap, "GCS05_2.1_CANCELLATION_SUCCESS_COMMAND_GBCS.HEX",
     "01010C00000000804A371CFFFFFFFFA0860100"),
    (se.ChangePaymentModeResponse, "GCS02_1.6_CANCELLATION_SUCCESS_RESPONSE_GBCS.HEX",
     "190002010200000040420F00400D0300"),
    (se.ReportEventConfiguration, "GCS20r_6.2.10_SUCCESS_RESPONSE_GBCS.HEX",
     "01000400010D81180E810819811845810354810355810361810362810368811083810B84810BA1810BA4810BA5810BA6810BA7810BA8810BA9810BAA811BAB811BAC810BAD810BAE810BAF810BB0810BB1810BB2810BB3810BB4810BB5810BB6810BB9810BBA810BBC810BBD810BBE810BBF810BC0810BC2810BC3810BC4811BC5810BA0810BC68103"),
    (se.PublishChangeOfTenancy, "GCS09_3.2_SUCCESS_COMMAND_GBCS.HEX",
     "09000000000000804A371C00206EC61F00020000"),
    (se.PublishChangeOfSupplier, "GCS44_3.4_ERROR_COMMAND_GBCS.HEX",
     "09000100000000804A371C0000000000000000000018000004452D4F4E0D30333333203230322034363530"),
    (se.RequestNewPasswordResponse, "GCS11_3.5_ERROR_COMMAND_GBCS.HEX",
     "090002804A371C0000000000000200"),
    (se.UpdateSiteId, "GCS41_6.20.1_ERROR_COMMAND_GBCS.HEX",
     "090003804A371C00000000000000000A31323334353637383930"),
    (se.SetEventConfiguration, "GCS20_6.22_ERROR_COMMAND_GBCS.HEX",
     "090004804A371C000000005B0003AA81AB81C481"),
    (se.GetEventConfiguration, "GCS20r_6.2.10_ERROR_COMMAND_GBCS.HEX",
     "090005FF81"),
    (se.UpdateCin, "GCS36_9.1_ERROR_COMMAND_GBCS.HEX",
     "090006804A371C00000000000000000431323334"),
]


def test_every_smart_energy_command_has_a_reference_frame():
    declared = {c for c in zcl.REGISTRY.values() if c.__module__ == se.__name__}
    assert {c for c, _, _ in GOLDEN} == declared
    assert len(declared) == 34


@pytest.mark.parametrize(("cls", "source", "frame"), GOLDEN, ids=[c.__name__ for c, _, _ in GOLDEN])
def test_reference_frames_decode_and_reencode(cls: type[zcl.ZclCommand], source: str, frame: str) -> None:
    data = bytes.fromhex(frame)
    header, command = zcl.decode_command(cls.CLUSTER, data, strict=True)
    assert type(command) is cls, source
    assert isinstance(command, zcl.ZclCommand)
    again = command.encode(header.sequence, disable_default_response=header.disable_default_response)
    assert again == data


def test_values_read_as_the_reference_means_them():
    _, cmd = zcl.decode_command(se.PREPAYMENT, bytes.fromhex("01000600000000804A371CFFFFFFFF940CFFFFFFFF"))
    assert cmd == se.ChangePaymentMode(0, 0x1C374A80, 0xFFFFFFFF, 0x0C94, -1)  # credit mode, no cut-off
    _, ev = zcl.decode_command(se.DEVICE_MANAGEMENT, bytes.fromhex("090004804A371C000000005B0003AA81AB81C481"))
    assert ev == se.SetEventConfiguration(0x1C374A80, 0, 0x5B, 0, (0x81AA, 0x81AB, 0x81C4))
