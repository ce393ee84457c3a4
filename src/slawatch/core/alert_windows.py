"""The default multiwindow, multi-burn-rate alert set, as data, and how it scales to an SLO window.

Source: Google SRE Workbook, "Alerting on SLOs", section 6 (multiwindow, multi-burn-rate alerts),
as also shipped by Sloth in internal/alert/windows/google-30d.yaml. For a 30-day SLO window:

    severity  long   short  budget consumed  factor = budget% x period / 100 / long window
    page      1h     5m     2 %              14.4
    page      6h     30m    5 %              6
    ticket    1d     2h     10 %             3
    ticket    3d     6h     10 %             1

For other SLO windows the long and short windows scale by window / 30d (a 1-day SLO pages over
2m & 10s; a 28-day SLO over 56m & 4m40s) and the factor is re-derived from the budget percent, which
keeps 14.4 / 6 / 3 / 1. Sloth instead keeps the 1h/5m... windows for 28 days and so gets factors
13.44 / 5.6 / 2.8 / 0.933: an SLO that wants exactly that writes those windows explicitly, and
`burn_rate_factor(2, 28d, 1h)` gives 13.44. The factor is always derived, never typed in.
"""

from __future__ import annotations

from slawatch.core.model import BurnRateRule, Severity

REFERENCE_PERIOD_S = 30 * 86400

# (name, severity, long window s, short window s, budget percent) for a 30-day window.
SRE_WORKBOOK_30D: tuple[tuple[str, Severity, int, int, float], ...] = (
    ("page-fast", Severity.PAGE, 3600, 300, 2.0),
    ("page-slow", Severity.PAGE, 6 * 3600, 1800, 5.0),
    ("ticket-fast", Severity.TICKET, 86400, 2 * 3600, 10.0),
    ("ticket-slow", Severity.TICKET, 3 * 86400, 6 * 3600, 10.0),
)


def burn_rate_factor(budget_percent: float, period_s: int, long_window_s: int) -> float:
    """The burn rate at which `budget_percent` of the period's budget is spent in the long window."""
    return budget_percent * period_s / 100.0 / long_window_s


def default_rules(period_s: int) -> tuple[BurnRateRule, ...]:
    """The SRE-workbook rules with windows scaled from 30 days to `period_s` (whole seconds)."""
    rules = []
    for name, severity, long_s, short_s, percent in SRE_WORKBOOK_30D:
        long_scaled = max(1, round(long_s * period_s / REFERENCE_PERIOD_S))
        short_scaled = max(1, round(short_s * period_s / REFERENCE_PERIOD_S))
        rules.append(
            BurnRateRule(
                name=name,
                severity=severity,
                long_window_s=long_scaled,
                short_window_s=short_scaled,
                budget_percent=percent,
                factor=burn_rate_factor(percent, period_s, long_scaled),
            )
        )
    return tuple(rules)
