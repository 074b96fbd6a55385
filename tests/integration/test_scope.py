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
from daipin.domain.errors import Forbidden, InputError, NotFound
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
    entity,
    household,
    ledger_size,
    person_id,
    project,
    reassign,
    reg,
    rs_fixture,  # noqa: F401
    sign,
)
from tests.integration.registry_support import (
    sign as sign_by_decision,
)

CADRE = Actor(id="cadre", role=Role.VILLAGE_CADRE, region=VILLAGE)  # 兴隆村's cadre
TOWNSHIP = Actor(id="clerk", role=Role.TOWNSHIP_OFFICIAL, region=TOWN)
ADMIN = Actor(id="admin", role=Role.DISTRICT_ADMIN, region="231002")
AUDITOR = Actor(id="auditor", role=Role.AUDITOR, region="231002")
EMPLOYMENT = {"position": "工人", "hours": "8小时", "wage_basis": "day", "wage_fen": 15000, "pay_cycle": "monthly"}
TRUSTEESHIP = {"asset_kind": "land", "unit": "mu", "units": "10", "annual_fen_per_unit": 450_00,
               "duties": ["购买农业保险"]}
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
    c = sign(rs, ACTOR, code="C-E", model="employment", project_id=project(rs).id,
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
    land = sign(rs, ACTOR, code="C-L", model="shareholding", project_id=p.id, start_date=date(2025, 1, 1),
                             end_date=date(2030, 12, 31), terms=LAND, payee_household_id=holder.id, at=AT)
    fund = sign(rs, ACTOR, code="C-Q", model="shareholding", project_id=p.id, start_date=date(2025, 1, 1),
                             end_date=date(2030, 12, 31), terms=QUANTIFIED, payee_household_id=holder.id, at=AT)
    # The holding household's last member dies: the land share passes to an heir, the fund share is reassigned.
    dynamic.record_death(rs, ACTOR, reg.members(rs, holder.id)[0].id, date(2025, 5, 1), AT)
    assert (holder.life_state, fund.status) == ("died_out", "pending_reassignment")
    _refused(rs, Forbidden, lambda: svc.transfer_share_to_heir(rs, CADRE, land.id, mine.id, reason="继承", at=AT))
    # A freed quantified share is given anew only by its own village's decision: another village's cadre can
    # neither draft that village's matter nor decide another village's share in its own.
    neighbour = household(rs, "H-B2", 6, village=VILLAGE_B)
    _refused(rs, NotFound, lambda: reassign(rs, CADRE, fund, neighbour, on=date(2025, 6, 1), at=AT), field="region")
    _refused(rs, InputError, lambda: reassign(rs, CADRE, fund, mine, on=date(2025, 6, 1), at=AT),
             field="document.reassignments[0].contract")
    assert rs.execute(select(Contract.code, Contract.payee_household_id).order_by(Contract.code)).all() == [
        ("C-L", holder.id), ("C-Q", holder.id)]
    # The holder's village decides; the township, which acts for both villages, passes the land share on.
    reassign(rs, ACTOR, fund, neighbour, on=date(2025, 6, 1), at=AT)
    svc.transfer_share_to_heir(rs, TOWNSHIP, land.id, mine.id, reason="继承", at=AT)
    assert (fund.payee_household_id, land.payee_household_id) == (neighbour.id, mine.id)


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


# ---------------------------------------------------------------- every service asks the one policy

CADRE_B = Actor(id="cadre-b", role=Role.VILLAGE_CADRE, region=VILLAGE_B)  # 新民村's cadre
OTHER_TOWNSHIP = Actor(id="clerk-2", role=Role.TOWNSHIP_OFFICIAL, region="231002002")
PLAN = [{"name": "兜底", "share": "1", "rule": "direct_support", "per": "household"}]


def test_writes_are_refused_outside_the_actor_s_own_region_and_allowed_inside(rs: Session) -> None:
    """One write of each kind, refused (Forbidden, nothing on the ledger) to the cadre of the next village and to
    the official of another township, then done by the village's own cadre."""
    from daipin.services.runs import service as runs

    hh = household(rs, "H-A", 1)
    p = project(rs)
    member = {"name": "新成员", "relation": "子", "labor": "none", "id_number": person_id(501)}
    writes: dict[str, Any] = {
        "household.write": lambda a: reg.register_household(
            rs, a, household_no="H-NEW", village_code=VILLAGE, status="poor", at=AT, status_since=date(2020, 1, 1),
            members=[{"name": "新户主", "relation": "户主", "labor": "full", "id_number": person_id(502)}]),
        "household.write (member)": lambda a: reg.add_member(rs, a, hh.id, member, AT),
        "household.write (status)": lambda a: dynamic.change_household_status(
            rs, a, hh.id, "exited", date(2025, 5, 1), "脱贫", AT, exit_year=2025),
        "project.write": lambda a: reg.register_project(
            rs, a, code="P-NEW", name="新项目", category="光伏", entity_id=p.entity_id, township_code=TOWN,
            village_code=VILLAGE, at=AT),
        "project.write (profit)": lambda a: reg.record_profit(
            rs, a, p.id, period_start=date(2024, 1, 1), period_end=date(2024, 12, 31), profit_fen=100, at=AT),
        "asset.write": lambda a: reg.register_asset(rs, a, code="A-NEW", name="冷库", kind="operating", value_fen=1,
                                                    owner_region_code=VILLAGE, at=AT),
        "plan.write": lambda a: runs.save_allocation_plan(rs, a, village_code=VILLAGE, year=2024, pool_fen=100,
                                                          buckets=PLAN, at=AT),
        "contract.sign": lambda a: svc.sign_contract(
            rs, a, code="C-NEW", model="trusteeship", project_id=p.id, start_date=date(2025, 1, 1),
            end_date=date(2025, 12, 31), terms=TRUSTEESHIP, payee_household_id=hh.id, at=AT),
        "work.write": lambda a: reg.record_contribution(rs, a, household_id=hh.id, year=2025, points="1", at=AT),
    }
    for name, write in writes.items():
        for outsider in (CADRE_B, OTHER_TOWNSHIP, AUDITOR):
            _refused(rs, Forbidden, lambda w=write, o=outsider: w(o))
        with rs.begin_nested():
            size = ledger_size(rs)
            write(CADRE)
            assert ledger_size(rs) > size, name


def test_only_the_district_changes_an_entity_s_credit_status(rs: Session) -> None:
    """Listing an entity as untrustworthy (which stops its new contracts) or lifting it is the district's
    (SUPERVISION.md, 国办发〔2020〕49号), not that of the township or the village it is registered in."""
    e = reg.register_entity(rs, ACTOR, name="兴隆村合作社", kind="cooperative", uscc=make_uscc("93231002MA0770000"),
                            legal_representative="法人代表", county_code="231002", region_code=VILLAGE, at=AT)
    for actor in (CADRE, TOWNSHIP, AUDITOR):
        _refused(rs, Forbidden, lambda a=actor: reg.set_credit_status(rs, a, e.id, "normal", date(2025, 5, 1),
                                                                       "整改完成", AT))
    reg.set_credit_status(rs, ADMIN, e.id, "warned", date(2025, 5, 1), "逾期未兑现分红", AT)
    assert e.credit_status == "warned"


def test_an_account_without_its_own_region_reaches_nothing(rs: Session) -> None:
    """A cadre named without a region (`--as village_cadre:c1` on the command line) once passed every region
    check, as if it were the operator; now it reads and writes nothing."""
    from daipin.services.registry import views as rv

    hh = household(rs, "H-A", 1)
    nobody = Actor(id="c1", role=Role.VILLAGE_CADRE, region="")
    _refused(rs, Forbidden, lambda: reg.add_member(rs, nobody, hh.id, {
        "name": "新成员", "relation": "子", "labor": "none", "id_number": person_id(501)}, AT))
    with pytest.raises(Forbidden):
        rv.search_households(rs, nobody)
    with pytest.raises(Forbidden):
        rv.household(rs, nobody, hh.id)


def test_a_village_reads_the_asset_it_owns_without_a_project(rs: Session) -> None:
    """An asset registered for a village with no project (a cadre may register it) is read by that village's
    cadre and township; it used to be found by the district alone."""
    from daipin.domain.errors import NotFound
    from daipin.services.registry import views as rv

    a = reg.register_asset(rs, CADRE, code="A-V", name="村集体冷库", kind="operating", value_fen=100, owner_region_code=VILLAGE,
                           at=AT)
    for reader in (CADRE, TOWNSHIP, ADMIN, AUDITOR):
        assert rv.asset_page(rs, reader, a.id)["asset"]["code"] == "A-V"
    for outsider in (CADRE_B, OTHER_TOWNSHIP):
        with pytest.raises(NotFound):
            rv.asset_page(rs, outsider, a.id)


def test_a_village_cadre_reads_the_entities_and_arrears_of_the_projects_it_reads_only(rs: Session) -> None:
    """An entity of the township running a project only in the neighbouring village is that village's and the
    township's business: the other village's cadre neither finds it nor counts its settlement (it used to,
    through any project in the township)."""
    from daipin.domain.errors import NotFound
    from daipin.services.dashboard import views as dashboard
    from daipin.services.registry import views as rv
    from daipin.services.runs import service as runs

    e = entity(rs, 2)
    p, _ = reg.register_project(rs, ACTOR, code="P-B", name="新民村项目", category="特色种养业", entity_id=e.id,
                                township_code=TOWN, village_code=VILLAGE_B, at=AT)
    reg.record_profit(rs, ACTOR, p.id, period_start=date(2024, 1, 1), period_end=date(2024, 12, 31),
                      profit_fen=100_000, at=AT)
    runs.run_settlement(rs, ACTOR, p.id, 2024, AT)
    for reader in (CADRE_B, TOWNSHIP, ADMIN):
        assert rv.entity(rs, reader, e.id).id == e.id
        assert e.id in {row["id"] for row in rv.entities(rs, reader)}
        assert rv.project_page(rs, reader, p.id)["project"]["code"] == "P-B"
        assert dashboard.overview(rs, actor=reader, today=AT.date()).settled_projects == 1
    with pytest.raises(NotFound):
        rv.entity(rs, CADRE, e.id)
    with pytest.raises(NotFound):
        rv.project_page(rs, CADRE, p.id)
    assert e.id not in {row["id"] for row in rv.entities(rs, CADRE)}
    assert dashboard.overview(rs, actor=CADRE, today=AT.date()).settled_projects == 0


def test_a_list_read_returns_exactly_the_rows_a_single_read_admits(rs: Session) -> None:
    """The SQL filter of every action's list read (`scope.where`) against the policy's own answer row by row,
    for every role, over regions inside and outside every scope."""
    from daipin.db.models.registry import Region
    from daipin.domain import access
    from daipin.services.shared import scope

    _other_county(rs)
    reg.create_region(rs, ACTOR, code="231002002", name="新兴镇", level="township", at=AT)
    reg.create_region(rs, ACTOR, code="231002002001", name="新兴村", level="village", at=AT)
    codes = set(rs.scalars(select(Region.code)))
    actors = [ADMIN, TOWNSHIP, CADRE, CADRE_B, AUDITOR, ACTOR, Actor(id="p", role=Role.PUBLIC, region=""),
              Actor(id="e", role=Role.ENTITY_USER, region="231002", entity_id=1)]
    for action in access.POLICY:
        for actor in actors:
            reach = access.reach(actor, action)
            listed = set(rs.scalars(select(Region.code).where(scope.where(reach, region=Region.code))))
            assert listed == {c for c in codes if access.allowed(actor, action, region=c)}, (action, actor.role)


def test_a_contract_is_signed_and_changed_only_where_its_project_and_every_payee_are_in_reach(rs: Session) -> None:
    """A township signed contracts on another township's projects for its own households, a village cadre on
    another village's: the payee alone was checked. The project's region is now checked too; a village cadre
    signs on its township's township-level project for its own village's households only."""
    reg.create_region(rs, ACTOR, code="231002002", name="五林镇", level="township", at=AT)
    reg.create_region(rs, ACTOR, code="231002002001", name="五林村", level="village", at=AT)
    e = entity(rs)
    far, _ = reg.register_project(rs, ACTOR, code="P-FAR", name="五林项目", category="光伏", entity_id=e.id,
                                  township_code="231002002", village_code="231002002001", at=AT)
    township_level, _ = reg.register_project(rs, ACTOR, code="P-TWN", name="兴隆镇联营项目", category="光伏",
                                             entity_id=e.id, township_code=TOWN, at=AT)
    mine = household(rs, "H-A", 8, village=VILLAGE)
    other = household(rs, "H-B", 7, village=VILLAGE_B)
    interest = dict(TRUSTEESHIP)  # a contract the village signs without a matter (one that commits funds needs one)

    def sign(actor: Actor, code: str, p: Any, hh: Any, model: str = "trusteeship", terms: Any = interest) -> Any:
        if model == "shareholding" and terms == QUANTIFIED:
            return sign_by_decision(rs, actor, code=code, model=model, project_id=p.id, start_date=date(2025, 1, 1),
                                    end_date=date(2030, 12, 31), terms=terms, payee_household_id=hh.id, at=AT)
        return svc.sign_contract(rs, actor, code=code, model=model, project_id=p.id, start_date=date(2025, 1, 1),
                                 end_date=date(2030, 12, 31), terms=terms, payee_household_id=hh.id, at=AT)

    for actor in (TOWNSHIP, CADRE):  # another township's project, for the actor's own household
        _refused(rs, Forbidden, lambda actor=actor: sign(actor, "C-FAR", far, mine), field="project_id")
    _refused(rs, Forbidden, lambda: sign(CADRE, "C-TWN-B", township_level, other))  # another village's payee
    own = sign(CADRE, "C-TWN-A", township_level, mine)  # the village commits its own household: its decision
    assert sign(TOWNSHIP, "C-TWN-B", township_level, other).project_id == township_level.id
    assert rs.scalar(select(func.count()).select_from(Contract).where(Contract.project_id == far.id)) == 0
    # Every change is asked of the project's region as well as the payee's.
    c = sign(ACTOR, "C-FAR", far, mine)
    assert not svc.may_change(rs, CADRE, c) and not svc.may_change(rs, TOWNSHIP, c) and svc.may_change(rs, CADRE, own)
    _refused(rs, Forbidden, lambda: svc.amend_contract(rs, CADRE, c.id, reason="调整", at=AT,
                                                       terms={**interest, "units": "12"}))
    _refused(rs, Forbidden, lambda: svc.terminate_contract(rs, TOWNSHIP, c.id, on=date(2025, 3, 1), reason="收回",
                                                           at=AT))
    holder = household(rs, "H-C", 9, village=VILLAGE)
    land = sign(ACTOR, "C-FAR-L", far, holder, "shareholding", LAND)
    fund = sign(ACTOR, "C-FAR-Q", far, holder, "shareholding", QUANTIFIED)
    dynamic.record_death(rs, ACTOR, reg.members(rs, holder.id)[0].id, date(2025, 5, 1), AT)
    for actor in (TOWNSHIP, CADRE):  # holder and heir in the actor's own village; the project is not
        _refused(rs, Forbidden, lambda actor=actor: svc.transfer_share_to_heir(rs, actor, land.id, mine.id,
                                                                               reason="继承", at=AT))
        _refused(rs, Forbidden, lambda actor=actor: reassign(rs, actor, fund, mine, on=date(2025, 6, 1), at=AT))
    assert (land.payee_household_id, fund.payee_household_id, c.status) == (holder.id, holder.id, "active")
    svc.amend_contract(rs, CADRE, own.id, reason="调整", at=AT, terms={**interest, "units": "12"})
