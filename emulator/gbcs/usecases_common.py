"""Command payload builders for the use cases common to device types (CS, CCS): the security
credential, join, firmware and device-log use cases (ASN.1), the CHF's device log (DLMS)
and the top-up / ZigBee log use cases of both meters (DLMS to an ESME, GBZ to a GSME).

Each builder documents the DUIS elements it reads (names from the DUIS 5.4 XSD body of its
SRV) and the default when one is absent, so an empty body still gives a command with the
reference's structure. Certificates are DUIS ``base64Binary`` (hex is accepted too).
Registered in :mod:`emulator.gbcs.usecase_builders`; checked byte for byte against the RTDS
4.5.0 COMMAND files in ``tests/gbcs/test_rtds_usecases_common.py``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
from collections.abc import Mapping
from typing import Any

from emulator.gbcs import asn1, dlms, gbz
from emulator.gbcs import credentials as cred
from emulator.gbcs.identities import parse_eui
from emulator.gbcs.obis import GPF_NETWORK_CONTROL, TOKEN_GATEWAY, ZIGBEE_NETWORK_CONTROL
from emulator.gbcs.usecase_builders import Builder, UseCaseRequest
from emulator.zigbee.clusters import smart_energy as se
from emulator.zigbee.install_code import parse as parse_install_code

# --- reading the DUIS body -----------------------------------------------------------------


def _get(body: Mapping[str, Any], *path: str) -> Any:
    node: Any = body
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _text(body: Mapping[str, Any], *path: str) -> str | None:
    value = _get(body, *path)
    return None if value is None or isinstance(value, (Mapping, list)) else str(value).strip()


def _int(body: Mapping[str, Any], *path: str, default: int = 0) -> int:
    value = _text(body, *path)
    return int(value) if value not in (None, "") else default


def _optional_int(body: Mapping[str, Any], *path: str) -> int | None:
    value = _text(body, *path)
    return int(value) if value not in (None, "") else None


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def certificate_bytes(value: str) -> bytes:
    """A DUIS certificate (base64Binary), or hex: the DER bytes; ValueError naming the problem."""
    text = "".join(value.split())
    if text and all(c in "0123456789abcdefABCDEF" for c in text) and len(text) % 2 == 0:
        return bytes.fromhex(text)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"certificate is neither base64 nor hex: {e}") from None


def _false(body: Mapping[str, Any], *path: str) -> bool:
    return (_text(body, *path) or "").lower() in ("false", "0")


def _execution(body: Mapping[str, Any]) -> asn1.Tlv | None:
    """DUIS ``ExecutionDateTime`` (xs:dateTime, UTC) -> GeneralizedTime; a 9999 year is the
    all-9s cancellation value."""
    text = _text(body, "ExecutionDateTime") or _text(body, "execution_time")
    if not text:
        return None
    if text.startswith("9999"):
        return asn1.Tlv(asn1.GENERALIZED_TIME, b"99991231235959Z")
    try:
        return asn1.generalized_time(float(text))  # legacy: Unix seconds
    except ValueError:
        pass
    when = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    return asn1.generalized_time(when.timestamp())


# --- CS02: security credentials -------------------------------------------------------------

ROLE_NAMES = {"Root": cred.ROOT, "Recovery": cred.RECOVERY, "Supplier": cred.SUPPLIER,
              "NetworkOperator": cred.NETWORK_OPERATOR, "ACB": cred.ACB, "TransCoS": cred.TRANSITIONAL_COS,
              "WANProvider": cred.WAN_PROVIDER, "LoadController": cred.LOAD_CONTROLLER}
#: Per replacement mode: the authorising party's DS cell (None: absent, as in 8.5 ACB by ACB)
#: and the role whose credentials are replaced.
_MODES: dict[int, tuple[cred.Cell | None, int]] = {
    cred.MODE_SUPPLIER_BY_SUPPLIER: (cred.Cell(cred.SUPPLIER, cred.DIGITAL_SIGNATURE), cred.SUPPLIER),
    cred.MODE_NO_BY_NO: (cred.Cell(cred.NETWORK_OPERATOR, cred.DIGITAL_SIGNATURE), cred.NETWORK_OPERATOR),
    cred.MODE_ACB_BY_ACB: (None, cred.ACB),
    cred.MODE_WAN_PROVIDER_BY_WAN_PROVIDER: (cred.Cell(cred.WAN_PROVIDER, cred.DIGITAL_SIGNATURE), cred.WAN_PROVIDER),
    cred.MODE_TRANS_COS_BY_TRANS_COS: (cred.Cell(cred.TRANSITIONAL_COS, cred.DIGITAL_SIGNATURE), cred.TRANSITIONAL_COS),
    cred.MODE_SUPPLIER_BY_TRANS_COS: (cred.Cell(cred.TRANSITIONAL_COS, cred.DIGITAL_SIGNATURE), cred.SUPPLIER),
    cred.MODE_ANY_EXCEPT_ROOT_BY_RECOVERY: (cred.Cell(cred.RECOVERY, cred.DIGITAL_SIGNATURE), cred.RECOVERY),
    cred.MODE_LOAD_CONTROLLER_BY_LOAD_CONTROLLER: (cred.Cell(cred.LOAD_CONTROLLER, cred.DIGITAL_SIGNATURE),
                                                   cred.LOAD_CONTROLLER),
    cred.MODE_LOAD_CONTROLLER_BY_SUPPLIER: (cred.Cell(cred.SUPPLIER, cred.DIGITAL_SIGNATURE), cred.LOAD_CONTROLLER),
}
# DUIS element holding the replacement certificates, by SRV body (6.15.1, 6.23, 6.21 / 8.5).
_REPLACEMENT_ELEMENTS = (("ReplacementCertificates", "SupplierOrNetworkOperatorCertificates"),
                         ("SupplierReplacementCertificates",), ("ReplacementCertificates",))


def _replacements(body: Mapping[str, Any], role: int) -> tuple[cred.Replacement, ...]:
    holder: Any = None
    for path in _REPLACEMENT_ELEMENTS:
        found = _get(body, *path)
        if isinstance(found, Mapping) and found:
            holder = found
            break
    if holder is None:
        return ()
    out = []
    top_up = cred.Cell(role, cred.KEY_AGREEMENT, cred.PREPAYMENT_TOP_UP)
    for element, cell in (("DigitalSigningCertificate", cred.Cell(role, cred.DIGITAL_SIGNATURE)),
                          ("KeyAgreementCertificate", cred.Cell(role, cred.KEY_AGREEMENT)),
                          ("KeyAgreementTopUpCertificate", top_up)):
        text = _text(holder, element)
        if text:
            out.append(cred.Replacement(certificate_bytes(text), cell))
    return tuple(out)


def update_security_credentials(req: UseCaseRequest) -> bytes:
    """CS02b (6.15.1, 6.21, 6.23, 8.5) and CS02g (6.15.1 for a load controller). Reads ``ReplacementCertificates`` /
    ``SupplierReplacementCertificates`` (``DigitalSigningCertificate``, ``KeyAgreementCertificate``,
    ``KeyAgreementTopUpCertificate``), ``CertificationPathCertificates/Certificate`` (up to 3),
    the floor sequence numbers (``RemotePartyFloorSeqNumber``, ``SupplierFloorSeqNumber``,
    ``ACBFloorSeqNumber``; top-up floors ``RemotePartyPrepaymentTopUpFloorSeqNumber`` /
    ``SupplierPrepaymentTopUpFloorSeqNumber``; each sent only when given), ``ApplyTimeBasedCPVChecks`` (false:
    the disapply flag [1] = 1 is sent; true or absent: omitted, the default apply) and
    ``ExecutionDateTime``. The replacement mode comes from the message code; the authorising
    party's sequence number is the command's counter. No certificates: an empty replacement list."""
    mode = cred.MODE_BY_MESSAGE_CODE.get(req.message_code, cred.MODE_SUPPLIER_BY_SUPPLIER)
    authorising, role = _MODES.get(mode, (None, cred.SUPPLIER))
    path = tuple(certificate_bytes(str(c)) for c in _list(_get(req.body, "CertificationPathCertificates",
                                                                   "Certificate")))
    new_floor: int | None = None
    specialist: tuple[tuple[int, int], ...] | None = None
    other: tuple[cred.SeqNumberChange, ...] | None = None
    if mode == cred.MODE_SUPPLIER_BY_TRANS_COS:
        floor = _optional_int(req.body, "SupplierFloorSeqNumber")
        top_up = _optional_int(req.body, "SupplierPrepaymentTopUpFloorSeqNumber")
        if floor is not None:
            other = (cred.SeqNumberChange(cred.SUPPLIER, floor, None if top_up is None else ((0, top_up),)),)
    elif mode == cred.MODE_LOAD_CONTROLLER_BY_SUPPLIER:  # the new party is not the authorising one
        floor = _optional_int(req.body, "RemotePartyFloorSeqNumber")
        other = None if floor is None else (cred.SeqNumberChange(cred.LOAD_CONTROLLER, floor),)
    elif mode != cred.MODE_TRANS_COS_BY_TRANS_COS:
        new_floor = _optional_int(req.body, "ACBFloorSeqNumber" if mode == cred.MODE_ACB_BY_ACB
                                  else "RemotePartyFloorSeqNumber")
        top_up = _optional_int(req.body, "RemotePartyPrepaymentTopUpFloorSeqNumber")
        specialist = None if top_up is None else ((0, top_up),)
    return cred.UpdateSecurityCredentials(
        mode=mode, authorising_seq=req.counter, replacements=_replacements(req.body, role), path=path,
        authorising_cell=authorising, apply_time_based_cpv=1 if _false(req.body, "ApplyTimeBasedCPVChecks") else None,
        new_floor=new_floor, new_specialist=specialist, other_changes=other, execution=_execution(req.body),
    ).encode()


#: SRV 6.15.1 names whose credentials it replaces (DUIS ``RemotePartyRole``): the CS02b variant.
_KRP_CODES = {"Supplier": 0x0102, "NetworkOperator": 0x0103, "LoadController": 0x0126}
#: SRV 6.21 hands over the cells the DCC held for the supplier or the network operator, nothing
#: else (the RTDS set has one of each: 6.21_CS02bSupplierBySupplierHandover, _CS02bNOByNOHandover).
_HANDOVER_CODES = {"Supplier": 0x0102, "NetworkOperator": 0x0103}


def credentials_message_code(use_case: str, message_code: int, body: Mapping[str, Any], srv: str = "") -> int:
    """The message code of a CS02b/CS02g whose variant the body decides (6.15.1 and 6.21
    ``RemotePartyRole``; a load controller's credentials are CS02g loadControllerBySupplier, built
    by the same builder, and only by 6.15.1). Any other role keeps ``message_code``, the SRV's default."""
    if use_case in ("CS02b", "CS02g") and message_code in _KRP_CODES.values():
        codes = _HANDOVER_CODES if srv == "6.21" else _KRP_CODES
        return codes.get(_text(body, "RemotePartyRole") or "", message_code)
    return message_code


def credential_details(req: UseCaseRequest) -> bytes:
    """CS02a / CS02f (6.24.1). Reads ``RemotePartyRole`` (one to seven of Root, Recovery,
    Supplier, NetworkOperator, ACB, TransCoS, LoadController; default Supplier and
    NetworkOperator). The request is authorised by the ACB's key agreement cell (the DCC sends it)."""
    names = [str(r) for r in _list(_get(req.body, "RemotePartyRole"))] or ["Supplier", "NetworkOperator"]
    roles = tuple(ROLE_NAMES[n] if n in ROLE_NAMES else int(n) for n in names)
    return cred.CredentialDetailsRequest(cred.Cell(cred.ACB, cred.KEY_AGREEMENT), roles).encode()


def _credential_type(req: UseCaseRequest) -> bytes:
    kind = (_text(req.body, "CredentialType") or "Digital Signature").lower()
    return cred.KEY_AGREEMENT if "agreement" in kind else cred.DIGITAL_SIGNATURE


def issue_or_provide_credentials(req: UseCaseRequest) -> bytes:
    """CS02c (6.17) / CS02e (6.24.2): SEQUENCE { keyUsage }. Reads ``CredentialType``
    ("Digital Signature" or "Key Agreement"; default Digital Signature)."""
    return asn1.sequence(asn1.Tlv(asn1.BIT_STRING, _credential_type(req))).encode()


def update_device_certificate(req: UseCaseRequest) -> bytes:
    """CS02d (6.15.2): the certificate itself. Reads ``DeviceCertificate``; absent: an empty
    SEQUENCE, which the device answers with Invalid Certificate."""
    text = _text(req.body, "DeviceCertificate")
    return certificate_bytes(text) if text else asn1.sequence().encode()


# --- CS03 / CS04 / CS07: HAN joins ------------------------------------------------------

#: GBCS DeviceType (CS03, CS07): 0 GSME, 1 ESME, 2 CHF, 3 GPF, 4 HCALCS, 5 PPMID, 6 Type 2.
DEVICE_TYPES = {"GSME": 0, "ESME": 1, "CHF": 2, "GPF": 3, "HCALCS": 4, "PPMID": 5, "TYPE2": 6}
# Join method and role by use case, and the other device's usual type (the reference's).
_JOIN = {"CS03A1": (0, 5), "CS03A2": (1, 1), "CS03B": (2, 3), "CS03C": (3, 5)}


def join_device(req: UseCaseRequest) -> bytes:
    """CS03A1/A2/B/C (8.7.1, 8.7.2). Reads ``OtherDeviceID``; the DSP adds what DUIS leaves to
    its inventory: ``OtherDeviceType`` (GSME, ESME, GPF, HCALCS, PPMID...; default by method)
    and, for Method C, ``OtherDeviceCertificate`` (the other device's KA certificate)."""
    method, default_type = _JOIN.get(req.use_case, (0, 5))
    kind = (_text(req.body, "OtherDeviceType") or "").upper()
    items = [asn1.integer(method), asn1.octets(_other_device(req.body)),
             asn1.integer(DEVICE_TYPES.get(kind, int(kind) if kind.isdigit() else default_type))]
    cert = _text(req.body, "OtherDeviceCertificate")
    if cert:
        items.append(asn1.decode(certificate_bytes(cert)))
    return asn1.sequence(*items).encode()


def _other_device(body: Mapping[str, Any]) -> bytes:
    text = _text(body, "OtherDeviceID")
    return parse_eui(text) if text else bytes(8)


def unjoin_device(req: UseCaseRequest) -> bytes:
    """CS04AC / CS04B (8.8.1, 8.8.2): the other device's EUI-64. Reads ``OtherDeviceID``."""
    return asn1.octets(_other_device(req.body)).encode()


def null_command(req: UseCaseRequest) -> bytes:
    """CS07 Read Device Join Details, CS08 Read PPMID/HCALCS Firmware Version: ASN.1 NULL."""
    return asn1.NULL_RESPONSE


def activate_firmware(req: UseCaseRequest) -> bytes:
    """CS06 (11.3). Reads ``FirmwareHash`` (32 bytes hex; legacy ``image_hash``) and
    ``ExecutionDateTime`` (a 9999 date cancels a pending activation). Default hash: zeros."""
    text = _text(req.body, "FirmwareHash") or _text(req.body, "image_hash") or "00" * 32
    items = [asn1.octets(bytes.fromhex(text)), asn1.integer(req.counter)]
    when = _execution(req.body)
    if when is not None:
        items.append(when)
    return asn1.sequence(*items).encode()


# --- CCS01..CCS07: the CHF device log (DLMS, class 104 ZigBee network control) ------------

#: The emulator's older body key ``device_type`` numbered ESME 0, GSME 1 (kept for journeys).
_LEGACY_TYPES = {0: "ESME", 1: "GSME", 2: "PPMID", 3: "HCALCS", 5: "GPF"}


def _device_type_code(body: Mapping[str, Any]) -> int:
    name = _text(body, "DeviceType")
    if name:
        return DEVICE_TYPES[name.upper()]
    legacy = _text(body, "device_type")
    return DEVICE_TYPES[_LEGACY_TYPES.get(int(legacy), "ESME")] if legacy else DEVICE_TYPES["ESME"]


def _device_id(body: Mapping[str, Any]) -> bytes:
    text = _text(body, "DeviceID") or _text(body, "device")
    return parse_eui(text) if text else bytes(8)


def update_device_log(req: UseCaseRequest) -> bytes:
    """CCS01 add / CCS02 remove (8.11). Reads ``DeviceID``, ``AddDeviceToCHFWhitelist/
    InstallCode`` (hexBinary: its octets are carried as they are, no CRC added or removed; the
    RTDS request's 30313233343536373839414243444546 is the reference command's 16 octets) and
    ``JoinTimePeriod`` (seconds, default 90); the DSP adds ``DeviceType`` from its inventory.
    Legacy keys ``device``, ``install_code``, ``device_type`` are read too. CCS01 is three
    requests: add the entry (method 1), set the join time (attribute 3), enable joining (attribute 2)."""
    invoke = dlms.invoke_id_for(req.counter)
    eui = _device_id(req.body)
    if req.use_case == "CCS02":
        spec = dlms.RequestSpec(dlms.ACTION, 104, ZIGBEE_NETWORK_CONTROL, 2)
        return dlms.AccessRequest(invoke, (spec,), (dlms.Data("octet-string", eui),)).encode()
    code = parse_install_code(_text(req.body, "AddDeviceToCHFWhitelist", "InstallCode")
                              or _text(req.body, "install_code") or "")
    period = _int(req.body, "AddDeviceToCHFWhitelist", "JoinTimePeriod", default=90)
    entry = dlms.Data("structure", (dlms.Data("octet-string", eui), dlms.Data("enum", _device_type_code(req.body)),
                                    dlms.Data("octet-string", code), dlms.Data("enum", 0)))
    specs = (dlms.RequestSpec(dlms.ACTION, 104, ZIGBEE_NETWORK_CONTROL, 1),
             dlms.RequestSpec(dlms.SET, 104, ZIGBEE_NETWORK_CONTROL, 3),
             dlms.RequestSpec(dlms.SET, 104, ZIGBEE_NETWORK_CONTROL, 2))
    data = (entry, dlms.Data("long-unsigned", period), dlms.Data("boolean", 0xFF))
    return dlms.AccessRequest(invoke, specs, data).encode()


def restore_device_log(req: UseCaseRequest) -> bytes:
    """CCS03 (8.12.1). Reads ``OldCHFID``; the DSP adds the old hub's entries as ``Devices``
    (a list of {``DeviceID``, ``LinkKey`` hex}). Method 5 on the network control object."""
    entries = []
    for item in _list(_get(req.body, "Devices")):
        if isinstance(item, Mapping):
            key = bytes.fromhex(_text(item, "LinkKey") or "")
            entries.append(dlms.Data("structure", (dlms.Data("octet-string", _device_id(item)),
                                                   dlms.Data("octet-string", key))))
    old = _text(req.body, "OldCHFID")
    data = dlms.Data("structure", (dlms.Data("octet-string", parse_eui(old) if old else bytes(8)),
                                   dlms.Data("array", tuple(entries))))
    spec = dlms.RequestSpec(dlms.ACTION, 104, ZIGBEE_NETWORK_CONTROL, 5)
    return dlms.AccessRequest(dlms.invoke_id_for(req.counter), (spec,), (data,)).encode()


def read_device_log(req: UseCaseRequest) -> bytes:
    """CCS04/05, CCS06 (8.9): Get attribute 4 (the device log with link statistics). No body."""
    spec = dlms.RequestSpec(dlms.GET, 104, ZIGBEE_NETWORK_CONTROL, 4)
    return dlms.AccessRequest(dlms.invoke_id_for(req.counter), (spec,), (dlms.NULL,)).encode()


def read_chf_device_logs(req: UseCaseRequest) -> bytes:
    """CCS07 (8.9 ``ReadSecurityDetails``): method 4 on the CHF's and the GPF's network control."""
    specs = (dlms.RequestSpec(dlms.ACTION, 104, ZIGBEE_NETWORK_CONTROL, 4),
             dlms.RequestSpec(dlms.ACTION, 104, GPF_NETWORK_CONTROL, 4))
    return dlms.AccessRequest(dlms.invoke_id_for(req.counter), specs, (dlms.NULL, dlms.NULL)).encode()


# --- CS01a/b top-up; CS10a/b, CS11 ZigBee logs (GBZ to a GSME) --------------------------------

ORIGINATING_DEVICE_ESI = 0x00  # Consumer Top Up: the top up came from the Energy Service Interface (the DCC)


def top_up(req: UseCaseRequest) -> bytes:
    """CS01a (ESME, DLMS method 1 of the token gateway 0-0:19.40.0.255) / CS01b (GSME, GBZ
    Prepayment Consumer Top Up): the 20-digit UTRN as ASCII. Reads ``UTRN``."""
    utrn = (_text(req.body, "UTRN") or "0" * 20).encode("ascii")
    if req.use_case == "CS01a":
        spec = dlms.RequestSpec(dlms.ACTION, 115, TOKEN_GATEWAY, 1)
        return dlms.AccessRequest(dlms.invoke_id_for(req.counter), (spec,), (dlms.Data("octet-string", utrn),)).encode()
    top_up = se.ConsumerTopUp(ORIGINATING_DEVICE_ESI, utrn)
    return gbz.GbzPayload((gbz.Component(se.PREPAYMENT, top_up.encode(0, disable_default_response=False)),)).encode()


_LOG_IDS = {"CS10a": 0x13, "CS10b": 0x04}
ALL_LOGS = 0x03  # Clear Event Log Request: log id "all logs"


def _zcl_time(body: Mapping[str, Any], *path: str, default: int) -> int:
    text = _text(body, *path)
    if not text:
        return default
    when = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    when = when if when.tzinfo else when.replace(tzinfo=_dt.UTC)
    return int(when.timestamp()) - gbz.EPOCH_2000


def read_zigbee_log(req: UseCaseRequest) -> bytes:
    """CS10a event log / CS10b security log of a GSME (6.13): ZCL Events Get Event Log.
    Reads ``ReadLogPeriod/StartDateTime`` and ``EndDateTime`` (default: all time)."""
    start = _zcl_time(req.body, "ReadLogPeriod", "StartDateTime", default=0)
    end = _zcl_time(req.body, "ReadLogPeriod", "EndDateTime", default=0xFFFFFFFF)
    get = se.GetEventLog(_LOG_IDS.get(req.use_case, 0x13), 0x0000, start, end, 0, 0)
    return gbz.GbzPayload((gbz.Component(se.EVENTS, get.encode(0, disable_default_response=False)),)).encode()


def clear_zigbee_log(req: UseCaseRequest) -> bytes:
    """CS11 (3.3 to a GSME): ZCL Events Clear Event Log Request, all logs (0x03)."""
    clear = se.ClearEventLogRequest(ALL_LOGS)
    return gbz.GbzPayload((gbz.Component(se.EVENTS, clear.encode(0, disable_default_response=False)),)).encode()


BUILDERS: dict[str, Builder] = {
    "CS01a": top_up, "CS01b": top_up,
    "CS02a": credential_details, "CS02f": credential_details,
    "CS02b": update_security_credentials, "CS02g": update_security_credentials,
    "CS02c": issue_or_provide_credentials, "CS02e": issue_or_provide_credentials,
    "CS02d": update_device_certificate,
    "CS03A1": join_device, "CS03A2": join_device, "CS03B": join_device, "CS03C": join_device,
    "CS04AC": unjoin_device, "CS04B": unjoin_device,
    "CS06": activate_firmware,
    "CS07": null_command, "CS08": null_command,
    "CS10a": read_zigbee_log, "CS10b": read_zigbee_log, "CS11": clear_zigbee_log,
    "CCS01": update_device_log, "CCS02": update_device_log, "CCS03": restore_device_log,
    "CCS04/CCS05": read_device_log, "CCS06": read_device_log, "CCS07": read_chf_device_logs,
}
