"""The one formatter of times for people: Beijing time with the zone named; civil dates stay dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daipin.domain.localtime import beijing_date, for_people, from_beijing

# 16:33 UTC on 16 December is 00:33 on 17 December in Beijing: the clock time and the day both differ.
NEAR_MIDNIGHT = datetime(2026, 12, 16, 16, 33, tzinfo=UTC)


def test_an_aware_utc_time_is_shown_in_beijing_with_the_zone_named() -> None:
    assert for_people(NEAR_MIDNIGHT) == "2026-12-17 00:33 北京时间"
    assert for_people(NEAR_MIDNIGHT, lang="en") == "2026-12-17 00:33 Beijing time"
    assert for_people(NEAR_MIDNIGHT, lang="zh_CN") == "2026-12-17 00:33 北京时间"


def test_a_naive_time_is_read_as_utc() -> None:
    # SQLite gives stored times back naive; they were stored as UTC.
    assert for_people(datetime(2026, 12, 16, 16, 33)) == "2026-12-17 00:33 北京时间"


def test_an_aware_time_in_another_zone_is_converted() -> None:
    new_york = timezone(timedelta(hours=-5))
    assert for_people(datetime(2026, 12, 16, 11, 33, tzinfo=new_york)) == "2026-12-17 00:33 北京时间"
    beijing = timezone(timedelta(hours=8))
    assert for_people(datetime(2026, 12, 17, 0, 33, tzinfo=beijing)) == "2026-12-17 00:33 北京时间"


def test_iso_strings_as_kept_in_documents_and_ledger_facts() -> None:
    assert for_people("2026-12-16T16:33:00Z") == "2026-12-17 00:33 北京时间"
    assert for_people("2026-12-16T16:33:00.123456Z") == "2026-12-17 00:33 北京时间"
    assert for_people("2026-12-16T16:33:00+00:00") == "2026-12-17 00:33 北京时间"
    assert for_people(" 2026-12-16T16:33:00+00:00 ", lang="en") == "2026-12-17 00:33 Beijing time"
    assert for_people("2026-12-16T16:33:00") == "2026-12-17 00:33 北京时间"  # naive text is UTC too


def test_a_civil_date_stays_a_date_and_a_time_gives_its_day_in_beijing() -> None:
    assert for_people(date(2026, 12, 16)) == "2026-12-16"
    assert for_people("2026-12-16") == "2026-12-16"
    assert for_people(NEAR_MIDNIGHT, date_only=True) == "2026-12-17"
    assert for_people("2026-12-16T16:33:00Z", date_only=True) == "2026-12-17"


def test_nothing_gives_empty_text() -> None:
    assert for_people(None) == ""
    assert for_people("") == ""


def test_text_that_is_not_a_time_is_refused() -> None:
    with pytest.raises(ValueError):
        for_people("17 December")


# From 1992: China kept summer time from 1986 to 1991, and the zone's rules remember it.
@given(st.datetimes(min_value=datetime(1992, 1, 1), max_value=datetime(2200, 1, 1)))
def test_the_text_is_the_time_eight_hours_ahead_and_reads_back(naive_utc: datetime) -> None:
    at = naive_utc.replace(second=0, microsecond=0, tzinfo=UTC)
    text = for_people(at)
    clock, zone = text.rsplit(" ", 1)
    assert zone == "北京时间"
    assert clock == (at + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    assert from_beijing(clock.replace(" ", "T")) == at  # what a person reads, typed back, is the same time
    assert for_people(at, date_only=True) == beijing_date(at).isoformat()
