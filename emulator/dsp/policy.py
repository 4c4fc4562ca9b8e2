"""Restricted-mode policy as data (RM-4, RM-5, RM-7, RM-9, RM-11): every knob configurable.

Defaults come from the catalogues: SRVs of class CONS are blocked for a Restricted
device, CONS? are allowed unless configured; alert codes whose ``restricted_default``
is ``deliver`` (security, safety, firmware) still reach the user and the SAT log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from emulator.gbcs import catalogue


@cache
def _default_deliver() -> frozenset[int]:
    return frozenset(code for code, a in catalogue.alert_codes().items() if a.restricted_default == "deliver")


@dataclass(frozen=True, slots=True)
class RestrictedPolicy:
    blocked_classes: frozenset[str] = frozenset({"CONS"})
    extra_blocked_srvs: frozenset[str] = frozenset()
    allowed_srvs: frozenset[str] = frozenset()  # exceptions that stay allowed whatever their class
    deliver_alert_codes: frozenset[int] = field(default_factory=_default_deliver)
    rejection_code: str = "E72"
    notify_csp: bool = True  # RM-7: later business requirements dropped it, so it is a switch
    clear_on_change_of_tenancy: bool = True  # RM-9
    firmware_failure_threshold: int = 2  # RM-11: "keep failing" = this many failures or more

    def srv_allowed(self, srv: str) -> bool:
        """May ``srv`` be sent to a Restricted device? (RM-4)."""
        if srv in self.allowed_srvs:
            return True
        if srv in self.extra_blocked_srvs:
            return False
        info = catalogue.srvs().get(srv)
        return info is None or info.restricted_class not in self.blocked_classes

    def alert_delivered(self, alert_code: int, critical: bool) -> bool:
        """Does an alert from a Restricted device reach the user and the SAT log? (RM-5).

        The configured list alone decides: a device-signed (critical) alert is discarded too
        when the list says so (a signed 0x8F0A billing data log carries consumption data)."""
        return alert_code in self.deliver_alert_codes

    @classmethod
    def with_cons_question(cls, blocked: bool) -> RestrictedPolicy:
        """The CONS? policy choice: block consumption-derived/financial SRVs too."""
        return cls(blocked_classes=frozenset({"CONS", "CONS?"}) if blocked else frozenset({"CONS"}))
