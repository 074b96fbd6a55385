"""Who may write what: each write checks the actor against the rows as stored, never only against a region the
caller names. Every case here was a way round that: a village cadre acting on another village's household by
naming their own village, on another county's project or entity, or a read-only role changing a setting."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Asset, Contract, ContributionRecord, Project, WorkRecord
from daipin.domain.actors import Actor, Role
from daipin.domain.errors import Forbidden, InputError
from daipin.domain.identity import make_uscc
from daipin.services.auth import service as auth
from daipin.services.contracts import service as svc
from daipin.services.dynamic import service as dynamic
from tests.integration.registry_support import (
    ACTOR,
    AT,
    TOWN,
    VILLAGE,
    VILLAGE_B,
    household,
    ledger_size,
    project,
    reg,
    rs_fixture,  # noqa: F401
)

CADRE = Actor(id="cadre", role=Role.VILLAGE_CADRE, region=VILLAGE)  # 兴隆村's cadre
TOWNSHIP = Actor(id="clerk", role=Role.TOWNSHIP_OFFICIAL, region=TOWN)
ADMIN = Actor(id="admin", role=Role.DISTRICT_ADMIN, region="231002")
AUDITOR = Actor(id="auditor", role=Role.AUDITOR, region="231002")
EMPLOYMENT = {"position": "工人", "hours": "8小时", "wage_basis": "day", "wage_fen": 15000, "pay_cycle": "monthly"}
LAND = {"contribution_kind": "land_rights", "contribution_value_fen": 800000, "shares": "8000",
        "profit_share": "0.01"}
QUANTIFIED = {"contribution_kind": "quantified_fund", "contribution_value_fen": 500000, "shares": "5000",
              "profit_share": "0.01"}


def _other_county(rs: Session) -> tuple[Any, Any]:
    """A neighbouring county with its own entity and project."""
    reg.create_region(rs, ACTOR, code="231003", name="西安区", level="district", at=AT)
    reg.create_region(rs, ACTOR, code="231003001", name="西镇", level="township", at=AT)
    reg.create_region(rs, ACTOR, code="231003001001", name="西村", level="village", at=AT)
    e = reg.register_entity(rs, ACTOR, name="西区合作社", kind="cooperative", uscc=make_uscc("93231003MA0990000"),
                            legal_representative="法人代表", county_code="231003", at=AT)
    p, _ = reg.register_project(rs, ACTOR, code="P-W", name="西区项目", category="光伏", entity_id=e.id,
                                township_code="231003001", village_code="231003001001", at=AT)
    return e, p


def _refused(rs: Session, error: type[Exception], call: Any, field: str | None = None) -> None:
    """The call is refused with `error` (naming `field`) and writes nothing to the ledger."""
    size = ledger_size(rs)
    with pytest.raises(error) as exc, rs.begin_nested():
        call()
    if field is not None:
        assert exc.value.field == field  # type: ignore[attr-defined]
    assert ledger_size(rs) == size


def test_work_and_contribution_are_recorded_only_by_those_who_act_for_the_household_s_village(rs: Session) -> None:
    other = household(rs, "H-B", 7, village=VILLAGE_B)  # 新民村
    post = {"kind": "public_welfare_post", "post": "保洁", "period_start": date(2025, 1, 1),
            "period_end": date(2025, 3, 31), "days": "60", "daily_wage_fen": 5000, "at": AT}
    _refused(rs, Forbidden, lambda: reg.record_work(rs, CADRE, household_id=other.id, village_code=VILLAGE, **post))
    _refused(rs, Forbidden, lambda: reg.record_contribution(rs, CADRE, household_id=other.id, year=2025, points="999",
                                                            village_code=VILLAGE, at=AT))
    c = svc.sign_contract(rs, ACTOR, code="C-E", model="employment", project_id=project(rs).id,
                          start_date=date(2025, 1, 1), end_date=date(2025, 12, 31), terms=EMPLOYMENT,
                          payee_household_id=other.id, person_id=reg.members(rs, other.id)[0].id, at=AT)
    _refused(rs, Forbidden, lambda: reg.record_work(
        rs, CADRE, kind="employment", household_id=other.id, contract_id=c.id, period_start=date(2025, 1, 1),
        period_end=date(2025, 1, 31), days="300", village_code=VILLAGE, at=AT))
    _refused(rs, InputError, lambda: reg.record_work(rs, TOWNSHIP, household_id=other.id, village_code="231002009",
                                                     **post), field="village_code")
    assert rs.scalar(select(func.count()).select_from(WorkRecord)) == 0
    assert rs.scalar(select(func.count()).select_from(ContributionRecord)) == 0
    # Whoever acts for both villages records work of one on a post of the other; the household's own cadre
    # records it in the household's village.
    w = reg.record_work(rs, TOWNSHIP, household_id=other.id, village_code=VILLAGE, **post)
    own = household(rs, "H-A", 8, village=VILLAGE)
    r = reg.record_contribution(rs, CADRE, household_id=own.id, year=2025, points="3", at=AT)
    assert (w.village_code, r.village_code) == (VILLAGE, VILLAGE)


def test_a_share_is_moved_only_by_those_who_act_for_its_present_holder(rs: Session) -> None:
    p = project(rs)
    holder = household(rs, "H-B", 7, village=VILLAGE_B)
    mine = household(rs, "H-A", 8, village=VILLAGE)
    land = svc.sign_contract(rs, ACTOR, code="C-L", model="shareholding", project_id=p.id, start_date=date(2025, 1, 1),
                             end_date=date(2030, 12, 31), terms=LAND, payee_household_id=holder.id, at=AT)
    fund = svc.sign_contract(rs, ACTOR, code="C-Q", model="shareholding", project_id=p.id, start_date=date(2025, 1, 1),
                             end_date=date(2030, 12, 31), terms=QUANTIFIED, payee_household_id=holder.id, at=AT)
    # The holding household's last member dies: the land share passes to an heir, the fund share is reassigned.
    dynamic.record_death(rs, ACTOR, reg.members(rs, holder.id)[0].id, date(2025, 5, 1), AT)
    assert (holder.life_state, fund.status) == ("died_out", "pending_reassignment")
    _refused(rs, Forbidden, lambda: svc.transfer_share_to_heir(rs, CADRE, land.id, mine.id, reason="继承", at=AT))
    _refused(rs, Forbidden, lambda: svc.reassign_share(rs, CADRE, fund.id, mine.id, decision_ref="村民会议决议",
                                                       on=date(2025, 6, 1), at=AT))
    assert rs.execute(select(Contract.code, Contract.payee_household_id).order_by(Contract.code)).all() == [
        ("C-L", holder.id), ("C-Q", holder.id)]
    # The township, which acts for both villages, may.
    svc.reassign_share(rs, TOWNSHIP, fund.id, mine.id, decision_ref="村民会议决议", on=date(2025, 6, 1), at=AT)
    svc.transfer_share_to_heir(rs, TOWNSHIP, land.id, mine.id, reason="继承", at=AT)
    assert (fund.payee_household_id, land.payee_household_id) == (mine.id, mine.id)


@pytest.mark.parametrize("actor", [AUDITOR, CADRE, TOWNSHIP], ids=["auditor", "village cadre", "township"])
def test_only_the_district_administrator_or_the_operator_changes_a_setting(rs: Session, actor: Actor) -> None:
    from daipin.services.registry import records as records

    before = reg.get_setting(rs, "market_reference_rate")
    _refused(rs, Forbidden, lambda: reg.set_setting(rs, actor, "market_reference_rate", "0.0001", AT))
    _refused(rs, Forbidden, lambda: records.record_all(rs, actor, "setting",
                                                       {"key": "market_reference_rate", "value": "0.5"}, AT))
    assert reg.get_setting(rs, "market_reference_rate") == before
    reg.set_setting(rs, ADMIN, "market_reference_rate", "0.0300", AT)
    assert reg.get_setting(rs, "market_reference_rate") == "0.0300"


def test_a_contract_asset_or_project_does_not_reach_into_another_county(rs: Session) -> None:
    foreign_entity, foreign_project = _other_county(rs)
    _refused(rs, InputError, lambda: svc.sign_contract(
        rs, CADRE, code="C-X", model="asset_lease", project_id=foreign_project.id, start_date=date(2025, 1, 1),
        end_date=date(2026, 1, 1), terms={"annual_rent_fen": 1}, payee_village_code=VILLAGE, at=AT),
        field="project_id")
    _refused(rs, InputError, lambda: reg.register_asset(
        rs, CADRE, code="A-X", name="光伏板", kind="operating", value_fen=1, project_id=foreign_project.id,
        owner_region_code=VILLAGE, at=AT), field="project_id")
    _refused(rs, InputError, lambda: reg.register_asset(
        rs, ADMIN, code="A-Y", name="光伏板", kind="operating", value_fen=1, owner_region_code=VILLAGE,
        operator_entity_id=foreign_entity.id, at=AT), field="operator_entity_id")
    _refused(rs, InputError, lambda: reg.register_project(
        rs, CADRE, code="P-Y", name="光伏", category="光伏", entity_id=foreign_entity.id, township_code=TOWN,
        village_code=VILLAGE, at=AT), field="entity_id")
    assert rs.scalar(select(func.count()).select_from(Contract)) == 0
    assert rs.scalar(select(func.count()).select_from(Asset)) == 0
    assert rs.scalars(select(Project.code).order_by(Project.code)).all() == ["P-W"]


def test_an_entity_account_is_bound_only_to_an_entity_of_its_county(rs: Session) -> None:
    foreign_entity, _ = _other_county(rs)
    for entity_id in (foreign_entity.id, 999999):
        _refused(rs, InputError, lambda e=entity_id: auth.create_user(
            rs, actor=ADMIN, username="ent-x", password="a-long-password-9", role="entity_user", region="231002",
            entity_id=e, at=AT), field="entity_id")
    own = project(rs)
    user = auth.create_user(rs, actor=ADMIN, username="ent-own", password="a-long-password-9", role="entity_user",
                            region="231002", entity_id=own.entity_id, at=AT)
    assert user.entity_id == own.entity_id
