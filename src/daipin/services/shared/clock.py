"""The one clock every edge (the API, the pages, the command line) stamps steps with.

`now(session, clock)` is the time the system records a step at: the real UTC time (`clock`, which tests
inject), plus — on a training database only — the offset recorded by `advance`. Nobody types the time of a
step; an event held on paper (a meeting, a vote) may declare its own time, checked by `declared_time`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.domain.errors import Conflict, InputError
from daipin.domain.localtime import for_people
from daipin.ledger import clock as ledger_clock
from daipin.ledger import store
from daipin.services.shared import trace

Clock = ledger_clock.Clock
system_time = ledger_clock.system_time
origin = ledger_clock.origin
is_training_origin = ledger_clock.is_training_origin
training = ledger_clock.training
offset = ledger_clock.offset
MAX_ADVANCE = timedelta(days=366)


def now(session: Session, clock: Clock = system_time) -> datetime:
    """The time a step taken now is recorded at (UTC, aware)."""
    return ledger_clock.now(session, clock)


_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_duration(text: str) -> timedelta:
    """`10d`, `12h`, `30m` (or combined, `1d12h`); InputError naming `by` otherwise."""
    value = (text or "").strip().lower()
    parts = re.findall(r"(\d+)\s*([dhm])", value)
    if not value or not parts or re.sub(r"\d+\s*[dhm]", "", value).strip():
        raise InputError("时长格式应如 10d、12h、30m", "a duration looks like 10d, 12h or 30m", "by")
    by = timedelta()
    for amount, unit in parts:
        by += timedelta(**{_UNITS[unit]: int(amount)})
    return by


def advance(session: Session, actor: Actor, by: timedelta, clock: Clock = system_time) -> datetime:
    """Move a training database's clock forward by `by` (recorded by a ledger entry); returns the new time.

    A production database refuses any change of its clock, naming why."""
    access.require(actor, "setting.write", field="actor")
    info = store.require_log(session)
    if not ledger_clock.is_training_origin(info.origin):
        raise Conflict(f"生产数据库不能调整时钟：账本 {info.origin} 不是演示/培训账本，办理时间只能是系统记录的真实时间",
                       f"a production database refuses any clock change: the ledger {info.origin} is not a "
                       "training ledger, and every step is stamped with the real time", "clock",
                       code="production_clock")
    if by <= timedelta(0) or by > MAX_ADVANCE:
        raise InputError("时钟只能向前调整，且一次不超过366天", "the clock moves forward only, by at most 366 days", "by")
    before = offset(session)
    after = before + by
    real = ledger_clock.aware(clock())
    at = real + after
    trace.record(session, actor=actor, type=ledger_clock.ADVANCED, subject="clock", region=info.county_code,
                 facts={"by_seconds": int(by.total_seconds()), "offset_seconds": int(after.total_seconds()),
                        "real_at": real.isoformat()}, at=at)
    return at


def declared_time(value: datetime | None, *, recorded_at: datetime, not_before: datetime | None, max_days: int,
                  field: str, what_zh: str) -> datetime | None:
    """An event's own time as declared for a paper record: in the past, not before the previous step's event, and
    not more than `max_days` before it is recorded; InputError naming `field` otherwise."""
    if value is None:
        return None
    at = ledger_clock.aware(value)
    if at > recorded_at:
        raise InputError(f"{what_zh}不能晚于登记时间（{for_people(recorded_at)}）",
                         f"{field} must lie in the past (recorded {for_people(recorded_at, lang='en')})", field)
    if not_before is not None and at < ledger_clock.aware(not_before):
        raise InputError(f"{what_zh}不能早于上一步骤（{for_people(not_before)}）",
                         f"{field} may not be before the previous step ({for_people(not_before, lang='en')})", field)
    if recorded_at - at > timedelta(days=max_days):
        raise InputError(f"{what_zh}早于登记时间超过 {max_days} 天，须在 {max_days} 天内登记",
                         f"{field} is more than {max_days} days before it is recorded", field)
    return at
