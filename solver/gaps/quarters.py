"""The horizon's calendar: quarter 0 runs from today to the next calendar quarter, then whole quarters."""

from __future__ import annotations

import datetime as dt


def _quarter_starts(today: dt.date, horizon: int) -> list[dt.date]:
    month = ((today.month - 1) // 3 + 1) * 3 + 1
    year = today.year + (month > 12)
    month = month - 12 if month > 12 else month
    starts = [today]
    for _ in range(horizon + 1):
        starts.append(dt.date(year, month, 1))
        month += 3
        if month > 12:
            month -= 12
            year += 1
    return starts


def _quarter_label(start: dt.date) -> str:
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
