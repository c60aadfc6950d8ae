"""Alerts: a stable code, a severity, a message and its source, all read from the monograph data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ertplan.core.monograph import Monograph, Severity

SEVERITY_ORDER: dict[Severity, int] = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Alert:
    """Something about an order that a person must see. `verified` is false for unchecked facts."""

    code: str
    severity: Severity
    message: str
    source: str
    verified: bool = True


def make_alert(monograph: Monograph, code: str, **values: Any) -> Alert:
    """The alert `code` as the monograph words it, its message filled in with `values`."""
    rule = monograph.alerts.get(code)
    if rule is None:
        raise KeyError(f"{monograph.drug} monograph has no alert {code!r}")
    return Alert(
        code=code,
        severity=rule.severity,
        message=rule.message.format(**values),
        source=monograph.cite(rule.source),
        verified=rule.verified,
    )


def by_severity(alerts: list[Alert]) -> tuple[Alert, ...]:
    """Alerts with the most severe first, keeping the order they were found in otherwise."""
    return tuple(sorted(alerts, key=lambda alert: SEVERITY_ORDER[alert.severity]))
