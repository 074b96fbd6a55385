"""Helpers for the API and page tests: an app bound to the test's session, a movable clock, logins."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from daipin.http.deps import get_session
from daipin.http.settings import Settings
from daipin.server import create_app

with warnings.catch_warnings():
    # starlette nags about its httpx dependency on import; the client itself works the same.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, at: datetime = START) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kw: float) -> None:
        self.at += timedelta(**kw)


def app_on_session(session: Session, clock: Clock | None = None) -> tuple[Any, Clock]:
    """The app with every request working inside the test's (rolled-back) session."""
    clock = clock or Clock()
    app = create_app(engine=session.get_bind().engine, settings=Settings(secret_key="test-secret", clock=clock))

    def _session() -> Iterator[Session]:
        # Each request in its own savepoint, as each is its own transaction in production.
        savepoint = session.begin_nested()
        try:
            yield session
        except Exception:
            if savepoint.is_active:
                savepoint.rollback()
            raise
        else:
            if savepoint.is_active:
                savepoint.commit()

    app.dependency_overrides[get_session] = _session
    return app, clock


def client(app: Any) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


def bearer(c: TestClient, username: str, password: str) -> dict[str, str]:
    r = c.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


# ---------------------------------------------------------------- a small world for access and privacy tests

OWN_VILLAGE = "231002001001"
OWN_TOWNSHIP = "231002001"
FOREIGN_VILLAGE = "231002002001"  # same county, another township
FOREIGN_COUNTY_VILLAGE = "231005001001"
ROLES = ["district_admin", "township_official", "village_cadre", "entity_user", "auditor", "public", "discipline"]


class World:
    """The sample district (small), a second county, one account per role, matters and notices."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.ids: dict[str, int] = {}

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role in self.tokens else {}


def build_world(session: Session, keys_dir: str) -> World:
    """The world in `session` with its ledger keys in `keys_dir` (which becomes DAIPIN_KEYS_DIR).

    Built by the services once per database engine per test process; every later call on an empty database
    replays the rows that build wrote and copies its keys (tests/integration/world_cache.py), which gives the
    same rows, signatures and sealed data in a fraction of the time. DAIPIN_TEST_WORLD_CACHE=0 builds every time.
    """
    from tests.integration import world_cache

    return world_cache.build(session, keys_dir, _build_world, World)


def world_with_executed_allocation(session: Session, keys_dir: str) -> World:
    """`build_world`, then the own village's allocation walked to `executed` (`executed_allocation`), its matter
    as `ids["executed"]`. Recorded and replayed as the world is (tests/integration/world_cache.py), under its own
    name: the allocation's rows, ledger entries and checkpoint are replayed with the world's."""
    from tests.integration import world_cache

    return world_cache.build(session, keys_dir, _build_world_with_executed_allocation, World,
                             name="executed_allocation")


def _build_world_with_executed_allocation(session: Session, keys_dir: str) -> World:
    w = build_world(session, keys_dir)
    w.ids["executed"] = executed_allocation(session, OWN_VILLAGE).id
    return w


def _build_world(session: Session, keys_dir: str) -> World:
    import os
    from datetime import date

    from sqlalchemy import select

    from daipin.commands.web import confirm_rosters
    from daipin.db.models.registry import Asset, Contract, Entity, Household, Project
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.domain.identity import make_resident_id
    from daipin.ledger import store
    from daipin.services.auth import service as auth_service
    from daipin.services.matters import service as wfs
    from daipin.services.registry import service as reg
    from daipin.services.rosters import service as rosters
    from daipin.services.sample import service as sample

    os.environ["DAIPIN_KEYS_DIR"] = keys_dir
    at = START - timedelta(days=60)
    store.ensure_log(session, at=at)
    sample.load_sample(session, SYSTEM_ACTOR, at)
    for code, name, level in (("231005", "西安区", "district"), ("231005001", "西镇", "township"),
                              (FOREIGN_COUNTY_VILLAGE, "西村", "village")):
        reg.create_region(session, SYSTEM_ACTOR, code=code, name=name, level=level, at=at)
    reg.register_household(session, SYSTEM_ACTOR, household_no="2310050010010001", village_code=FOREIGN_COUNTY_VILLAGE,
                           status="poor", at=at, status_since=date(2020, 1, 1),
                           members=[{"name": "西户主", "relation": "户主", "labor": "full",
                                     "id_number": make_resident_id("231002", date(1990, 5, 5), 98, "M")}])
    confirm_rosters(session, START, limit=1)
    w = World()

    def first(stmt: Any) -> int:
        value = session.scalar(stmt.limit(1))
        assert value is not None
        return int(value)

    w.ids["hh_own"] = first(select(Household.id).where(Household.village_code == OWN_VILLAGE).order_by(Household.id))
    w.ids["hh_foreign"] = first(select(Household.id).where(Household.village_code == FOREIGN_VILLAGE)
                                .order_by(Household.id))
    w.ids["hh_foreign_county"] = first(select(Household.id).where(Household.village_code == FOREIGN_COUNTY_VILLAGE))
    w.ids["project_own"] = first(select(Project.id).where(Project.village_code == OWN_VILLAGE).order_by(Project.id))
    w.ids["project_foreign"] = first(select(Project.id).where(Project.village_code == FOREIGN_VILLAGE)
                                     .order_by(Project.id))
    own_project = session.get(Project, w.ids["project_own"])
    foreign_project = session.get(Project, w.ids["project_foreign"])
    assert own_project is not None and foreign_project is not None
    w.ids["entity_own"] = own_project.entity_id
    w.ids["entity_foreign"] = foreign_project.entity_id
    w.ids["asset_own"] = first(select(Asset.id).where(Asset.project_id == own_project.id))
    w.ids["asset_foreign"] = first(select(Asset.id).where(Asset.project_id == foreign_project.id))
    # Each sample project leases its asset to its village (the payee), and links households of that village.
    for scope, p in (("own", own_project), ("foreign", foreign_project)):
        w.ids[f"contract_{scope}"] = first(select(Contract.id).where(
            Contract.project_id == p.id, Contract.model == "asset_lease").order_by(Contract.id))
    for scope, p in (("own", own_project), ("foreign", foreign_project)):
        for key, model in (("employment", "employment"), ("fund", "fund_support")):
            w.ids[f"{key}_{scope}"] = first(select(Contract.id).where(
                Contract.project_id == p.id, Contract.model == model).order_by(Contract.id))
    w.ids["contract_own_household"] = first(select(Contract.id).where(
        Contract.project_id == own_project.id, Contract.payee_household_id.is_not(None)).order_by(Contract.id))
    assert session.get(Entity, w.ids["entity_own"]) is not None
    # A draft in each village, and an open notice in the own village (anyone may object to it).
    w.ids["matter_own"] = rosters.draft_roster(session, SYSTEM_ACTOR, village_code=OWN_VILLAGE, year=2026, at=START).id
    w.ids["matter_foreign"] = rosters.draft_roster(session, SYSTEM_ACTOR, village_code=FOREIGN_VILLAGE, year=2026,
                                                   at=START).id
    w.ids["matter_foreign_county"] = rosters.draft_roster(session, SYSTEM_ACTOR, village_code=FOREIGN_COUNTY_VILLAGE,
                                                          year=2026, at=START).id
    t = START - timedelta(days=20)
    m = rosters.draft_roster(session, SYSTEM_ACTOR, village_code=OWN_VILLAGE, year=2027, at=t)
    # The representatives are the sample village's recorded ones (one per five households): all attend.
    n = wfs.call_meeting(session, SYSTEM_ACTOR, m.id, type="representatives_meeting",
                         scheduled_at=t + timedelta(days=11), place="村委会", at=t).eligible_representatives
    t += timedelta(days=11, hours=1)
    wfs.record_attendance(session, SYSTEM_ACTOR, m.id, at=t, present_representatives=n, first_secretary_present=True)
    wfs.record_votes(session, SYSTEM_ACTOR, m.id, at=t, votes_for=n - 1, against=1, abstain=0)
    wfs.decide(session, SYSTEM_ACTOR, m.id, at=t)
    wfs.submit_for_review(session, SYSTEM_ACTOR, m.id, at=t)
    wfs.review(session, SYSTEM_ACTOR, m.id, decision="approve", comments="同意", at=t)
    n = wfs.publish_notice(session, SYSTEM_ACTOR, m.id, at=START - timedelta(days=1))
    w.ids["notice_open"] = n.id
    w.ids["matter_in_notice"] = m.id
    # Insurance (issue 17): each sample entity holds policies of 2026 — one to apply on, one applied on (to decide),
    # one approved (the own county's premium-subsidy matter lists it).
    from daipin.services.insurance import service as insurance

    for scope in ("own", "foreign"):
        for key in ("apply", "decide", "approved"):
            w.ids[f"policy_{key}_{scope}"] = reg.add_insurance_policy(
                session, SYSTEM_ACTOR, w.ids[f"entity_{scope}"], insurer="人保财险", policy_no=f"MX-{key}-{scope}",
                valid_from=date(2026, 1, 1), valid_to=date(2026, 12, 31), at=at).id
        w.ids[f"subsidy_{scope}"] = insurance.apply(session, SYSTEM_ACTOR, policy=w.ids[f"policy_decide_{scope}"],
                                                    year=2026, premium_fen=20_000, subsidy_fen=10_000, at=at).id
        approved = insurance.apply(session, SYSTEM_ACTOR, policy=w.ids[f"policy_approved_{scope}"], year=2026,
                                   premium_fen=30_000, subsidy_fen=15_000, at=at)
        insurance.decide(session, SYSTEM_ACTOR, approved.id, approve=True, reason="", at=at)
    plan = {
        "district_admin": ("231002", None),
        "township_official": (OWN_TOWNSHIP, None),
        "village_cadre": (OWN_VILLAGE, None),
        "entity_user": ("231002", w.ids["entity_own"]),
        "auditor": ("231002", None),
        "discipline": ("231002", None),
    }
    for role, (region, entity_id) in plan.items():
        user = auth_service.create_user(session, actor=SYSTEM_ACTOR, username=role.replace("_", "-"),
                                        password="matrix-pass-1", role=role, region=region, entity_id=entity_id,
                                        at=START)
        w.tokens[role] = auth_service.start_session(session, user, at=START).token
    session.flush()
    return w


def app_rolling_back(session: Session, clock: Clock | None = None) -> tuple[Any, Clock]:
    """The app where every request's writes are undone afterwards, so each call sees the same world."""
    clock = clock or Clock()
    app = create_app(engine=session.get_bind().engine, settings=Settings(secret_key="test-secret", clock=clock))

    def _session() -> Iterator[Session]:
        savepoint = session.begin_nested()
        try:
            yield session
        finally:
            if savepoint.is_active:
                savepoint.rollback()

    app.dependency_overrides[get_session] = _session
    return app, clock


def executed_allocation(session: Session, village: str, *, title: str = "2025年度村集体收益分配") -> Any:
    """A village allocation for the sample year walked to `executed`, dated before START: it has a payment batch.

    The village's roster for the year is confirmed first if it is not yet.
    """
    from sqlalchemy import select

    from daipin.commands.web import confirm_rosters
    from daipin.db.models.registry import Region
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.services.matters import service as wfs
    from daipin.services.rosters import service as rosters
    from daipin.services.runs import service as runs
    from daipin.services.sample import service as sample

    if rosters.confirmed_roster(session, village, sample.YEAR) is None:
        limit = len(list(session.scalars(select(Region.code).where(Region.level == "village", Region.code <= village))))
        confirm_rosters(session, START, limit=limit)
    t = START - timedelta(days=30)
    doc = runs.build_village_allocation_document(session, village, sample.YEAR)
    m = wfs.draft_matter(session, SYSTEM_ACTOR, kind="village_allocation", region=village, title=title, document=doc,
                         at=t, year=sample.YEAR, justification="按贡献与困难程度分档分配",
                         funding_source="村集体经营性收益", responsible_person="村委会主任")
    n = wfs.call_meeting(session, SYSTEM_ACTOR, m.id, type="representatives_meeting",
                         scheduled_at=t + timedelta(days=11), place="村委会", at=t).eligible_representatives
    t += timedelta(days=11, hours=1)
    wfs.record_attendance(session, SYSTEM_ACTOR, m.id, at=t, present_representatives=n, first_secretary_present=True)
    wfs.record_votes(session, SYSTEM_ACTOR, m.id, at=t, votes_for=n - 1, against=1, abstain=0)
    wfs.decide(session, SYSTEM_ACTOR, m.id, at=t)
    wfs.submit_for_review(session, SYSTEM_ACTOR, m.id, at=t)
    wfs.review(session, SYSTEM_ACTOR, m.id, decision="approve", comments="同意", at=t)
    wfs.publish_notice(session, SYSTEM_ACTOR, m.id, at=t)
    t += timedelta(days=11)
    wfs.close_notice(session, SYSTEM_ACTOR, m.id, at=t)
    wfs.execute(session, SYSTEM_ACTOR, m.id, at=t)
    return m


def command_line_clock(monkeypatch: Any, at: datetime = START) -> Clock:
    """The command line's clock (`daipin.commands.CLOCK`), injected for one test: the test moves it."""
    import daipin.commands

    clock = Clock(at)
    monkeypatch.setattr(daipin.commands, "CLOCK", clock)
    return clock


def cli(*args: str, code: int = 0) -> Any:
    """`daipin ARGS…` in this process (Typer's runner); asserts its exit code and returns the result."""
    from typer.testing import CliRunner

    from daipin.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (args, result.output, result.exception)
    return result
