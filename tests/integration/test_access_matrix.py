"""Every API route, every role, own region and a foreign one: the statuses each may get.

Region scope is enforced by the services: a village cadre asking for another village's household
gets 404, exactly as if it did not exist, and the same holds for every other scoped route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Household, Person, VillageRepresentative
from daipin.domain.access import Action
from tests.integration.api_support import (
    FOREIGN_VILLAGE,
    OWN_VILLAGE,
    ROLES,
    World,
    app_rolling_back,
    build_world,
    client,
    executed_allocation,
)

D, T, V, E, A, P = ROLES  # district_admin, township_official, village_cadre, entity_user, auditor, public


@dataclass
class Case:
    method: str
    route: str  # the route's path as declared, to prove every route is covered
    own: Callable[[World], str]
    foreign: Callable[[World], str]
    expect: dict[str, tuple[int, int]]  # role -> (status for own region, status for the foreign one)
    body: Callable[[World, str], Any] | None = None


def same(status: int) -> tuple[int, int]:
    return (status, status)


def everyone(status: int, public: int = 401) -> dict[str, tuple[int, int]]:
    return {r: same(public if r == P else status) for r in ROLES}


def ids(key: str, suffix: str = "") -> tuple[Callable[[World], str], Callable[[World], str]]:
    return (lambda w: str(w.ids[f"{key}_own"]) + suffix), (lambda w: str(w.ids[f"{key}_foreign"]) + suffix)


def contract_body(w: World, scope: str) -> dict[str, Any]:
    hh = w.ids["hh_own"] if scope == "own" else w.ids["hh_foreign"]
    return {"code": f"HT-M-{scope}", "model": "asset_lease", "project_id": w.ids["project_own"],
            "start_date": "2026-01-01", "end_date": "2026-12-31", "terms": {"annual_rent_fen": 120000},
            "payee_household_id": hh}


def contract(suffix: str) -> tuple[Callable[[World], str], Callable[[World], str]]:
    """The own and the foreign sample contract's path (each leases its project's asset to the project's village)."""
    return ((lambda w: f"/api/v1/contracts/{w.ids['contract_own']}{suffix}"),
            (lambda w: f"/api/v1/contracts/{w.ids['contract_foreign']}{suffix}"))


def amend_body(w: World, scope: str) -> dict[str, Any]:
    return {"reason": "补充协议：租金调整", "terms": {"annual_rent_fen": 123400}}


def terminate_body(w: World, scope: str) -> dict[str, Any]:
    return {"on": "2026-03-01", "reason": "资产收回"}


def roster_body(w: World, scope: str) -> dict[str, Any]:
    village = "231002001001" if scope == "own" else "231002002001"
    return {"kind": "beneficiary_roster", "region": village, "title": "2028年度名单", "year": 2028,
            "document": {"version": 1, "kind": "beneficiary_roster", "village": village, "year": 2028,
                         "households": []}}


def meeting_body(w: World, scope: str) -> dict[str, Any]:
    return {"type": "representatives_meeting", "scheduled_at": "2026-03-20T09:00:00+08:00", "place": "村委会"}


def preview_body(w: World, scope: str) -> dict[str, Any]:
    return {"document": {"version": 1, "kind": "village_allocation", "village": "V", "pool_fen": 1000,
                         "households": [{"id": "H1", "status": "poor", "labor": "none", "members": 1}],
                         "buckets": [{"name": "兜底", "share": "1", "rule": "direct_support", "per": "household"}]}}


def user_body(w: World, scope: str) -> dict[str, Any]:
    region = "231002001002" if scope == "own" else "231005001001"
    return {"username": f"new-{scope}", "password": "long-enough-1", "role": "village_cadre", "region": region}


def objection_body(w: World, scope: str) -> dict[str, Any]:
    return {"text": "名单有误，请核实"}


def payment_body(w: World, scope: str) -> dict[str, Any]:
    return {"outcome": "paid", "payment_ref": f"NX-{scope}"}


def representatives(tail: str) -> tuple[Callable[[World], str], Callable[[World], str]]:
    return (const(f"/api/v1/villages/{OWN_VILLAGE}/representatives{tail}"),
            const(f"/api/v1/villages/{FOREIGN_VILLAGE}/representatives{tail}"))


def representative_body(w: World, scope: str) -> dict[str, Any]:
    return {"person_id": w.ids[f"rep_person_{scope}"], "from_date": "2026-01-01"}


def const(v: str) -> Callable[[World], str]:
    return lambda w: v


matter = (lambda w: str(w.ids["matter_own"])), (lambda w: str(w.ids["matter_foreign"]))
scoped_read = {D: (200, 200), T: (200, 404), V: (200, 404), E: same(403), A: (200, 200), P: same(401)}
county_read = {D: (200, 404), T: (200, 404), V: (200, 404), E: same(403), A: (200, 404), P: same(401)}
ledger_read = {D: same(200), T: same(403), V: same(403), E: same(403), A: same(200), P: same(401)}
# An entity's users and auditors read their contracts but change none; a foreign one is not found.
contract_change = {D: same(200), T: (200, 404), V: (200, 404), E: (403, 404), A: same(403), P: same(401)}

CASES = [
    Case("GET", "/api/v1/health", const("/api/v1/health"), const("/api/v1/health"), everyone(200, 200)),
    Case("GET", "/api/v1/auth/me", const("/api/v1/auth/me"), const("/api/v1/auth/me"), everyone(200)),
    Case("POST", "/api/v1/auth/logout", const("/api/v1/auth/logout"), const("/api/v1/auth/logout"), everyone(200)),
    Case("POST", "/api/v1/auth/password", const("/api/v1/auth/password"), const("/api/v1/auth/password"),
         everyone(422), body=lambda w, s: {"old_password": "wrong-wrong", "new_password": "whatever-1"}),
    Case("GET", "/api/v1/users", const("/api/v1/users"), const("/api/v1/users"),
         {**everyone(403), D: same(200)}),
    Case("POST", "/api/v1/users", const("/api/v1/users"), const("/api/v1/users"),
         {**everyone(403), D: (201, 403)}, body=user_body),
    Case("GET", "/api/v1/households", const("/api/v1/households?village=231002001001"),
         const("/api/v1/households?village=231002002001"), {**everyone(200), E: same(403)}),
    Case("GET", "/api/v1/households/{household_id}", lambda w: f"/api/v1/households/{w.ids['hh_own']}",
         lambda w: f"/api/v1/households/{w.ids['hh_foreign']}", scoped_read),
    Case("GET", "/api/v1/entities", const("/api/v1/entities"), const("/api/v1/entities"), everyone(200)),
    Case("GET", "/api/v1/entities/{entity_id}", lambda w: f"/api/v1/entities/{w.ids['entity_own']}",
         lambda w: f"/api/v1/entities/{w.ids['entity_foreign']}",
         {D: same(200), T: (200, 404), V: (200, 404), E: (200, 404), A: same(200), P: same(401)}),
    Case("GET", "/api/v1/projects", const("/api/v1/projects"), const("/api/v1/projects"), everyone(200)),
    Case("GET", "/api/v1/projects/{project_id}", lambda w: f"/api/v1/projects/{w.ids['project_own']}",
         lambda w: f"/api/v1/projects/{w.ids['project_foreign']}",
         {D: same(200), T: (200, 404), V: (200, 404), E: (200, 404), A: same(200), P: same(401)}),
    Case("GET", "/api/v1/assets/{asset_id}", lambda w: f"/api/v1/assets/{w.ids['asset_own']}",
         lambda w: f"/api/v1/assets/{w.ids['asset_foreign']}",
         {D: same(200), T: (200, 404), V: (200, 404), E: (200, 404), A: same(200), P: same(401)}),
    Case("POST", "/api/v1/contracts", const("/api/v1/contracts"), const("/api/v1/contracts"),
         {D: same(201), T: (201, 404), V: (201, 404), E: same(403), A: same(403), P: same(401)}, body=contract_body),
    Case("GET", "/api/v1/contracts/{contract_id}", *contract(""), {**scoped_read, E: (200, 404)}),
    Case("POST", "/api/v1/contracts/{contract_id}/amend", *contract("/amend"), contract_change, body=amend_body),
    Case("POST", "/api/v1/contracts/{contract_id}/terminate", *contract("/terminate"), contract_change,
         body=terminate_body),
    Case("GET", "/api/v1/matters", const("/api/v1/matters"), const("/api/v1/matters"),
         {**everyone(200), E: same(403)}),
    Case("POST", "/api/v1/matters", const("/api/v1/matters"), const("/api/v1/matters"),
         {D: same(403), T: same(403), V: (201, 404), E: same(403), A: same(403), P: same(401)}, body=roster_body),
    Case("POST", "/api/v1/preview", const("/api/v1/preview"), const("/api/v1/preview"), everyone(200),
         body=preview_body),
    Case("GET", "/api/v1/matters/{matter_id}", lambda w: f"/api/v1/matters/{w.ids['matter_own']}",
         lambda w: f"/api/v1/matters/{w.ids['matter_foreign']}", {**scoped_read, E: same(404)}),
    Case("POST", "/api/v1/matters/{matter_id}/actions/{action}",
         lambda w: f"/api/v1/matters/{w.ids['matter_own']}/actions/call_meeting",
         lambda w: f"/api/v1/matters/{w.ids['matter_foreign']}/actions/call_meeting",
         {D: same(403), T: (403, 404), V: (200, 404), E: same(404), A: same(403), P: same(401)}, body=meeting_body),
    Case("GET", "/api/v1/matters/{matter_id}/dossier", lambda w: f"/api/v1/matters/{w.ids['matter_own']}/dossier",
         lambda w: f"/api/v1/matters/{w.ids['matter_foreign_county']}/dossier",
         {D: (200, 404), T: (200, 404), V: (200, 404), E: same(403), A: (200, 404), P: same(401)}),
    Case("GET", "/api/v1/matters/{matter_id}/payments", lambda w: f"/api/v1/matters/{w.ids['executed_own']}/payments",
         lambda w: f"/api/v1/matters/{w.ids['executed_foreign']}/payments", {**scoped_read, E: same(404)}),
    # Township and district record payments; the village that drafted the plan, auditors and entities do not.
    Case("POST", "/api/v1/matters/{matter_id}/payments/{line_id}",
         lambda w: f"/api/v1/matters/{w.ids['executed_own']}/payments/{w.ids['line_own']}",
         lambda w: f"/api/v1/matters/{w.ids['executed_foreign']}/payments/{w.ids['line_foreign']}",
         {D: same(200), T: (200, 404), V: same(403), E: same(403), A: same(403), P: same(401)}, body=payment_body),
    Case("GET", "/api/v1/public/regions", const("/api/v1/public/regions"), const("/api/v1/public/regions"),
         everyone(200, 200)),
    Case("GET", "/api/v1/public/notices", const("/api/v1/public/notices?region=231002001"),
         const("/api/v1/public/notices?region=231002002"), everyone(200, 200)),
    Case("GET", "/api/v1/public/notices/{notice_id}", lambda w: f"/api/v1/public/notices/{w.ids['notice_open']}",
         const("/api/v1/public/notices/999999"), dict.fromkeys(ROLES, (200, 404))),
    Case("POST", "/api/v1/public/notices/{notice_id}/objections",
         lambda w: f"/api/v1/public/notices/{w.ids['notice_open']}/objections",
         const("/api/v1/public/notices/999999/objections"), dict.fromkeys(ROLES, (201, 404)), body=objection_body),
    Case("GET", "/api/v1/ledger/status", const("/api/v1/ledger/status"), const("/api/v1/ledger/status"),
         ledger_read),
    Case("POST", "/api/v1/ledger/verify", const("/api/v1/ledger/verify"), const("/api/v1/ledger/verify"),
         ledger_read),
    Case("GET", "/api/v1/ledger/proof", const("/api/v1/ledger/proof?index=0&size=1"), const("/api/v1/ledger/proof?index=0&size=1"),
         ledger_read),
    Case("GET", "/api/v1/dashboard", const("/api/v1/dashboard"), const("/api/v1/dashboard"), everyone(200)),
    Case("GET", "/api/v1/villages/{village}/representatives", *representatives(""), scoped_read),
    # The village's cadre, its township and the district keep the list of representatives.
    Case("POST", "/api/v1/villages/{village}/representatives", *representatives(""),
         {D: same(201), T: (201, 404), V: (201, 404), E: same(403), A: same(403), P: same(401)},
         body=representative_body),
    Case("POST", "/api/v1/villages/{village}/representatives/{representative_id}/end",
         lambda w: f"/api/v1/villages/{OWN_VILLAGE}/representatives/{w.ids['rep_term_own']}/end",
         lambda w: f"/api/v1/villages/{FOREIGN_VILLAGE}/representatives/{w.ids['rep_term_foreign']}/end",
         {D: same(200), T: (200, 404), V: (200, 404), E: same(403), A: same(403), P: same(401)},
         body=lambda w, s: {"to_date": "2026-03-01", "reason": "换届"}),
]
# Logging in is tested on its own (test_api_auth.py): it is the one route that takes no token.
UNMATRIXED = {("POST", "/api/v1/auth/login")}


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    from daipin.services.payments import service as payments

    w = build_world(session, str(tmp_path / "keys"))
    for scope, village in (("own", OWN_VILLAGE), ("foreign", FOREIGN_VILLAGE)):
        m = executed_allocation(session, village)
        batch = payments.batch_for_matter(session, m.id)
        assert batch is not None
        w.ids[f"executed_{scope}"] = m.id
        w.ids[f"line_{scope}"] = payments.lines(session, batch)[0].id
        # A recorded representative's term, and a grown member of the village who is not one.
        w.ids[f"rep_term_{scope}"] = session.scalars(select(VillageRepresentative.id).where(
            VillageRepresentative.village_code == village).order_by(VillageRepresentative.id)).first()
        w.ids[f"rep_person_{scope}"] = session.scalars(select(Person.id).join(Household).where(
            Household.village_code == village, Person.relation == "配偶").order_by(Person.id)).first()
    return w


def test_every_api_route_is_in_the_access_matrix(session: Session) -> None:
    app, _ = app_rolling_back(session)
    declared = {(m.upper(), path) for path, ops in app.openapi()["paths"].items() for m in ops}
    covered = {(c.method, c.route) for c in CASES} | UNMATRIXED
    assert declared - covered == set(), "routes missing from the access matrix"
    assert covered - declared == set(), "matrix names routes that do not exist"


def test_each_role_gets_exactly_the_allowed_status_in_its_own_and_a_foreign_region(
    session: Session, world: World
) -> None:
    app, _ = app_rolling_back(session)
    c = client(app)
    wrong = []
    for case in CASES:
        for role in ROLES:
            for scope, path_of, want in (("own", case.own, case.expect[role][0]),
                                         ("foreign", case.foreign, case.expect[role][1])):
                body = case.body(world, scope) if case.body else None
                r = c.request(case.method, path_of(world), headers=world.headers(role), json=body)
                if r.status_code != want:
                    wrong.append(f"{case.method} {case.route} {role}/{scope}: got {r.status_code}, want {want}: "
                                 f"{r.text[:160]}")
                elif r.status_code >= 400:
                    err = r.json()["error"]
                    assert set(err) >= {"code", "message", "field"}
    assert wrong == []


def test_a_village_cadre_searching_another_village_finds_nothing(session: Session, world: World) -> None:
    app, _ = app_rolling_back(session)
    c = client(app)
    own = c.get("/api/v1/households?village=231002001001", headers=world.headers(V)).json()
    foreign = c.get("/api/v1/households?village=231002002001", headers=world.headers(V)).json()
    assert own["items"] and all(i["village_code"] == "231002001001" for i in own["items"])
    assert foreign["items"] == []


def test_a_village_cadre_gets_404_for_another_villages_household_page_too(session: Session, world: World) -> None:
    app, _ = app_rolling_back(session)
    c = client(app)
    c.cookies.set("daipin_session", world.tokens[V])
    assert c.get(f"/households/{world.ids['hh_own']}").status_code == 200
    page = c.get(f"/households/{world.ids['hh_foreign']}")
    assert page.status_code == 404
    assert "不存在" in page.text


# Pages whose guard is one action of the access policy: they open (200) for the roles it names, else 403.
PAGE_GUARDS: dict[str, tuple[Action, ...]] = {
    "/households": ("household.read",),
    "/matters": ("matter.detail",),
    "/matters/new": ("matter.village.decide", "matter.township.decide", "matter.district.decide"),
    "/contracts/new": ("contract.sign",),
    "/ledger": ("ledger.verify",),
    "/admin/users": ("user.manage",),
}
NAV_LINKS: dict[str, Action] = {"/households": "household.read", "/matters": "matter.detail", "/ledger": "ledger.verify",
             "/admin/users": "user.manage"}


def _actor_of(role: str, w: World) -> Any:
    from daipin.domain.actors import Actor, Role

    region = {"district_admin": "231002", "township_official": "231002001", "village_cadre": OWN_VILLAGE}
    return Actor(id=role, role=Role(role), region=region.get(role, "231002"),
                 entity_id=w.ids["entity_own"] if role == E else None)


def test_each_role_is_shown_and_let_into_exactly_the_pages_the_policy_gives_it(session: Session,
                                                                               world: World) -> None:
    from daipin.domain import access

    app, _ = app_rolling_back(session)
    wrong = []
    for role in (D, T, V, E, A):
        c = client(app)
        c.cookies.set("daipin_session", world.tokens[role])
        actor = _actor_of(role, world)
        for page, actions in PAGE_GUARDS.items():
            want = 200 if any(access.may(actor, a) for a in actions) else 403
            got = c.get(page).status_code
            if got != want:
                wrong.append(f"{role} {page}: got {got}, want {want}")
        home = c.get("/").text
        for link, action in NAV_LINKS.items():
            shown = f'href="{link}"' in home
            if shown is not access.may(actor, action):
                wrong.append(f"{role}: the link to {link} {'shown' if shown else 'missing'}")
    assert wrong == []


def test_the_dashboard_counts_the_households_of_the_actor_s_own_region_only(session: Session,
                                                                             world: World) -> None:
    from sqlalchemy import func, select

    from daipin.db.models.registry import Household

    def count(prefix: str) -> int:
        return int(session.scalar(select(func.count()).select_from(Household)
                                  .where(Household.village_code.startswith(prefix))) or 0)

    app, _ = app_rolling_back(session)
    c = client(app)
    got = {role: c.get("/api/v1/dashboard", headers=world.headers(role)).json() for role in (D, T, V, E, A)}
    assert got[V]["households"] == count(OWN_VILLAGE) < got[T]["households"] == count("231002001")
    assert got[T]["households"] < got[D]["households"] == got[A]["households"] == count("231002")
    assert count("231005") > 0 and got[D]["households"] < count("2310")  # the neighbouring county is not counted
    assert got[E]["households"] == 0 and got[E]["linked_households"] <= got[D]["linked_households"]
    assert c.get("/api/v1/dashboard", headers=world.headers(P)).status_code == 401
