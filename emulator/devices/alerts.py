"""Device alerts: which are critical, and an outbox that retries until acknowledged (DV-6).

GBCS devices resend an alert that the DCC has not acknowledged (about every 300 s);
the emulator acknowledges alerts end to end (the DSP's receipt travels back down), so
an alert lost on the HAN or WAN is sent again, and the receiver de-duplicates by
(originator, counter).
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.gbcs import catalogue

RETRY_INTERVAL_S = 300.0
MAX_ATTEMPTS = 12


def alert_is_critical(code: int) -> bool:
    """Security, safety and firmware alerts go as critical (signed ``0x1000``) alerts.

    GBCS classes each alert code; the catalogue's ``group`` carries that split, which is
    also what the Restricted default keys on (RM-5).
    """
    info = catalogue.alert_codes().get(code)
    return info is not None and info.group in ("security", "safety", "firmware")


@dataclass(slots=True)
class PendingAlert:
    counter: int
    code: int
    wire: bytes
    first_sent: float
    next_due: float
    attempts: int = 1


class AlertOutbox:
    """Alerts sent and not yet acknowledged, with their retry deadlines (pure state)."""

    def __init__(self, retry_interval: float = RETRY_INTERVAL_S, max_attempts: int = MAX_ATTEMPTS) -> None:
        self.retry_interval = retry_interval
        self.max_attempts = max_attempts
        self.pending: dict[int, PendingAlert] = {}
        self.given_up: list[PendingAlert] = []

    def sent(self, counter: int, code: int, wire: bytes, now: float) -> None:
        self.pending[counter] = PendingAlert(counter, code, wire, now, now + self.retry_interval)

    def acknowledged(self, counter: int) -> bool:
        return self.pending.pop(counter, None) is not None

    def due(self, now: float) -> list[PendingAlert]:
        """Alerts to send again now; each is rescheduled (or given up after max attempts)."""
        out: list[PendingAlert] = []
        for alert in list(self.pending.values()):
            if alert.next_due > now:
                continue
            if alert.attempts >= self.max_attempts:
                del self.pending[alert.counter]
                self.given_up.append(alert)
                continue
            alert.attempts += 1
            alert.next_due = now + self.retry_interval
            out.append(alert)
        return out

    def next_deadline(self) -> float | None:
        return min((a.next_due for a in self.pending.values()), default=None)
