"""Certificate-Based Key Establishment (CBKE, SE 1.2 crypto suite 2): a sans-IO session per peer.

One :class:`CbkeSession` runs one exchange, as the initiator (the joining device, Key
Establishment client) or the responder (the trust centre: the CHF, server)::

    initiator                                   responder
    Initiate Key Establishment Request  ---->   checks the certificate (issuer trusted, subject
                                         <----  is the sender); Initiate ... Response (its own)
    Ephemeral Data Request (E(U))       ---->
                                         <----  Ephemeral Data Response (E(V))
    both: Z by ECMQV, MacKey and KeyData by the KDF
    Confirm Key Data Request (MACU)     ---->   checks MACU
                                         <----  Confirm Key Data Response (MACV); initiator checks it

KeyData becomes the APS link key between the two. A refusal is a Terminate Key Establishment
with its status: UNKNOWN_ISSUER (the certificate's issuer is not a CA we trust), BAD_MESSAGE (a
malformed certificate or ephemeral key, a certificate whose subject is not the sender, a command
out of turn), BAD_KEY_CONFIRM (the MACs differ: a tampered certificate lands here, since its hash
no longer gives the key the sender holds), UNSUPPORTED_SUITE. NO_RESOURCES is the responder
pool's answer (``emulator.devices.key_establishment``). The session takes decoded commands and
``now`` and returns the commands to send; time-outs come from :meth:`CbkeSession.handle_timer`.

Ephemeral keys are derived from the static private key, the peer and an attempt number, so a
seeded run sends byte-identical frames.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from emulator.zigbee import sect283k1 as curve
from emulator.zigbee.cbke_crypto import (
    KEY_USAGE_KEY_AGREEMENT,
    MAC_TAG_INITIATOR,
    MAC_TAG_RESPONDER,
    Certificate,
    CertificateError,
    confirm_mac,
    derive_scalar,
    ecmqv,
    ecqv_public_key,
    kdf,
    scalar_bytes,
)
from emulator.zigbee.clusters import key_establishment as ke
from emulator.zigbee.clusters.key_establishment import KeyEstablishmentStatus as Status
from emulator.zigbee.sect283k1 import CurveError, Point
from emulator.zigbee.zcl import ZclCommand

#: Seconds we say we need to make our ephemeral key and our MAC (the peer's time-outs).
EPHEMERAL_DATA_GENERATE_TIME = 10
CONFIRM_KEY_GENERATE_TIME = 10
#: Added to the peer's advertised time before we give up waiting (network and sleepy-poll delays).
MARGIN_S = 20.0
TERMINATE_WAIT_S = 10  # the wait time we put in our Terminates


class Role(Enum):
    INITIATOR = "initiator"
    RESPONDER = "responder"


class State(Enum):
    IDLE = "idle"
    AWAIT_INITIATE_RESPONSE = "awaiting Initiate Key Establishment Response"
    AWAIT_EPHEMERAL_REQUEST = "awaiting Ephemeral Data Request"
    AWAIT_EPHEMERAL_RESPONSE = "awaiting Ephemeral Data Response"
    AWAIT_CONFIRM_REQUEST = "awaiting Confirm Key Data Request"
    AWAIT_CONFIRM_RESPONSE = "awaiting Confirm Key Data Response"
    ESTABLISHED = "established"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class CbkeCredentials:
    """What a party holds: its certificate and static private key, and the CAs it trusts."""

    certificate: bytes
    private_key: int
    trusted_issuers: Mapping[bytes, Point]
    """Issuer id (8 bytes, as in the certificate) -> that CA's public key."""


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a session ended without a key. ``status`` None: the peer went quiet (time-out)."""

    status: Status | None
    reason: str
    by_peer: bool = False
    wait_time: int = 0


class Refusal(Exception):
    """A step refused: the Terminate status to send and the reason to report."""

    def __init__(self, status: Status, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@functools.lru_cache(maxsize=1024)
def _reconstruct(certificate: bytes, ca_public: tuple[int, int]) -> Point:
    # A scalar multiplication: cached, since a device shows the same certificate at every join.
    return ecqv_public_key(Certificate.decode(certificate), ca_public)


def check_certificate(data: bytes, sender: bytes, trusted: Mapping[bytes, Point]) -> Point:
    """The sender's static public key from its certificate, or :class:`Refusal` with the status."""
    try:
        cert = Certificate.decode(data)
    except CertificateError as e:
        raise Refusal(Status.BAD_MESSAGE, f"certificate refused: {e}") from None
    ca_public = trusted.get(cert.issuer)
    if ca_public is None:
        raise Refusal(Status.UNKNOWN_ISSUER, f"certificate issuer {cert.issuer.hex().upper()} is not a trusted CA")
    if not cert.key_usage & KEY_USAGE_KEY_AGREEMENT:
        raise Refusal(Status.BAD_MESSAGE, f"certificate key usage 0x{cert.key_usage:02X} does not allow key agreement")
    if cert.subject != sender:
        raise Refusal(Status.BAD_MESSAGE, f"certificate subject {cert.subject.hex().upper()} is not the sender "
                                           f"{sender.hex().upper()}")
    try:
        public = _reconstruct(data, ca_public)
    except CurveError as e:
        raise Refusal(Status.BAD_MESSAGE, f"certificate public-key reconstruction data: {e}") from None
    if public is None:
        raise Refusal(Status.BAD_MESSAGE, "certificate reconstructs to the point at infinity")
    return public


@dataclass(slots=True)
class CbkeSession:
    """One CBKE exchange with one peer. ``own_eui`` and ``peer_eui`` are as printed (MSB first)."""

    role: Role
    credentials: CbkeCredentials
    own_eui: bytes
    peer_eui: bytes
    attempt: int = 0
    state: State = State.IDLE
    deadline: float | None = None
    link_key: bytes | None = None
    failure: Failure | None = None
    _peer_static: Point = None
    _peer_confirm_time: int = CONFIRM_KEY_GENERATE_TIME
    _ephemeral: tuple[int, Point, bytes] | None = None
    _expected_mac: bytes = b""
    _own_mac: bytes = b""
    _key_data: bytes = b""
    _last: tuple[ZclCommand, list[ZclCommand]] | None = field(default=None, repr=False)

    @property
    def done(self) -> bool:
        return self.state in (State.ESTABLISHED, State.FAILED)

    # --- driving it -----------------------------------------------------------------------
    def start(self, now: float) -> list[ZclCommand]:
        """Initiator only: the Initiate Key Establishment Request."""
        if self.role is not Role.INITIATOR or self.state is not State.IDLE:
            raise RuntimeError(f"a {self.role.value} session in state {self.state.value} cannot start")
        self._await(State.AWAIT_INITIATE_RESPONSE, now, EPHEMERAL_DATA_GENERATE_TIME)
        return [ke.InitiateKeyEstablishmentRequest(ke.SUITE_2, EPHEMERAL_DATA_GENERATE_TIME,
                                                   CONFIRM_KEY_GENERATE_TIME, self.credentials.certificate)]

    def receive(self, command: ZclCommand, now: float) -> list[ZclCommand]:
        """A Key Establishment command from the peer; returns what to send back."""
        if self._last is not None and self._last[0] == command:
            return list(self._last[1])  # a duplicated frame: answer it the same way again
        if isinstance(command, ke.TerminateKeyEstablishmentClient | ke.TerminateKeyEstablishmentServer):
            if not self.done:
                status = _status(command.status_code)
                self._fail(Failure(status, f"peer terminated: {_status_name(command.status_code)}", True,
                                   command.wait_time))
            return []
        if self.done:
            return []
        try:
            out = self._step(command, now)
        except Refusal as refusal:
            out = [self._terminate(refusal.status)]
            self._fail(Failure(refusal.status, refusal.reason))
        self._last = (command, out)
        return out

    def handle_timer(self, now: float) -> None:
        """Give up when the peer has not answered in time (no Terminate: the spec just abandons)."""
        if self.deadline is not None and now >= self.deadline and not self.done:
            self._fail(Failure(None, f"time-out while {self.state.value}"))

    # --- the steps ----------------------------------------------------------------------------
    def _step(self, command: ZclCommand, now: float) -> list[ZclCommand]:
        if self.role is Role.RESPONDER:
            if isinstance(command, ke.InitiateKeyEstablishmentRequest) and self.state is State.IDLE:
                return self._on_initiate(command.key_establishment_suite, command.identity,
                                         command.ephemeral_data_generate_time, command.confirm_key_generate_time,
                                         now)
            if isinstance(command, ke.EphemeralDataRequest) and self.state is State.AWAIT_EPHEMERAL_REQUEST:
                return self._on_ephemeral(command.ephemeral_data, now)
            if isinstance(command, ke.ConfirmKeyDataRequest) and self.state is State.AWAIT_CONFIRM_REQUEST:
                self._check_mac(command.secure_message_authentication_code)
                self._establish()
                return [ke.ConfirmKeyDataResponse(self._own_mac)]
        else:
            if isinstance(command, ke.InitiateKeyEstablishmentResponse) and \
                    self.state is State.AWAIT_INITIATE_RESPONSE:
                return self._on_initiate(command.key_establishment_suite, command.identity,
                                         command.ephemeral_data_generate_time, command.confirm_key_generate_time,
                                         now)
            if isinstance(command, ke.EphemeralDataResponse) and self.state is State.AWAIT_EPHEMERAL_RESPONSE:
                return self._on_ephemeral(command.ephemeral_data, now)
            if isinstance(command, ke.ConfirmKeyDataResponse) and self.state is State.AWAIT_CONFIRM_RESPONSE:
                self._check_mac(command.secure_message_authentication_code)
                self._establish()
                return []
        raise Refusal(Status.BAD_MESSAGE, f"{type(command).__name__} while {self.state.value}")

    def _on_initiate(self, suite: int, identity: bytes, peer_ephemeral_time: int, peer_confirm_time: int,
                     now: float) -> list[ZclCommand]:
        # The initiator offers the suites it supports (a bitmap); the responder answers with one.
        acceptable = suite & ke.SUITE_2 if self.role is Role.RESPONDER else suite == ke.SUITE_2
        if not acceptable:
            raise Refusal(Status.UNSUPPORTED_SUITE, f"key establishment suite 0x{suite:04X} is not suite 2")
        self._peer_static = check_certificate(identity, self.peer_eui, self.credentials.trusted_issuers)
        self._peer_confirm_time = peer_confirm_time
        if self.role is Role.RESPONDER:
            self._await(State.AWAIT_EPHEMERAL_REQUEST, now, peer_ephemeral_time)
            return [ke.InitiateKeyEstablishmentResponse(ke.SUITE_2, EPHEMERAL_DATA_GENERATE_TIME,
                                                        CONFIRM_KEY_GENERATE_TIME, self.credentials.certificate)]
        self._await(State.AWAIT_EPHEMERAL_RESPONSE, now, peer_ephemeral_time)
        return [ke.EphemeralDataRequest(self._own_ephemeral()[2])]

    def _on_ephemeral(self, data: bytes, now: float) -> list[ZclCommand]:
        try:
            peer_point = curve.decode_point(data, "ephemeral_data")
        except CurveError as e:
            raise Refusal(Status.BAD_MESSAGE, f"ephemeral data: {e}") from None
        private, own_point, own_encoded = self._own_ephemeral()
        z = ecmqv(self.credentials.private_key, private, own_point, self._peer_static, peer_point)
        if z is None:
            raise Refusal(Status.BAD_MESSAGE, "ECMQV gave the point at infinity")
        mac_key, self._key_data = kdf(z)
        if self.role is Role.INITIATOR:
            u, v, eu, ev = self.own_eui, self.peer_eui, own_encoded, data
        else:
            u, v, eu, ev = self.peer_eui, self.own_eui, data, own_encoded
        macu = confirm_mac(mac_key, MAC_TAG_INITIATOR, u, v, eu, ev)
        macv = confirm_mac(mac_key, MAC_TAG_RESPONDER, v, u, ev, eu)
        if self.role is Role.INITIATOR:
            self._own_mac, self._expected_mac = macu, macv
            self._await(State.AWAIT_CONFIRM_RESPONSE, now, self._peer_confirm_time)
            return [ke.ConfirmKeyDataRequest(macu)]
        self._own_mac, self._expected_mac = macv, macu
        self._await(State.AWAIT_CONFIRM_REQUEST, now, self._peer_confirm_time)
        return [ke.EphemeralDataResponse(own_encoded)]

    def _check_mac(self, received: bytes) -> None:
        if not hmac.compare_digest(received, self._expected_mac):
            which = "MACU" if self.role is Role.RESPONDER else "MACV"
            raise Refusal(Status.BAD_KEY_CONFIRM, f"{which} does not match: the peer derived another key")

    # --- helpers ------------------------------------------------------------------------------
    def _own_ephemeral(self) -> tuple[int, Point, bytes]:
        if self._ephemeral is None:
            secret = scalar_bytes(self.credentials.private_key)
            private = derive_scalar(secret, b"cbke-ephemeral", self.peer_eui, self.attempt.to_bytes(4, "big"))
            point = curve.mul(private, curve.G)
            self._ephemeral = private, point, curve.encode_point(point)
        return self._ephemeral

    def _await(self, state: State, now: float, peer_time: int) -> None:
        self.state = state
        self.deadline = now + peer_time + MARGIN_S

    def _establish(self) -> None:
        self.state = State.ESTABLISHED
        self.deadline = None
        self.link_key = self._key_data

    def _fail(self, failure: Failure) -> None:
        self.state = State.FAILED
        self.deadline = None
        self.failure = failure

    def _terminate(self, status: Status) -> ZclCommand:
        cls = ke.TerminateKeyEstablishmentServer if self.role is Role.RESPONDER else ke.TerminateKeyEstablishmentClient
        return cls(status, TERMINATE_WAIT_S, ke.SUITE_2)


def _status(code: int) -> Status | None:
    try:
        return Status(code)
    except ValueError:
        return None


def _status_name(code: int) -> str:
    status = _status(code)
    return status.name if status is not None else f"status 0x{code:02X}"
