"""Growing delays for repeated attempts, and the 429 answer that says when to try again, in Beijing time."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from daipin.domain.errors import Throttled
from daipin.domain.localtime import for_people


def delay(excess: int, first: timedelta, cap: timedelta) -> timedelta:
    """`first`, doubled for each attempt beyond the first that calls for a wait (`excess`), at most `cap`."""
    return min(cap, first * (1 << min(max(excess, 0), 20)))


def refused(message_zh: str, message_en: str, *, at: datetime, until: datetime,
            field: str | None = None) -> Throttled:
    """The refusal of an attempt made at `at` that may be made again from `until`: the time is shown to the
    minute, rounded up, so that a retry at the time shown is never refused."""
    seconds = max(1, math.ceil((until - at).total_seconds()))
    shown = until if until.second == 0 and until.microsecond == 0 else \
        until.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return Throttled(f"{message_zh}，请在 {for_people(shown)} 之后再试",
                     f"{message_en}; try again after {for_people(shown, lang='en')}", field,
                     retry_at=until, retry_after=seconds)
