"""Registry services on a real database: validation names the field and changes nothing; every write is ledgered."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Household, Person
from daipin.domain.errors import Conflict, DaipinError, InputError
from daipin.ledger import store
from daipin.services.dynamic import service as dynamic
from daipin.services.registry import service as reg
from tests.integration.registry_support import (
    ACTOR,
    AT,
    VILLAGE,
    household,
    ledger_bodies,
    ledger_size,
    person_id,
    project,
    rs_fixture,  # noqa: F401
)


def _counts(session: Session) -> tuple[int, int, int]:
    return (session.scalar(select(func.count()).select_from(Household)) or 0,
            session.scalar(select(func.count()).select_from(Person)) or 0, ledger_size(session))


def test_registering_a_household_stores_members_derives_birth_and_sex_and_records_one_entry(rs: Session) -> None:
    before = ledger_size(rs)
    hh = household(rs, "H-1", 1, labors=("weak", "none"), phone="13900001234", bank_account="6217000012345678")
    people = reg.members(rs, hh.id)
    assert [p.relation for p in people] == ["户主", "配偶"]
    assert people[0].sex == "M" and people[1].sex == "F"
    assert people[0].birth_date == date.fromisoformat(f"{people[0].id_number[6:10]}-{people[0].id_number[10:12]}-"
                                                      f"{people[0].id_number[12:14]}")
    assert hh.labor == "weak"
    assert ledger_size(rs) == before + 1
    body = ledger_bodies(rs)[-1]
    assert body["type"] == "household.register"
    assert body["facts"]["row"]["table"] == "households"
    text = str(body)
    for secret in (people[0].id_number, "13900001234", "6217000012345678", people[0].name):
        assert secret not in text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda m: m[0].update(id_number=m[0]["id_number"][:-1] + ("0" if m[0]["id_number"][-1] != "0" else "1")),
         "members[0].id_number"),
        (lambda m: m[1].update(labor="strong"), "members[1].labor"),
        (lambda m: m[1].update(relation="邻居"), "members[1].relation"),
        (lambda m: m[1].update(relation="户主"), "members"),
        (lambda m: m[0].update(birth_date="1901-01-01"), "members[0].birth_date"),
        (lambda m: m[0].update(sex="女"), "members[0].sex"),
        (lambda m: m[1].update(id_number=m[0]["id_number"]), "members[1].id_number"),
    ],
)
def test_bad_member_data_is_refused_naming_the_field_and_nothing_changes(rs: Session, change, field) -> None:
    members = [{"name": "甲", "id_number": person_id(500, "M"), "relation": "户主", "labor": "full"},
               {"name": "乙", "id_number": person_id(501, "F"), "relation": "配偶", "labor": "weak"}]
    change(members)
    before = _counts(rs)
    with pytest.raises(InputError) as err:
        reg.register_household(rs, ACTOR, household_no="H-X", village_code=VILLAGE, status="poor", members=members,
                               at=AT)
    assert err.value.field == field
    assert err.value.message_zh and err.value.message_en
    assert _counts(rs) == before


def test_a_bad_checksum_error_shows_only_the_masked_id(rs: Session) -> None:
    good = person_id(7)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(InputError) as err:
        reg.register_household(
            rs, ACTOR, household_no="H-1", village_code=VILLAGE, status="poor", at=AT,
            members=[{"name": "甲", "id_number": bad, "relation": "户主", "labor": "full"}])
    assert bad not in err.value.text()
    assert bad[:4] + "**********" + bad[-4:] in err.value.text()
    assert "校验码错误" in err.value.message_zh


def test_an_id_number_already_in_another_household_is_refused(rs: Session) -> None:
    first = household(rs, "H-1", 1)
    taken = reg.members(rs, first.id)[0].id_number
    before = _counts(rs)
    with pytest.raises(Conflict) as err:
        reg.register_household(rs, ACTOR, household_no="H-2", village_code=VILLAGE, status="poor", at=AT,
                               members=[{"name": "丙", "id_number": taken, "relation": "户主", "labor": "full"}])
    assert err.value.field == "members[0].id_number"
    assert _counts(rs) == before


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"village_code": "231002009009"}, "village_code"),
        ({"status": "rich"}, "status"),
        ({"phone": "12345"}, "phone"),
        ({"bank_account": "abc"}, "bank_account"),
        ({"status": "exited"}, "exit_year"),
    ],
)
def test_bad_household_fields_are_refused_with_the_field_named(rs: Session, kwargs, field) -> None:
    args = {"household_no": "H-9", "village_code": VILLAGE, "status": "poor",
            "members": [{"name": "甲", "id_number": person_id(900), "relation": "户主", "labor": "full"}], "at": AT}
    args.update(kwargs)
    before = _counts(rs)
    with pytest.raises(InputError) as err:
        reg.register_household(rs, ACTOR, **args)
    assert err.value.field == field
    assert _counts(rs) == before


def test_households_are_shown_with_phone_bank_and_id_masked_and_no_health_note(rs: Session) -> None:
    hh = reg.register_household(rs, ACTOR, household_no="H-1", village_code=VILLAGE, status="poor", at=AT,
                                phone="13900001234", bank_account="6217000012345678",
                                members=[{"name": "王小明", "id_number": person_id(3), "relation": "户主",
                                          "labor": "none", "health_note": "慢性病"}])
    shown = reg.masked_household(rs, hh)
    assert shown["phone"] == "139****1234"
    assert shown["bank_account"].endswith("5678") and "62170000" not in shown["bank_account"]
    assert shown["members"][0]["id_number"] == person_id(3)[:4] + "*" * 10 + person_id(3)[-4:]
    assert "慢性病" not in str(shown)


def test_eligibility_is_read_as_of_a_date_from_the_status_history(rs: Session) -> None:
    hh = household(rs, "H-1", 1, status="poor")
    dynamic.change_household_status(rs, ACTOR, hh.id, "exited", date(2024, 7, 1), "人均纯收入稳定超过标准", AT,
                                exit_year=2024)
    dynamic.change_household_status(rs, ACTOR, hh.id, "monitored", date(2025, 3, 1), "因病返贫风险", AT)
    assert reg.status_as_of(rs, hh.id, date(2024, 6, 30)) == "poor"
    assert reg.status_as_of(rs, hh.id, date(2024, 7, 1)) == "exited"
    assert reg.status_as_of(rs, hh.id, date(2025, 3, 1)) == "monitored"
    assert not reg.eligible_as_of(rs, hh, date(2024, 12, 31))
    assert reg.eligible_as_of(rs, hh, date(2025, 12, 31))
    assert hh.exit_year == 2024


def test_the_last_death_dissolves_the_household_from_that_date(rs: Session) -> None:
    hh = household(rs, "H-1", 1, labors=("full", "weak"))
    head, spouse = reg.members(rs, hh.id)
    dynamic.record_death(rs, ACTOR, head.id, date(2025, 2, 1), AT)
    assert hh.labor == "weak" and hh.life_state == "alive"
    dynamic.record_death(rs, ACTOR, spouse.id, date(2025, 5, 1), AT)
    assert hh.life_state == "died_out"
    assert reg.eligible_as_of(rs, hh, date(2025, 4, 30))
    assert not reg.eligible_as_of(rs, hh, date(2025, 5, 1))
    with pytest.raises(Conflict):
        dynamic.record_death(rs, ACTOR, spouse.id, date(2025, 5, 2), AT)


def test_an_entity_needs_a_valid_social_credit_code(rs: Session) -> None:
    before = ledger_size(rs)
    with pytest.raises(InputError) as err:
        reg.register_entity(rs, ACTOR, name="某公司", kind="enterprise", uscc="91231002MA00000001",
                            legal_representative="甲", county_code="231002", at=AT)
    assert err.value.field == "uscc"
    with pytest.raises(InputError) as err:
        reg.register_entity(rs, ACTOR, name="某公司", kind="bank", uscc="91231002MA0000000X",
                            legal_representative="甲", county_code="231002", at=AT)
    assert err.value.field == "kind"
    assert ledger_size(rs) == before


def test_expected_return_is_compared_with_the_market_reference_rate_kept_as_a_setting(rs: Session) -> None:
    assert [w["code"] for w in reg.return_warnings(rs, "0.02")] == ["below_market_rate"]
    assert reg.return_warnings(rs, "0.05") == []
    assert [w["code"] for w in reg.return_warnings(rs, "0.25")] == ["above_plausible_return"]
    reg.set_setting(rs, ACTOR, "market_reference_rate", "0.0600", AT)
    assert [w["code"] for w in reg.return_warnings(rs, "0.05")] == ["below_market_rate"]
    with pytest.raises(InputError):
        reg.set_setting(rs, ACTOR, "market_reference_rate", "abc", AT)


def test_project_with_unknown_funding_source_is_refused(rs: Session) -> None:
    with pytest.raises(InputError) as err:
        reg.register_project(
            rs, ACTOR, code="P-9", name="项目", category="特色种养业", entity_id=_entity_id(rs),
            township_code="231002001", funding=[{"source": "彩票", "amount_fen": 1}], at=AT)
    assert err.value.field == "funding[0].source"


def _entity_id(session: Session) -> int:
    from tests.integration.registry_support import entity

    return int(entity(session, 5).id)


@pytest.mark.edits_rows_behind_the_ledger
def test_every_registry_write_leaves_a_row_digest_that_detects_a_later_edit(rs: Session) -> None:
    hh = household(rs, "H-1", 1, phone="13900001234")
    p = project(rs, 1)
    reg.record_profit(rs, ACTOR, p.id, period_start=date(2025, 1, 1), period_end=date(2025, 12, 31),
                      profit_fen=100, at=AT)
    checks = store.row_checks()
    facts = [b["facts"]["row"] for b in ledger_bodies(rs) if "row" in b.get("facts", {})]
    assert {f["table"] for f in facts} >= {"regions", "households", "entities", "projects", "profit_records"}
    latest = {(f["table"], f["id"]): f["digest"] for f in facts}
    for (table, id_), want in latest.items():
        state = checks[table](rs, id_)
        assert state is not None and store.row_digest(state) == want, (table, id_)
    hh.phone = "13900009999"  # an edit behind the services' back
    rs.flush()
    assert store.row_digest(checks["households"](rs, str(hh.id)) or {}) != latest[("households", str(hh.id))]


def test_errors_are_daipin_errors_with_both_languages(rs: Session) -> None:
    with pytest.raises(DaipinError) as err:
        reg.get_household(rs, 999999)
    assert err.value.status == 404


@pytest.mark.edits_rows_behind_the_ledger
def test_an_edited_member_or_funding_row_is_named_by_the_entry_that_recorded_it(rs: Session) -> None:
    """Row facts under an entry's own keys (a household's people, a project's funding rows) are checked too."""
    from sqlalchemy import text

    from daipin.db.models.registry import FundingSource
    from daipin.ledger.verify import verify_log

    hh = household(rs, "H-1", 1, labors=("full", "weak"))
    p = project(rs)
    rs.flush()
    assert verify_log(rs).ok
    registered = next(i for i, b in enumerate(ledger_bodies(rs)) if b["type"] == "household.register")
    funded = next(i for i, b in enumerate(ledger_bodies(rs)) if b["type"] == "project.register")
    spouse = reg.members(rs, hh.id)[1]
    rs.execute(text("UPDATE people SET labor = 'full' WHERE id = :id"), {"id": spouse.id})
    rs.expire_all()
    report = verify_log(rs)
    assert [pr.index for pr in report.problems] == [registered]
    rs.execute(text("UPDATE people SET labor = 'weak' WHERE id = :id"), {"id": spouse.id})
    source = rs.scalar(select(FundingSource.id).where(FundingSource.project_id == p.id))
    rs.execute(text("UPDATE funding_sources SET amount_fen = amount_fen + 1 WHERE id = :id"), {"id": source})
    rs.expire_all()
    report = verify_log(rs)
    assert [pr.index for pr in report.problems] == [funded]


@pytest.mark.parametrize("profit", [-(10**15) - 1, 10**15 + 1, 2**63])
def test_a_profit_no_project_makes_is_refused_naming_the_field(rs: Session, profit: int) -> None:
    p = project(rs)
    before = ledger_size(rs)
    with pytest.raises(InputError) as err:
        reg.record_profit(rs, ACTOR, p.id, period_start=date(2025, 1, 1), period_end=date(2025, 12, 31),
                          profit_fen=profit, at=AT)
    assert err.value.field == "profit_fen" and "过大" in err.value.message_zh and ledger_size(rs) == before
