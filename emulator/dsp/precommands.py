"""The Pre-Commands the DSP issues (command variant 4) and the signed ones it accepts back (5).

A critical SRV is a two-step exchange: the DSP frames the GBCS command as a Pre-Command for
the user to sign, and the user sends it back signed. The ledger keeps every Pre-Command it
issues, by the frame's own identity (originator, target, counter), so that what comes back
is held to exactly those bytes: a user cannot sign a frame of its own making (a consumption
read, say) and pass it off as the Signed Pre-Command of an allowed SRV. Sans-IO.
"""

from __future__ import annotations

from dataclasses import replace

from emulator.dsp.model import Issued, frame_key
from emulator.dsp.repository import Repository
from emulator.gbcs import frames, security
from emulator.gbcs.errors import GbcsError
from emulator.gbcs.keys import KeyStore
from emulator.zigbee.eui64 import Eui64

__all__ = ["Issued", "PreCommandLedger", "frame_key"]


class PreCommandLedger:
    def __init__(self, repo: Repository, keys: KeyStore | None) -> None:
        self.repo = repo
        #: Users' public DS keys: a signed Pre-Command must verify with its user's key.
        self.keys = keys

    def issue(self, record: Issued) -> None:
        self.repo.put_precommand(record)

    def use(self, record: Issued) -> None:
        self.repo.put_precommand(replace(record, state="used"))

    def issued_for(self, request_id: str, user: str, target: Eui64, counter: int) -> Issued | None:
        """The Pre-Command issued under ``request_id`` and not used yet, if any."""
        record = self.repo.precommand(frame_key(user, target, counter))
        if record is None:
            return None
        return record if record.request_id == request_id and record.state == "issued" else None

    def match(self, user: str, srv: str, target: Eui64, signed_hex: str | None, now: float) -> Issued | str:
        """The issued Pre-Command a CV 5 request's signed GBCS answers, or why it answers none."""
        if not signed_hex:
            return "CommandVariant 5 needs the signed Pre-Command (GBCSPayload)"
        try:
            msg = frames.decode(bytes.fromhex(signed_hex))
        except (GbcsError, ValueError) as e:
            return f"the signed Pre-Command is not a GBCS message: {e}"
        originator, frame_target = msg.originator.hex().upper(), Eui64(msg.target)
        if originator != user or frame_target != target:
            return (f"the signed Pre-Command is from {originator} to {frame_target}; this request is from {user} "
                    f"to {target}")
        record = self.repo.precommand(frame_key(user, target, msg.counter))
        if record is None:
            return f"the DSP issued no Pre-Command with counter {msg.counter} to {user} for {target}"
        if record.state != "issued":
            return f"the Pre-Command of request {record.request_id} was already sent ({record.state})"
        if now > record.expires:
            return f"the Pre-Command of request {record.request_id} expired (issued at {record.issued:.0f})"
        if record.srv != srv:
            return f"the Pre-Command of request {record.request_id} is for SRV {record.srv}, not {srv}"
        unsigned = frames.encode(msg.with_(precommand=True, mac_protected=False, mac=None, signature=None))
        if unsigned.hex().upper() != record.precommand:
            return f"the signed GBCS differs from the Pre-Command issued for request {record.request_id}"
        if self.keys is not None:
            try:
                security.verify_signature(self.keys, msg.with_(precommand=False, mac_protected=False, mac=None))
            except (GbcsError, KeyError) as e:
                return f"the Pre-Command's signature is not {user}'s: {e}"
        return record
