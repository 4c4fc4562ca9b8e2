"""Restricted-mode policy as data (RM-4, RM-5, RM-7, RM-9, RM-11): every knob configurable.

SRVs (RM-4): those of class CONS are blocked for a Restricted device, CONS? are allowed
unless configured. The decision is taken on the use case a GBCS frame carries (its
message code), so a frame cannot borrow an allowed SRV's name: see :meth:`frame_allowed`.

Alerts (RM-5): one home, the alert list (``emulator/data/restricted_alerts.csv`` by
default, or a user's file of the same format): a line per alert code with its decision,
category and reason. Only that list decides; whether the alert was device-signed
(critical) does not, so a signed billing-data alert (0x8F0A) from a Restricted meter is
discarded like any other consumption alert.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources

from emulator.gbcs import catalogue
from emulator.gbcs.usecases import srvs_for_message_code

ALERT_DECISIONS = ("deliver", "discard")
ALERT_CATEGORIES = ("critical", "security", "safety", "firmware", "consumption", "operational")
_ALERT_COLUMNS = ["code", "decision", "category", "reason"]


class PolicyError(ValueError):
    """A Restricted policy file that cannot be used; the message names the file, line and field."""


@dataclass(frozen=True, slots=True)
class AlertRule:
    code: int
    deliver: bool
    category: str
    reason: str


def parse_alert_list(text: str, source: str) -> dict[int, AlertRule]:
    """The alert list in ``text`` (CSV: code, decision, category, reason; '#' lines are comments)."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    if reader.fieldnames != _ALERT_COLUMNS:
        raise PolicyError(f"{source}: the header must be {','.join(_ALERT_COLUMNS)}, not "
                          f"{','.join(reader.fieldnames or [])}")
    rules: dict[int, AlertRule] = {}
    for n, row in enumerate(reader, start=2):
        where = f"{source}: data line {n - 1}"
        raw = (row.get("code") or "").strip()
        try:
            code = int(raw, 16)
        except ValueError:
            raise PolicyError(f"{where}: code {raw!r} is not a hex alert code like 0x8F0A") from None
        if not 0 <= code <= 0xFFFF:
            raise PolicyError(f"{where}: code {raw} is not a 16-bit alert code")
        decision = (row.get("decision") or "").strip()
        if decision not in ALERT_DECISIONS:
            raise PolicyError(f"{where}: decision {decision!r} for {raw} must be one of {', '.join(ALERT_DECISIONS)}")
        category = (row.get("category") or "").strip()
        if category not in ALERT_CATEGORIES:
            raise PolicyError(f"{where}: category {category!r} for {raw} must be one of "
                              f"{', '.join(ALERT_CATEGORIES)}")
        if decision == "deliver" and category == "consumption":
            raise PolicyError(f"{where}: {raw} is a consumption alert: MP169 never delivers those from a "
                              f"Restricted device")
        if code in rules:
            raise PolicyError(f"{where}: {raw} is listed twice")
        rules[code] = AlertRule(code, decision == "deliver", category, (row.get("reason") or "").strip())
    return rules


@cache
def default_alert_list() -> dict[int, AlertRule]:
    text = resources.files("emulator.data").joinpath("restricted_alerts.csv").read_text(encoding="utf-8")
    return parse_alert_list(text, "restricted_alerts.csv")


def _default_deliver() -> frozenset[int]:
    return frozenset(code for code, rule in default_alert_list().items() if rule.deliver)


@dataclass(frozen=True, slots=True)
class RestrictedPolicy:
    blocked_classes: frozenset[str] = frozenset({"CONS"})
    extra_blocked_srvs: frozenset[str] = frozenset()
    allowed_srvs: frozenset[str] = frozenset()  # exceptions that stay allowed whatever their class
    deliver_alert_codes: frozenset[int] = field(default_factory=_default_deliver)
    rejection_code: str = "E72"  # not in DUIS 5.4's list (it stops at E71): the project's code
    precommand_mismatch_code: str = "E51"  # a CV 5 that is not the Pre-Command the DSP issued
    notify_csp: bool = True  # RM-7: later business requirements dropped it, so it is a switch
    clear_on_change_of_tenancy: bool = True  # RM-9
    firmware_failure_threshold: int = 2  # RM-11: "keep failing" = this many failures or more
    precommand_lifetime_s: float = 24 * 3600.0  # how long an issued Pre-Command may come back signed

    def srv_allowed(self, srv: str) -> bool:
        """May ``srv`` be sent to a Restricted device? (RM-4)."""
        if srv in self.allowed_srvs:
            return True
        if srv in self.extra_blocked_srvs:
            return False
        info = catalogue.srvs().get(srv)
        return info is None or info.restricted_class not in self.blocked_classes

    def frame_allowed(self, message_code: int) -> bool:
        """May a command carrying ``message_code`` reach a Restricted device? (RM-4).

        Every SRV whose use case is that message code must be allowed; a message code that no
        SRV produces is never sent to a Restricted device."""
        srvs = srvs_for_message_code(message_code)
        return bool(srvs) and all(self.srv_allowed(s) for s in srvs)

    def alert_delivered(self, alert_code: int) -> bool:
        """Does an alert from a Restricted device reach the user and the SAT log? (RM-5).

        Only the configured list decides: not the device's signature, not a group label."""
        return alert_code in self.deliver_alert_codes

    @classmethod
    def with_cons_question(cls, blocked: bool) -> RestrictedPolicy:
        """The CONS? policy choice: block consumption-derived/financial SRVs too."""
        return cls(blocked_classes=frozenset({"CONS", "CONS?"}) if blocked else frozenset({"CONS"}))

    def with_alert_list(self, text: str, source: str) -> RestrictedPolicy:
        """This policy with the alert list in ``text`` (a user's ``--restricted-policy`` file, read by the CLI)."""
        rules = parse_alert_list(text, source)
        return replace(self, deliver_alert_codes=frozenset(c for c, r in rules.items() if r.deliver))
