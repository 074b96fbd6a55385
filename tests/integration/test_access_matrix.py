"""Every API route, every role, own region and a foreign one: the statuses each may get.

Region scope is enforced by the services: a village cadre asking for another village's household
gets 404, exactly as if it did not exist, and the same holds for every other scoped route.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Household, Person, VillageRepresentative
from daipin.domain.access import Action
from tests.integration.api_support import (
    FOREIGN_COUNTY_VILLAGE,
    FOREIGN_VILLAGE,
    OWN_TOWNSHIP,
    OWN_VILLAGE,
    ROLES,
    World,
    app_rolling_back,
    build_world,
    client,
    executed_allocation,
)

# district_admin, township_official, village_cadre, entity_user, auditor, public, discipline (纪检监察)
D, T, V, E, A, P, K = ROLES


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
    # A contract signed directly (one committing quantified funds or collective assets needs a decided matter).
    return {"code": f"HT-M-{scope}", "model": "fund_support", "project_id": w.ids["project_own"],
            "start_date": "2026-01-01", "end_date": "2026-12-31",
            "terms": {"amount_fen": 120000, "purpose": "购买种苗", "support_type": "grant"}, "payee_household_id": hh}


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


def pay_path(kind: str, key: str, tail: str = "") -> tuple[Callable[[World], str], Callable[[World], str]]:
    return ((lambda w: f"/api/v1/payments/{kind}/{w.ids[key + '_own']}{tail}"),
            (lambda w: f"/api/v1/payments/{kind}/{w.ids[key + '_foreign']}{tail}"))


def registry_write(tail: str = "", key: str = "hh") -> tuple[Callable[[World], str], Callable[[World], str]]:
    """The own and the foreign sample row's path for a registry write over the API."""
    base = {"hh": "households", "project": "projects", "asset": "assets"}[key]
    return ((lambda w: f"/api/v1/{base}/{w.ids[key + '_own']}{tail}"),
            (lambda w: f"/api/v1/{base}/{w.ids[key + '_foreign']}{tail}"))


def household_json(w: World, scope: str) -> dict[str, Any]:
    from datetime import date

    from daipin.domain.identity import make_resident_id

    village = OWN_VILLAGE if scope == "own" else FOREIGN_VILLAGE
    return {"household_no": f"{village}9101", "village_code": village, "status": "poor",
            "members": [{"name": "林国庆", "id_number": make_resident_id("231002", date(1980, 2, 3), 811, "M"),
                         "relation": "户主", "labor": "full"}]}


def registered_json(w: World, scope: str, kind: str) -> dict[str, Any]:
    from daipin.domain.identity import make_uscc

    village = OWN_VILLAGE if scope == "own" else FOREIGN_VILLAGE
    if kind == "entity":
        return {"name": f"矩阵合作社{scope}", "kind": "cooperative", "uscc": make_uscc("93231002MA0099999"),
                "legal_representative": "赵大勇", "region_code": village}
    if kind == "project":
        return {"code": f"XM-API-{scope}", "name": "矩阵项目", "category": "特色种养业", "entity_id": w.ids["entity_own"],
                "township_code": village[:9], "village_code": village,
                "funding": [{"source": "财政扶贫资金", "amount_fen": 100000}]}
    return {"code": f"ZC-API-{scope}", "name": "矩阵资产", "kind": "operating", "value_fen": 500000,
            "owner_region_code": village}


def plan_json(w: World, scope: str) -> dict[str, Any]:
    return {"year": 2027, "pool_fen": 1000000, "eligible_statuses": ["poor"],
            "buckets": [{"name": "兜底保障", "share": "1", "rule": "direct_support", "per": "person"}]}


def plan_path(tail: str = "") -> tuple[Callable[[World], str], Callable[[World], str]]:
    return (const(f"/api/v1/villages/{OWN_VILLAGE}/plan{tail}"), const(f"/api/v1/villages/{FOREIGN_VILLAGE}/plan{tail}"))


registry_create = {D: same(201), T: (201, 403), V: (201, 403), E: same(403), A: same(403), P: same(401)}
registry_step = {D: same(200), T: (200, 404), V: (200, 404), E: same(403), A: same(403), P: same(401)}
registry_add = {D: same(201), T: (201, 404), V: (201, 404), E: same(403), A: same(403), P: same(401)}


pay_write = {D: same(200), T: (200, 404), V: same(403), E: same(403), A: same(403), P: same(401)}


matter = (lambda w: str(w.ids["matter_own"])), (lambda w: str(w.ids["matter_foreign"]))
scoped_read = {D: (200, 200), T: (200, 404), V: (200, 404), E: same(403), A: (200, 200), P: same(401)}
county_read = {D: (200, 404), T: (200, 404), V: (200, 404), E: same(403), A: (200, 404), P: same(401)}
ledger_read = {D: same(200), T: same(403), V: same(403), E: same(403), A: same(200), P: same(401)}
# An entity's users and auditors read their contracts but change none; a foreign one is not found.
contract_change = {D: same(200), T: (200, 404), V: (200, 404), E: (403, 404), A: same(403), P: same(401)}

# Recording an entity's policy, its account, applying for its subsidy: officials of its region (`entity.write`).
INSURANCE_WRITE = {D: same(201), T: (201, 403), V: same(403), E: same(403), A: same(403), P: same(401)}
# A step on an entity's account or subsidy: one who does not see the entity (another region's, a village's cadre
# for a township's entity) finds nothing; one who sees it but may not take the step is refused.
INSURANCE_SEEN = {V: same(404), E: (403, 404), A: same(403), P: same(401)}

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
    Case("GET", "/api/v1/entities/{entity_id}/wages", lambda w: f"/api/v1/entities/{w.ids['entity_own']}/wages",
         lambda w: f"/api/v1/entities/{w.ids['entity_foreign']}/wages",
         {D: same(200), T: (200, 404), V: (200, 404), E: (200, 404), A: same(200), P: same(401)}),
    Case("GET", "/api/v1/entities/{entity_id}/repayments",
         lambda w: f"/api/v1/entities/{w.ids['entity_own']}/repayments",
         lambda w: f"/api/v1/entities/{w.ids['entity_foreign']}/repayments",
         {D: same(200), T: (200, 404), V: (200, 404), E: (200, 404), A: same(200), P: same(401)}),
    Case("GET", "/api/v1/projects/{project_id}/wages", lambda w: f"/api/v1/projects/{w.ids['project_own']}/wages",
         lambda w: f"/api/v1/projects/{w.ids['project_foreign']}/wages",
         {D: same(200), T: (200, 404), V: (200, 404), E: (200, 404), A: same(200), P: same(401)}),
    Case("GET", "/api/v1/projects/{project_id}/repayments",
         lambda w: f"/api/v1/projects/{w.ids['project_own']}/repayments",
         lambda w: f"/api/v1/projects/{w.ids['project_foreign']}/repayments",
         {D: same(200), T: (200, 404), V: (200, 404), E: (200, 404), A: same(200), P: same(401)}),
    # Wages and repayments are recorded by the officials of the payee's region; an entity's users read, never record.
    Case("POST", "/api/v1/contracts/{contract_id}/wage-payments",
         lambda w: f"/api/v1/contracts/{w.ids['employment_own']}/wage-payments",
         lambda w: f"/api/v1/contracts/{w.ids['employment_foreign']}/wage-payments",
         {D: same(201), T: (201, 404), V: (201, 404), E: (403, 404), A: same(403), P: same(401)},
         body=lambda w, s: {"paid_on": "2026-01-10", "amount_fen": 100, "note": "1月工资"}),
    Case("POST", "/api/v1/contracts/{contract_id}/repayments",
         lambda w: f"/api/v1/contracts/{w.ids['fund_own']}/repayments",
         lambda w: f"/api/v1/contracts/{w.ids['fund_foreign']}/repayments",
         {D: same(201), T: (201, 404), V: (201, 404), E: (403, 404), A: same(403), P: same(401)},
         body=lambda w, s: {"paid_on": "2026-01-10", "amount_fen": 100}),
    Case("POST", "/api/v1/contracts/{contract_id}/work-records",
         lambda w: f"/api/v1/contracts/{w.ids['employment_own']}/work-records",
         lambda w: f"/api/v1/contracts/{w.ids['employment_foreign']}/work-records",
         {D: same(201), T: (201, 404), V: (201, 404), E: (403, 404), A: same(403), P: same(401)},
         body=lambda w, s: {"period_start": "2026-01-01", "period_end": "2026-01-10", "days": "8"}),
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
    Case("GET", "/api/v1/payments/batches/{batch_id}", *pay_path("batches", "batch"), {**scoped_read, E: same(404)}),
    # The bank file (full accounts), the bank's return, requeues and write-offs: township and district only.
    Case("POST", "/api/v1/payments/batches/{batch_id}/bank-file", *pay_path("batches", "batch", "/bank-file"), pay_write,
         body=lambda w, s: {"format": "csv"}),
    Case("POST", "/api/v1/payments/batches/{batch_id}/return", *pay_path("batches", "batch", "/return"),
         {**pay_write, D: same(422), T: (422, 404)}, body=lambda w, s: {"name": "r.csv", "content_base64": "5bqP5Y+3DQo="}),
    Case("POST", "/api/v1/payments/lines/{line_id}/requeue", *pay_path("lines", "failed", "/requeue"), pay_write,
         body=lambda w, s: {"bank_account": "6217000012345678901"}),
    Case("POST", "/api/v1/payments/lines/{line_id}/write-off", *pay_path("lines", "failed", "/write-off"), pay_write,
         body=lambda w, s: {"reason": "户已销户", "decision": "某乡政发〔2026〕1号"}),
    Case("GET", "/api/v1/payments/pools", const("/api/v1/payments/pools?year=2025"),
         const("/api/v1/payments/pools?year=2025"), {**everyone(200), E: same(403)}),
    Case("GET", "/api/v1/public/regions", const("/api/v1/public/regions"), const("/api/v1/public/regions"),
         everyone(200, 200)),
    Case("GET", "/api/v1/public/notices", const("/api/v1/public/notices?region=231002001"),
         const("/api/v1/public/notices?region=231002002"), everyone(200, 200)),
    Case("GET", "/api/v1/public/notices/{notice_id}", lambda w: f"/api/v1/public/notices/{w.ids['notice_open']}",
         const("/api/v1/public/notices/999999"), dict.fromkeys(ROLES, (200, 404))),
    Case("POST", "/api/v1/public/notices/{notice_id}/objections",
         lambda w: f"/api/v1/public/notices/{w.ids['notice_open']}/objections",
         const("/api/v1/public/notices/999999/objections"), dict.fromkeys(ROLES, (201, 404)), body=objection_body),
    # An objection's status is found by its receipt number and check code only: a wrong pair is not found.
    Case("POST", "/api/v1/public/objections/check", const("/api/v1/public/objections/check"),
         const("/api/v1/public/objections/check"), dict.fromkeys(ROLES, (404, 404)),
         body=lambda w, scope: {"receipt_no": "YY-0000", "check_code": "WRONG123"}),
    Case("GET", "/api/v1/ledger/status", const("/api/v1/ledger/status"), const("/api/v1/ledger/status"),
         ledger_read),
    Case("POST", "/api/v1/ledger/verify", const("/api/v1/ledger/verify"), const("/api/v1/ledger/verify"),
         ledger_read),
    Case("GET", "/api/v1/ledger/proof", const("/api/v1/ledger/proof?index=0&size=1"), const("/api/v1/ledger/proof?index=0&size=1"),
         ledger_read),
    Case("GET", "/api/v1/dashboard", const("/api/v1/dashboard"), const("/api/v1/dashboard"), everyone(200)),
    # Spreadsheet downloads: each reads what its list reads, no more.
    Case("GET", "/api/v1/exports/matters", const("/api/v1/exports/matters"),
         const("/api/v1/exports/matters?format=csv"), {**everyone(200), E: same(403)}),
    Case("GET", "/api/v1/exports/payments", const("/api/v1/exports/payments?year=2025"),
         const("/api/v1/exports/payments?year=2025&format=csv"), {**everyone(200), E: same(403)}),
    Case("GET", "/api/v1/exports/entities/{entity_id}/dues",
         lambda w: f"/api/v1/exports/entities/{w.ids['entity_own']}/dues",
         lambda w: f"/api/v1/exports/entities/{w.ids['entity_foreign']}/dues?format=csv",
         {D: same(200), T: (200, 404), V: (200, 404), E: (200, 404), A: same(200), P: same(401)}),
    Case("GET", "/api/v1/exports/dashboard", const("/api/v1/exports/dashboard"),
         const("/api/v1/exports/dashboard?format=csv"), everyone(200)),
    Case("GET", "/api/v1/exports/households", const("/api/v1/exports/households?village=231002001001"),
         const("/api/v1/exports/households?village=231002002001&format=csv"), {**everyone(200), E: same(403)}),
    Case("GET", "/api/v1/exports/entities", const("/api/v1/exports/entities?region=231002001001"),
         const("/api/v1/exports/entities?region=231002002001&format=csv"), everyone(200)),
    Case("GET", "/api/v1/exports/projects", const("/api/v1/exports/projects?region=231002001001"),
         const("/api/v1/exports/projects?region=231002002001&format=csv"), everyone(200)),
    Case("GET", "/api/v1/exports/contracts", const("/api/v1/exports/contracts?region=231002001001"),
         const("/api/v1/exports/contracts?region=231002002001&format=csv"), everyone(200)),
    Case("GET", "/api/v1/villages/{village}/representatives", *representatives(""), scoped_read),
    # The village's cadre, its township and the district keep the list of representatives.
    Case("POST", "/api/v1/villages/{village}/representatives", *representatives(""),
         {D: same(201), T: (201, 404), V: (201, 404), E: same(403), A: same(403), P: same(401)},
         body=representative_body),
    # Supervision: the district scans; findings are read in reach (auditors the whole district) and handled by the
    # township and the district; an entity's credit history is read as its page is; only the district lists.
    Case("POST", "/api/v1/supervision/scan", const("/api/v1/supervision/scan"), const("/api/v1/supervision/scan"),
         {**everyone(403), D: (200, 403), P: same(401)},
         body=lambda w, s: {"county": "231002" if s == "own" else "231005"}),
    Case("GET", "/api/v1/supervision/findings", const("/api/v1/supervision/findings"),
         const("/api/v1/supervision/findings?status=open"), {**everyone(200), E: same(403)}),
    Case("GET", "/api/v1/supervision/indicators", const("/api/v1/supervision/indicators"),
         const("/api/v1/supervision/indicators?year=2025"), {**everyone(200), E: same(403)}),
    # The district allocation's performance setting: read inside the county by whoever reads findings, set by the
    # district administrator of that county only.
    Case("GET", "/api/v1/supervision/performance", const("/api/v1/supervision/performance?county=231002"),
         const("/api/v1/supervision/performance?county=231005"), {**everyone(200), D: (200, 403), T: (200, 403),
                                                                  V: (200, 403), A: (200, 403), E: same(403)}),
    Case("PUT", "/api/v1/supervision/performance", const("/api/v1/supervision/performance"),
         const("/api/v1/supervision/performance"), {**everyone(403), D: (200, 403), P: same(401)},
         body=lambda w, s: {"county": "231002" if s == "own" else "231005", "performance_mode": "indicators"}),
    # The red-flag thresholds: read as the performance setting is, set by the district administrator of the county.
    Case("GET", "/api/v1/supervision/thresholds", const("/api/v1/supervision/thresholds?county=231002"),
         const("/api/v1/supervision/thresholds?county=231005"), {**everyone(200), D: (200, 403), T: (200, 403),
                                                                 V: (200, 403), A: (200, 403), E: same(403)}),
    Case("PUT", "/api/v1/supervision/thresholds", const("/api/v1/supervision/thresholds"),
         const("/api/v1/supervision/thresholds"), {**everyone(403), D: (200, 403), P: same(401)},
         body=lambda w, s: {"county": "231002" if s == "own" else "231005", "idle_days": "60"}),
    # Downloads of the findings, the inspections (in reach) and an entity's credit history (as its page is read).
    Case("GET", "/api/v1/exports/findings", const("/api/v1/exports/findings"), const("/api/v1/exports/findings"),
         {**everyone(200), E: same(403)}),
    Case("GET", "/api/v1/exports/inspections", const("/api/v1/exports/inspections"),
         const("/api/v1/exports/inspections"), {**everyone(200), E: same(403)}),
    Case("GET", "/api/v1/exports/entities/{entity_id}/credit",
         lambda w: f"/api/v1/exports/entities/{w.ids['entity_own']}/credit",
         lambda w: f"/api/v1/exports/entities/{w.ids['entity_foreign']}/credit",
         {D: same(200), T: (200, 404), V: (200, 404), E: (200, 404), A: same(200), P: same(401)}),
    Case("GET", "/api/v1/supervision/insurance", const("/api/v1/supervision/insurance"),
         const("/api/v1/supervision/insurance"), {**everyone(200), E: same(403)}),
    Case("GET", "/api/v1/supervision/overdue", const("/api/v1/supervision/overdue"),
         const("/api/v1/supervision/overdue"), {**everyone(200), E: same(403)}),
    Case("GET", "/api/v1/supervision/findings/{finding_id}",
         lambda w: f"/api/v1/supervision/findings/{w.ids['finding_own']}",
         lambda w: f"/api/v1/supervision/findings/{w.ids['finding_foreign']}", {**scoped_read, E: same(403)}),
    Case("POST", "/api/v1/supervision/findings/{finding_id}/steps",
         lambda w: f"/api/v1/supervision/findings/{w.ids['finding_own']}/steps",
         lambda w: f"/api/v1/supervision/findings/{w.ids['finding_foreign']}/steps",
         {D: same(200), T: (200, 404), V: (403, 404), E: same(403), A: same(403), P: same(401)},
         body=lambda w, s: {"step": "assign", "unit": OWN_VILLAGE if s == "own" else FOREIGN_VILLAGE,
                            "deadline": "2099-12-31"}),
    Case("POST", "/api/v1/supervision/inspections", const("/api/v1/supervision/inspections"),
         const("/api/v1/supervision/inspections"),
         {D: same(201), T: (201, 403), V: same(403), E: same(403), A: same(403), P: same(401)},
         body=lambda w, s: {"region": OWN_VILLAGE if s == "own" else FOREIGN_VILLAGE, "inspected_on": "2026-03-01",
                            "inspectors": "检查组", "place": "村委会", "checked": "台账"}),
    Case("GET", "/api/v1/entities/{entity_id}/credit", lambda w: f"/api/v1/entities/{w.ids['entity_own']}/credit",
         lambda w: f"/api/v1/entities/{w.ids['entity_foreign']}/credit",
         {D: same(200), T: (200, 404), V: (200, 404), E: (200, 404), A: same(200), P: same(401)}),
    Case("POST", "/api/v1/credit/listings", const("/api/v1/credit/listings"), const("/api/v1/credit/listings"),
         {**everyone(403), D: same(201), P: same(401)},
         body=lambda w, s: {"entity": w.ids[f"entity_{s}"], "reasons": "拖欠分红", "basis": "国办发〔2020〕49号"}),
    Case("POST", "/api/v1/credit/listings/{listing_id}/steps",
         lambda w: f"/api/v1/credit/listings/{w.ids['listing_own']}/steps",
         lambda w: f"/api/v1/credit/listings/{w.ids['listing_foreign']}/steps",
         {D: same(200), T: (403, 404), V: (403, 404), E: same(404), A: same(403), P: same(401)},
         body=lambda w, s: {"step": "object", "text": "已补付分红"}),
    Case("POST", "/api/v1/villages/{village}/representatives/{representative_id}/end",
         lambda w: f"/api/v1/villages/{OWN_VILLAGE}/representatives/{w.ids['rep_term_own']}/end",
         lambda w: f"/api/v1/villages/{FOREIGN_VILLAGE}/representatives/{w.ids['rep_term_foreign']}/end",
         {D: same(200), T: (200, 404), V: (200, 404), E: same(403), A: same(403), P: same(401)},
         body=lambda w, s: {"to_date": "2026-03-01", "reason": "换届"}),
    # The registry's writes over the API: each the page's typed command as its body.
    Case("POST", "/api/v1/households", const("/api/v1/households"), const("/api/v1/households"), registry_create,
         body=household_json),
    Case("PATCH", "/api/v1/households/{household_id}", *registry_write(), registry_step,
         body=lambda w, s: {"poverty_cause": "因学"}),
    Case("POST", "/api/v1/households/{household_id}/members", *registry_write("/members"), registry_add,
         body=lambda w, s: {"member": {"name": "王秀兰", "id_number": _registry_ids(40), "relation": "子",
                                       "labor": "none"}}),
    Case("PATCH", "/api/v1/households/{household_id}/members/{person_id}",
         lambda w: f"/api/v1/households/{w.ids['hh_own']}/members/{w.ids['member_own']}",
         lambda w: f"/api/v1/households/{w.ids['hh_foreign']}/members/{w.ids['member_foreign']}", registry_step,
         body=lambda w, s: {"labor": "weak", "health_note": "更正"}),
    Case("POST", "/api/v1/households/{household_id}/status", *registry_write("/status"), registry_step,
         body=lambda w, s: {"status": "monitored", "from_date": "2026-03-02", "reason": "动态调整"}),
    Case("POST", "/api/v1/households/{household_id}/death", *registry_write("/death"), registry_step,
         body=lambda w, s: {"person_id": w.ids[f"member_{s}"], "on": "2026-03-01"}),
    Case("POST", "/api/v1/households/{household_id}/move", *registry_write("/move"), registry_step,
         body=lambda w, s: {"on": "2026-03-01", "destination": "哈尔滨市"}),
    Case("POST", "/api/v1/entities", const("/api/v1/entities"), const("/api/v1/entities"), registry_create,
         body=lambda w, s: registered_json(w, s, "entity")),
    Case("POST", "/api/v1/projects", const("/api/v1/projects"), const("/api/v1/projects"), registry_create,
         body=lambda w, s: registered_json(w, s, "project")),
    Case("POST", "/api/v1/projects/{project_id}/profits", *registry_write("/profits", "project"),
         {**registry_add, E: (403, 404)},
         body=lambda w, s: {"period_start": "2023-02-01", "period_end": "2023-02-28", "profit_fen": 100000}),
    Case("POST", "/api/v1/assets", const("/api/v1/assets"), const("/api/v1/assets"), registry_create,
         body=lambda w, s: registered_json(w, s, "asset")),
    Case("POST", "/api/v1/assets/{asset_id}/valuations", *registry_write("/valuations", "asset"),
         {**registry_add, E: (403, 404)},
         body=lambda w, s: {"valuer": "正信资产评估", "valued_on": "2026-01-10", "value_fen": 600000,
                           "report_ref": "评报字1号"}),
    # Insurance and premium subsidies (issue 17): officials record policies and accounts of the entities in their
    # region and apply; the district alone decides and drafts the year's matter (another county's: not found).
    Case("POST", "/api/v1/insurance/policies", const("/api/v1/insurance/policies"),
         const("/api/v1/insurance/policies"), INSURANCE_WRITE,
         body=lambda w, s: {"entity": w.ids[f"entity_{s}"], "insurer": "人保财险", "policy_no": f"MX-NEW-{s}",
                            "kind": "property", "insured_sum_fen": 5_000_000, "valid_from": "2026-01-01",
                            "valid_to": "2026-12-31"}),
    Case("POST", "/api/v1/insurance/entity-accounts", const("/api/v1/insurance/entity-accounts"),
         const("/api/v1/insurance/entity-accounts"), {**INSURANCE_SEEN, D: same(200), T: (200, 404)},
         body=lambda w, s: {"entity": w.ids[f"entity_{s}"], "bank_account": "6217000099998888777"}),
    Case("POST", "/api/v1/insurance/subsidies", const("/api/v1/insurance/subsidies"),
         const("/api/v1/insurance/subsidies"), {**INSURANCE_SEEN, D: same(201), T: (201, 404)},
         body=lambda w, s: {"policy": w.ids[f"policy_apply_{s}"], "year": 2026, "premium_fen": 20_000,
                            "subsidy_fen": 8_000}),
    Case("POST", "/api/v1/insurance/subsidies/{subsidy_id}/decision",
         lambda w: f"/api/v1/insurance/subsidies/{w.ids['subsidy_own']}/decision",
         lambda w: f"/api/v1/insurance/subsidies/{w.ids['subsidy_foreign']}/decision",
         {**INSURANCE_SEEN, D: same(200), T: (403, 404)}, body=lambda w, s: {"approve": True}),
    Case("POST", "/api/v1/insurance/subsidy-matters", const("/api/v1/insurance/subsidy-matters"),
         const("/api/v1/insurance/subsidy-matters"), {**everyone(403), D: (201, 404), P: same(401)},
         body=lambda w, s: {"county": "231002" if s == "own" else "231005", "year": 2026}),
    Case("GET", "/api/v1/villages/{village}/plan", *plan_path(), scoped_read),
    Case("PUT", "/api/v1/villages/{village}/plan", *plan_path(), registry_step, body=plan_json),
]
# Logging in is tested on its own (test_api_auth.py): it is the one route that takes no token.
# The discipline commission is answered as the auditors are, route by route (reads in its county, no write).
for _case in CASES:
    _case.expect[K] = _case.expect[A]

UNMATRIXED = {("POST", "/api/v1/auth/login")}


@pytest.fixture
def world(mx: Mx) -> World:
    return mx.world


@pytest.fixture
def ws(mx: Mx) -> Session:
    """The tests below read the module's world (one per backend), each request rolled back."""
    return mx.session


# Unsafe methods that write nothing of the district's: signing out, a calculation's preview, a verification of the
# ledger; and an objection to a public notice, which anyone may file.
NOT_WRITES = {"/api/v1/auth/logout", "/api/v1/preview", "/api/v1/ledger/verify",
              "/api/v1/public/notices/{notice_id}/objections"}


def test_the_discipline_commission_is_refused_every_write_the_matrix_asks() -> None:
    writes = [c for c in CASES if c.method != "GET" and c.route not in NOT_WRITES]
    assert len(writes) > 20
    assert [c.route for c in writes if min(c.expect[K]) < 400] == []


def test_every_api_route_is_in_the_access_matrix(ws: Session) -> None:
    app, _ = app_rolling_back(ws)
    declared = {(m.upper(), path) for path, ops in app.openapi()["paths"].items() for m in ops}
    covered = {(c.method, c.route) for c in CASES} | UNMATRIXED
    assert declared - covered == set(), "routes missing from the access matrix"
    assert covered - declared == set(), "matrix names routes that do not exist"


def test_each_role_gets_exactly_the_allowed_status_in_its_own_and_a_foreign_region(
    ws: Session, world: World
) -> None:
    app, _ = app_rolling_back(ws)
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


def test_a_village_cadre_searching_another_village_finds_nothing(ws: Session, world: World) -> None:
    app, _ = app_rolling_back(ws)
    c = client(app)
    own = c.get("/api/v1/households?village=231002001001", headers=world.headers(V)).json()
    foreign = c.get("/api/v1/households?village=231002002001", headers=world.headers(V)).json()
    assert own["items"] and all(i["village_code"] == "231002001001" for i in own["items"])
    assert foreign["items"] == []


def test_a_village_cadre_gets_404_for_another_villages_household_page_too(ws: Session, world: World) -> None:
    app, _ = app_rolling_back(ws)
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
    "/households/new": ("household.write",),
    "/households/import": ("household.write",),
    "/contracts": ("contract.read",),
    "/entities/new": ("entity.write",),
    "/projects/new": ("project.write",),
    "/assets/new": ("asset.write",),
    "/ledger": ("ledger.verify",),
    "/admin/users": ("user.manage",),
    "/year-close": ("year.close",),
}
NAV_LINKS: dict[str, Action] = {"/households": "household.read", "/matters": "matter.detail", "/ledger": "ledger.verify",
             "/admin/users": "user.manage", "/year-close": "year.close"}


def _actor_of(role: str, w: World) -> Any:
    from daipin.domain.actors import Actor, Role

    region = {"district_admin": "231002", "township_official": "231002001", "village_cadre": OWN_VILLAGE}
    return Actor(id=role, role=Role(role), region=region.get(role, "231002"),
                 entity_id=w.ids["entity_own"] if role == E else None)


def test_each_role_is_shown_and_let_into_exactly_the_pages_the_policy_gives_it(ws: Session,
                                                                               world: World) -> None:
    from daipin.domain import access

    app, _ = app_rolling_back(ws)
    wrong = []
    for role in (D, T, V, E, A, K):
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


def test_the_dashboard_counts_the_households_of_the_actor_s_own_region_only(ws: Session,
                                                                             world: World) -> None:
    from sqlalchemy import func

    from daipin.db.models.registry import Household

    def count(prefix: str) -> int:
        return int(ws.scalar(select(func.count()).select_from(Household)
                                  .where(Household.village_code.startswith(prefix))) or 0)

    app, _ = app_rolling_back(ws)
    c = client(app)
    got = {role: c.get("/api/v1/dashboard", headers=world.headers(role)).json() for role in (D, T, V, E, A, K)}
    assert got[V]["households"] == count(OWN_VILLAGE) < got[T]["households"] == count("231002001")
    assert got[T]["households"] < got[D]["households"] == got[A]["households"] == got[K]["households"] == count("231002")
    assert count("231005") > 0 and got[D]["households"] < count("2310")  # the neighbouring county is not counted
    assert got[E]["households"] == 0 and got[E]["linked_households"] <= got[D]["linked_households"]
    assert c.get("/api/v1/dashboard", headers=world.headers(P)).status_code == 401


# ================================================================ the full matrix: every route of the app
#
# Every route the app declares (`app.routes`: the API and the pages) is requested by every role and by nobody
# logged in, with its path parameters filled by rows of the actor's own region and of foreign ones (another
# village of the same township, another township, another county; the own entity and another). A GET fails on
# a 200 the policy refuses (and on a refusal the policy admits), on a household's name, number or ID number in
# a page or an answer the actor may not read, and on a link to a page the viewer is refused (403/404). An
# unsafe route fails when a write the policy refuses is not refused, or leaves the ledger longer. A route whose
# path parameters (or, unsafe, whose body) no rule below fills fails the first test: new routes are covered.

LOGGED_OUT = "logged_out"
# The public holds no account: "public" is the caller logged out (world.headers gives it no token).
EVERYONE = ROLES
SAME_TOWNSHIP_VILLAGE = "231002001002"  # another village of the own township
FAR_VILLAGE = "231002003001"  # a village of another township (no notice posted there)


@dataclass
class Mx:
    """The module's world: the session it lives in, the accounts, and the rows the fill rules name."""

    session: Session
    world: World
    rows: dict[str, Any]
    secrets: dict[str, set[str]]  # role -> strings (names, household numbers, ID numbers) it may not be shown


@dataclass
class Target:
    """One way to fill a route: its path parameters (and query), what the policy says of it, a body if unsafe."""

    label: str
    params: dict[str, str]
    may: Callable[[Any, str], bool] | None  # (actor, route) -> whether the policy lets it through; None: no row
    query: str = ""
    body: Callable[[str], Any] | None = None  # (route) -> JSON (API) or form fields (pages)


def _actor(mx: Mx, role: str) -> Any:
    from daipin.domain.actors import Actor, Role

    return Actor(id="public", role=Role.PUBLIC, region="") if role in (P, LOGGED_OUT) else _actor_of(role, mx.world)


def _allowed(action: Action, region: str | None = None, entity_id: int | None = None,
             posted: bool = False) -> Callable[[Any], bool]:
    from daipin.domain import access

    return lambda a: access.allowed(a, action, region=region, entity_id=entity_id, posted=posted)


def _project_may(p: Any) -> Callable[[Any], bool]:
    return _allowed("project.read", p.village_code or p.township_code, p.entity_id)


def _household_targets(mx: Mx) -> list[Target]:
    return [Target(label, {"household_id": str(h.id)}, lambda a, r, v=h.village_code: _allowed(
        "household.read", v)(a)) for label, h in mx.rows["households"].items()]


def _entity_targets(mx: Mx) -> list[Target]:
    out = []
    for label, (e, projects) in mx.rows["entities"].items():
        def may(a: Any, r: str, e: Any = e, projects: list[Any] = projects) -> bool:
            return _allowed("entity.read", e.region_code or e.county_code, e.id)(a) or any(
                _project_may(p)(a) for p in projects)
        out.append(Target(label, {"entity_id": str(e.id)}, may))
    return out


def _project_targets(mx: Mx) -> list[Target]:
    return [Target(label, {"project_id": str(p.id)}, lambda a, r, p=p: _project_may(p)(a))
            for label, p in mx.rows["projects"].items()]


def _asset_targets(mx: Mx) -> list[Target]:
    return [Target(label, {"asset_id": str(x.id)}, lambda a, r, x=x, p=p: _project_may(p)(a) or _allowed(
        "asset.read", x.owner_region_code or x.county_code)(a)) for label, (x, p) in mx.rows["assets"].items()]


def _contract_read(c: Any, payee_region: str, p: Any) -> Callable[[Any], bool]:
    return lambda a: _allowed("contract.read", payee_region, c.entity_id)(a) or _project_may(p)(a)


def _contract_change(c: Any, payee_region: str, p: Any) -> Callable[[Any], bool]:
    project_region = p.village_code or p.township_code
    return lambda a: c.status != "terminated" and _allowed("contract.change", project_region)(a) and _allowed(
        "contract.change", payee_region)(a)


def _contract_targets(mx: Mx) -> list[Target]:
    return [Target(label, {"contract_id": str(c.id)}, lambda a, r, c=c, region=region, p=p: _contract_read(
        c, region, p)(a)) for label, (c, region, p) in mx.rows["contracts"].items()]


def _matter_targets(mx: Mx) -> list[Target]:
    out = []
    for label, (m, posted, has_batch) in mx.rows["matters"].items():
        def may(a: Any, route: str, m: Any = m, posted: bool = posted, has_batch: bool = has_batch) -> bool:
            if route.endswith("/payments"):
                return has_batch and _allowed("payment.read", m.region_code)(a)
            if "dossier" in route:
                return _allowed("dossier.export", m.region_code)(a)
            if route.startswith("/api/"):
                from daipin.domain import access

                public = access.reach(a, "matter.read").scope is access.Scope.PUBLIC
                return _allowed("matter.read", m.region_code, posted=posted and public)(a)
            return _allowed("matter.detail", m.region_code)(a)
        out.append(Target(label, {"matter_id": str(m.id)}, may))
    return out


def _notice_targets(mx: Mx) -> list[Target]:
    # A posted notice is public: everyone reads it, logged in or not.
    return [Target(label, {"notice_id": str(n)}, lambda a, r: True) for label, n in mx.rows["notices"].items()]


def _paper_targets(mx: Mx) -> list[Target]:
    """A paper of each matter: the minutes and review form exist once a matter has met, voted and been reviewed
    (in notice, executed), the result announcement only once announced (none here); read as the matter is."""
    out = []
    for label, (m, posted, has_batch) in mx.rows["matters"].items():
        for paper in ("meeting-notice", "minutes", "review", "announcement"):
            exists = (posted or has_batch) and paper != "announcement"
            out.append(Target(f"{label}, {paper}", {"matter_id": str(m.id), "paper": paper},
                              lambda a, r, m=m, exists=exists: exists and _allowed("matter.detail", m.region_code)(a)))
    return out


# GET routes with more than one path parameter, each by its route.
ROUTE_FILL: dict[str, Callable[[Mx], list[Target]]] = {
    "/matters/{matter_id}/papers/{paper}.pdf": _paper_targets,
}
# GET routes: each path parameter by its name.
PARAM_FILL: dict[str, Callable[[Mx], list[Target]]] = {
    "household_id": _household_targets,
    "entity_id": _entity_targets,
    "project_id": _project_targets,
    "asset_id": _asset_targets,
    "contract_id": _contract_targets,
    "matter_id": _matter_targets,
    "notice_id": _notice_targets,
    "code": lambda mx: [Target(code, {"code": code}, None) for code in ("en", "zh_CN")],
    "village": lambda mx: _village_targets(mx),
    "batch_id": lambda mx: _batch_targets(mx),
    "user_id": lambda mx: _account_targets(mx),
    "line_id": lambda mx: [Target(label, {"line_id": str(line)}, lambda a, r, v=v: _allowed("payment.read", v)(a))
                           for label, (_m, line, v) in mx.rows["lines"].items()],
    "finding_id": lambda mx: [Target(label, {"finding_id": str(f)}, lambda a, r, v=v: _allowed(
        "supervision.read", v)(a)) for label, (f, v) in mx.rows["findings"].items()],
}
# GET routes without parameters, asked again with a foreign region in their query (the list must not widen).
QUERY_FILL: dict[str, list[str]] = {
    "/api/v1/households": ["village=231002001001", f"village={SAME_TOWNSHIP_VILLAGE}", f"village={FAR_VILLAGE}",
                           f"q={FAR_VILLAGE}0001"],
    "/households": ["village=231002001001", f"village={SAME_TOWNSHIP_VILLAGE}", f"village={FAR_VILLAGE}"],
    "/api/v1/public/notices": ["region=231002001", "region=231002003"],
    "/matters/new": [f"village={SAME_TOWNSHIP_VILLAGE}"],
    **{route: [f"region={OWN_VILLAGE}&year=2025", f"region={SAME_TOWNSHIP_VILLAGE}&year=2025",
               f"region={FAR_VILLAGE[:9]}&year=2025", "region=231002&year=2025", "region=231005&year=2025"]
       for route in ("/reports/annual", "/reports/annual.pdf", "/reports/annual.xlsx")},
    "/contracts": [f"region={OWN_VILLAGE}", f"region={SAME_TOWNSHIP_VILLAGE}", f"region={FAR_VILLAGE}",
                   f"region={FAR_VILLAGE[:9]}&year=2026"],
}


def _contract_sign_targets(mx: Mx) -> list[Target]:
    """Sign on a project (own village, the own township's township-level one, another township's) for a payee
    household (own village, another village of the township, another township)."""
    out = []
    for pl, p in (("own", mx.rows["projects"]["own"]), ("township-level", mx.rows["projects"]["township-level"]),
                  ("other township", mx.rows["projects"]["other township"])):
        for hl in ("own", "same township", "other township"):
            h = mx.rows["households"][hl]
            region = p.village_code or p.township_code

            def body(route: str, p: Any = p, h: Any = h, n: int = len(out)) -> Any:
                fields = {"code": f"HT-MX-SIGN-{n}", "model": "fund_support",
                          "project_id": p.id, "start_date": "2026-01-01", "end_date": "2026-12-31"}
                terms = {"amount_fen": 100000, "purpose": "购买种苗", "support_type": "grant"}
                if route.startswith("/api/"):
                    return {**fields, "terms": terms, "payee_household_id": h.id}
                return {**{k: str(v) for k, v in fields.items()}, "payee_household_no": h.household_no,
                        "t_amount_fen": "1000.00", "t_purpose": "购买种苗", "t_support_type": "grant"}
            out.append(Target(f"project {pl}, payee {hl}", {}, lambda a, r, region=region, v=h.village_code: _allowed(
                "contract.sign", region)(a) and _allowed("contract.sign", v)(a), body=body))
    return out


def _contract_change_targets(kind: str) -> Callable[[Mx], list[Target]]:
    """Amend (one money term raised by 1 yuan) or terminate each contract, as the API and the page send it."""
    def fill(mx: Mx) -> list[Target]:
        from datetime import timedelta

        from daipin.web.pages.registry import form_fields

        def body(route: str, c: Any) -> Any:
            if kind == "terminate":
                return {"on": (c.start_date + timedelta(days=30)).isoformat(), "reason": "资产收回",
                        "version": str(c.version)}
            key = next(k for k, v in sorted(c.terms.items()) if "_fen" in k and isinstance(v, int))
            terms = {**c.terms, key: c.terms[key] + 100}
            if route.startswith("/api/"):
                return {"reason": "补充协议：金额调整", "terms": terms}
            return {"reason": "补充协议：金额调整", **form_fields(c.model, terms), "start_date": c.start_date.isoformat(),
                    "end_date": c.end_date.isoformat(), "version": str(c.version)}
        return [Target(label, {"contract_id": str(c.id)}, lambda a, r, c=c, region=region, p=p: _contract_change(
            c, region, p)(a), body=lambda route, c=c: body(route, c))
            for label, (c, region, p) in mx.rows["contracts"].items()]
    return fill


def _obligation_targets(mx: Mx, model: str, action: Action, *, form: bool = False) -> list[Target]:
    """A wage payment, a repayment or a work record on the first contract of `model` paying each village of the
    world (`form`: the page's fields, money in yuan)."""
    from daipin.db.models.registry import Contract, Household, Project

    if action == "work.write":
        body: dict[str, Any] = {"period_start": "2026-01-01", "period_end": "2026-01-10", "days": "8"}
    else:
        body = {"paid_on": "2026-01-10", "amount_fen": "1.00" if form else 100}
    out = []
    for label, village in (("own", OWN_VILLAGE), ("same township", SAME_TOWNSHIP_VILLAGE),
                           ("other township", FAR_VILLAGE)):
        c = mx.session.scalar(select(Contract).join(Household, Household.id == Contract.payee_household_id).where(
            Contract.model == model, Household.village_code == village).order_by(Contract.id).limit(1))
        if c is None:
            continue
        p = mx.session.get(Project, c.project_id)
        out.append(Target(label, {"contract_id": str(c.id)}, lambda a, r, c=c, v=village, p=p: _contract_read(
            c, v, p)(a) and _allowed(action, v)(a), body=lambda route: body))
    assert out
    return out


def _draft_targets(mx: Mx) -> list[Target]:
    import json

    out = []
    for label, village in (("own", OWN_VILLAGE), ("same township", SAME_TOWNSHIP_VILLAGE),
                           ("other township", FAR_VILLAGE), ("other county", FOREIGN_COUNTY_VILLAGE)):
        doc = {"version": 1, "kind": "beneficiary_roster", "village": village, "year": 2028, "households": []}
        fields = {"kind": "beneficiary_roster", "region": village, "title": "2028年度名单", "year": 2028}

        def body(route: str, fields: dict[str, Any] = fields, doc: dict[str, Any] = doc) -> Any:
            if route.startswith("/api/"):
                return {**fields, "document": doc}
            return {**{k: str(v) for k, v in fields.items()}, "document": json.dumps(doc, ensure_ascii=False)}
        out.append(Target(label, {}, lambda a, r, v=village: _allowed("matter.village.decide", v)(a), body=body))
    return out


def _step_targets(mx: Mx) -> list[Target]:
    # The number of representatives comes from the registry's list, not the body.
    body = {"type": "representatives_meeting", "scheduled_at": "2026-03-20T09:00:00+08:00", "place": "村委会"}
    return [Target(label, {"matter_id": str(m.id), "action": "call_meeting"},
                   lambda a, r, m=m: _allowed("matter.village.decide", m.region_code)(a),
                   body=lambda route: body if route.startswith("/api/") else {k: str(v) for k, v in body.items()})
            for label, (m, _posted, has_batch) in mx.rows["matters"].items() if not has_batch and not _posted]


def _payment_targets(mx: Mx) -> list[Target]:
    return [Target(label, {"matter_id": str(m), "line_id": str(line)},
                   lambda a, r, v=v: _allowed("payment.record", v)(a),
                   body=lambda route: {"outcome": "paid", "payment_ref": "NX-MX"})
            for label, (m, line, v) in mx.rows["lines"].items()]


def _batch_targets(mx: Mx, action: Action = "payment.read", body: Any = None) -> list[Target]:
    return [Target(label, {"batch_id": str(mx.world.ids[f"batch_{scope}"])},
                   lambda a, r, v=v: _allowed(action, v)(a), body=body) for label, scope, v in VILLAGES]


def _failed_targets(body: dict[str, str]) -> Callable[[Mx], list[Target]]:
    return lambda mx: [Target(label, {"line_id": str(mx.world.ids[f"failed_{scope}"])},
                              lambda a, r, v=v: _allowed("payment.record", v)(a), body=lambda route: body)
                       for label, scope, v in VILLAGES]


def _return_targets(mx: Mx) -> list[Target]:
    # A return file only applies to lines sent to the bank (the route's own tests): nothing regional here.
    return [Target(label, {"batch_id": str(mx.world.ids[f"batch_{scope}"])}, None) for label, scope, _v in VILLAGES]


def _user_targets(mx: Mx) -> list[Target]:
    return [Target(label, {}, lambda a, r, v=v: _allowed("user.manage", v)(a),
                   body=lambda route, v=v: {"username": f"mx-{v}", "password": "long-enough-pass-1",
                                            "role": "village_cadre", "region": v})
            for label, v in (("own", SAME_TOWNSHIP_VILLAGE), ("other county", FOREIGN_COUNTY_VILLAGE))]


def _accounts(mx: Mx) -> list[tuple[str, int, str]]:
    """Two accounts none of the matrix's roles holds: one of a village of the own county, one of another county."""
    from daipin.db.models.auth import User
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.services.auth import service as auth_service
    from tests.integration.api_support import START

    out = []
    for label, name, region in (("own county", "mx-account", SAME_TOWNSHIP_VILLAGE),
                                ("other county", "mx-far-account", FOREIGN_COUNTY_VILLAGE)):
        user = mx.session.scalar(select(User).where(User.username == name))
        if user is None:
            user = auth_service.create_user(mx.session, actor=SYSTEM_ACTOR, username=name, password="matrix-pass-1",
                                            role="village_cadre", region=region, at=START)
        out.append((label, user.id, region))
    return out


def _account_targets(mx: Mx) -> list[Target]:
    return [Target(label, {"user_id": str(uid)}, lambda a, r, v=v: _allowed("user.manage", v)(a))
            for label, uid, v in _accounts(mx)]


def _account_change_targets(mx: Mx) -> list[Target]:
    out = []
    for label, uid, v in _accounts(mx):
        for change, body in (("active", {"active": "0"}), ("password", {"new_password": "a-new-pass-2026"}),
                             ("role", {"role": "village_cadre", "region": OWN_VILLAGE})):
            out.append(Target(f"{label}, {change}", {"user_id": str(uid), "change": change},
                              lambda a, r, v=v: _allowed("user.manage", v)(a) and _allowed("user.manage",
                                                                                           OWN_VILLAGE)(a),
                              body=lambda route, body=body: body))
    return out


def _objection_targets(mx: Mx) -> list[Target]:
    # Anyone objects to a posted notice (matter.object is public): nothing to refuse by region.
    return [Target(label, {"notice_id": str(n)}, None, body=lambda route: {"text": "名单有误，请核实"})
            for label, n in mx.rows["notices"].items()]


VILLAGES = (("own", "own", OWN_VILLAGE), ("other township", "foreign", FOREIGN_VILLAGE))


def _village_targets(mx: Mx) -> list[Target]:
    # A village's list of representatives is read as its households are.
    return [Target(label, {"village": v}, lambda a, r, v=v: _allowed("household.read", v)(a))
            for label, _, v in (*VILLAGES, ("same township", "", SAME_TOWNSHIP_VILLAGE))]


def _representative_add_targets(mx: Mx) -> list[Target]:
    def body(person: int) -> Callable[[str], Any]:
        return lambda route: ({"person_id": person, "from_date": "2026-01-01"} if route.startswith("/api/")
                              else {"person_id": str(person), "from_date": "2026-01-01"})
    return [Target(label, {"village": v}, lambda a, r, v=v: _allowed("representative.write", v)(a),
                   body=body(mx.world.ids[f"rep_person_{scope}"])) for label, scope, v in VILLAGES]


def _representative_end_targets(mx: Mx) -> list[Target]:
    return [Target(label, {"village": v, "representative_id": str(mx.world.ids[f"rep_term_{scope}"])},
                   lambda a, r, v=v: _allowed("representative.write", v)(a),
                   body=lambda route: {"to_date": "2026-02-01", "reason": "换届"}) for label, scope, v in VILLAGES]


def _scan_targets(mx: Mx) -> list[Target]:
    return [Target(label, {}, lambda a, r, c=c: _allowed("supervision.scan", c)(a), body=lambda route, c=c: {
        "county": c}) for label, c in (("own", "231002"), ("other county", "231005"))]


def _performance_targets(mx: Mx) -> list[Target]:
    return [Target(label, {}, lambda a, r, c=c: _allowed("setting.write", c)(a), body=lambda route, c=c: {
        "county": c, "performance_mode": "indicators", "performance_min": "0.85"})
        for label, c in (("own", "231002"), ("other county", "231005"))]


def _threshold_targets(mx: Mx) -> list[Target]:
    return [Target(label, {}, lambda a, r, c=c: _allowed("supervision.scan", c)(a), body=lambda route, c=c: {
        "county": c, "idle_days": "60", "concentration_share": "0.25"})
        for label, c in (("own", "231002"), ("other county", "231005"))]


def _finding_step_targets(mx: Mx) -> list[Target]:
    return [Target(label, {"finding_id": str(f)}, lambda a, r, v=v: _allowed("finding.manage", v)(a),
                   body=lambda route, v=v: {"step": "assign", "unit": v, "deadline": "2099-12-31"})
            for label, (f, v) in mx.rows["findings"].items()]


def _inspection_targets(mx: Mx) -> list[Target]:
    def body(route: str, v: str) -> Any:
        fields = {"region": v, "inspected_on": "2026-03-01", "inspectors": "检查组", "place": "村委会", "checked": "台账"}
        if route.startswith("/api/"):
            return {**fields, "findings": [{"summary": "账实不符"}]}
        return {**fields, "finding_summary": "账实不符"}
    return [Target(label, {}, lambda a, r, v=v: _allowed("finding.manage", v)(a), body=lambda route, v=v: body(route, v))
            for label, v in (("own", OWN_VILLAGE), ("same township", SAME_TOWNSHIP_VILLAGE),
                             ("other township", FAR_VILLAGE), ("other county", FOREIGN_COUNTY_VILLAGE))]


def _propose_targets(mx: Mx) -> list[Target]:
    out = []
    for label, (e, projects) in mx.rows["entities"].items():
        def may(a: Any, r: str, e: Any = e, projects: list[Any] = projects) -> bool:
            seen = _allowed("entity.read", e.region_code or e.county_code, e.id)(a) or any(
                _project_may(p)(a) for p in projects)
            return seen and _allowed("entity.credit", e.region_code or e.county_code)(a)

        def body(route: str, e: Any = e) -> Any:
            fields = {"reasons": "连续两年拖欠分红", "basis": "国办发〔2020〕49号"}
            return {**fields, "entity": e.id} if route.startswith("/api/") else fields
        out.append(Target(label, {"entity_id": str(e.id)}, may, body=body))
    return out


def _listing_step_targets(mx: Mx) -> list[Target]:
    return [Target(label, {"listing_id": str(li)}, lambda a, r, e=e: _allowed(
        "entity.read", e.region_code, e.id)(a) and _allowed("credit.object", e.region_code, e.id)(a),
        body=lambda route: {"step": "object", "text": "已补付分红，附银行回单"})
        for label, (li, e) in mx.rows["listings"].items()]


def _insurance_entity_targets(extra: dict[str, str]) -> Callable[[Mx], list[Target]]:
    """A policy or an account of the own and the foreign sample entity: officials of its region."""
    from daipin.db.models.registry import Entity

    def fill(mx: Mx) -> list[Target]:
        out = []
        for scope in ("own", "foreign"):
            e = mx.session.get(Entity, mx.world.ids[f"entity_{scope}"])
            region = e.region_code or e.county_code

            def body(route: str, e: Any = e) -> Any:
                return {**extra, "entity": e.id} if route.startswith("/api/") else {**extra, "entity": str(e.id)}
            out.append(Target(scope, {}, lambda a, r, v=region: _allowed("entity.write", v)(a), body=body))
        return out
    return fill


def _apply_targets(mx: Mx) -> list[Target]:
    from daipin.db.models.registry import Entity

    out = []
    for scope in ("own", "foreign"):
        e = mx.session.get(Entity, mx.world.ids[f"entity_{scope}"])
        policy = mx.world.ids[f"policy_apply_{scope}"]
        out.append(Target(scope, {}, lambda a, r, v=e.region_code or e.county_code: _allowed("entity.write", v)(a),
                          body=lambda route, p=policy: {"policy": p, "year": 2026, "premium_fen": 20_000,
                                                        "subsidy_fen": 8_000} if route.startswith("/api/") else {
                              "policy": str(p), "year": "2026", "premium_fen": "200", "subsidy_fen": "80"}))
    return out


def _decide_subsidy_targets(mx: Mx) -> list[Target]:
    from daipin.db.models.registry import Entity

    out = []
    for scope in ("own", "foreign"):
        e = mx.session.get(Entity, mx.world.ids[f"entity_{scope}"])
        out.append(Target(scope, {"subsidy_id": str(mx.world.ids[f"subsidy_{scope}"])},
                          lambda a, r, v=e.region_code or e.county_code: _allowed("entity.credit", v)(a),
                          body=lambda route: {"approve": True} if route.startswith("/api/") else {
                              "decision": "approve"}))
    return out


def _subsidy_matter_targets(mx: Mx) -> list[Target]:
    return [Target(label, {}, lambda a, r, c=c: _allowed("matter.district.decide", c)(a),
                   body=lambda route, c=c: {"county": c, "year": 2026 if route.startswith("/api/") else "2026"})
            for label, c in (("own", "231002"), ("other county", "231005"))]


def _registry_ids(n: int) -> str:
    from datetime import date

    from daipin.domain.identity import make_resident_id

    return make_resident_id("231002", date(1981, 1 + n % 12, 1 + n % 28), 700 + n, "M")


def _household_register_targets(mx: Mx) -> list[Target]:
    """Register a household in each village of the world (own, same township, other township, other county)."""
    out = []
    for n, (label, h) in enumerate(mx.rows["households"].items()):
        body = {"household_no": f"{h.village_code}9{n:03d}", "village_code": h.village_code, "status": "poor",
                "members[0].name": "林国庆", "members[0].id_number": _registry_ids(n), "members[0].relation": "户主",
                "members[0].labor": "full"}
        out.append(Target(label, {}, lambda a, r, v=h.village_code: _allowed("household.write", v)(a),
                          body=lambda route, body=body: body))
    return out


def _household_step_targets(step: str) -> Callable[[Mx], list[Target]]:
    """One step on each household of the world, with a body its service accepts."""
    def fill(mx: Mx) -> list[Target]:
        out = []
        for n, (label, h) in enumerate(mx.rows["households"].items()):
            alive = mx.session.scalars(select(Person).where(Person.household_id == h.id, Person.life_state == "alive")
                                       .order_by(Person.id)).all()
            params = {"household_id": str(h.id)}
            if step == "edit":
                body: dict[str, str] = {"poverty_cause": f"更正致贫原因{n}"}
            elif step == "member":
                body = {"member.name": "王秀兰", "member.id_number": _registry_ids(10 + n), "member.relation": "子",
                        "member.labor": "none"}
            elif step == "person":
                p = alive[-1]
                params["person_id"] = str(p.id)
                body = {"labor": "none" if p.labor != "none" else "full"}
            elif step == "status":
                body = {"status": "monitored" if h.status != "monitored" else "poor", "from_date": "2026-03-02",
                        "reason": "动态调整"}
            elif step == "death":
                body = {"person_id": str(alive[-1].id), "on": "2026-03-01"}
            else:
                body = {"on": "2026-03-01", "destination": "哈尔滨市"}
            out.append(Target(label, params, lambda a, r, v=h.village_code: _allowed("household.write", v)(a),
                              body=lambda route, body=body: body))
        return out
    return fill


def _entity_register_targets(mx: Mx) -> list[Target]:
    from daipin.domain.identity import make_uscc

    out = []
    for n, (label, region) in enumerate((("own", OWN_TOWNSHIP), ("other township", FAR_VILLAGE[:9]),
                                         ("own village", OWN_VILLAGE), ("other county", FOREIGN_COUNTY_VILLAGE[:9]))):
        body = {"name": f"矩阵合作社{n}", "kind": "cooperative", "uscc": make_uscc(f"93231002MA00{n:05d}"),
                "legal_representative": "赵大勇", "region_code": region}
        out.append(Target(label, {}, lambda a, r, region=region: _allowed("entity.write", region)(a),
                          body=lambda route, body=body: body))
    return out


def _project_register_targets(mx: Mx) -> list[Target]:
    entity = mx.rows["projects"]["own"].entity_id
    out = []
    for n, (label, village) in enumerate((("own", OWN_VILLAGE), ("same township", SAME_TOWNSHIP_VILLAGE),
                                          ("other township", FAR_VILLAGE), ("township-level", ""))):
        body = {"code": f"XM-MX-{n}", "name": f"矩阵项目{n}", "category": "特色种养业", "entity_id": str(entity),
                "township_code": (village or OWN_VILLAGE)[:9], "village_code": village,
                "funding[0].source": "财政扶贫资金", "funding[0].amount_fen": "1000.00"}
        region = village or OWN_TOWNSHIP
        out.append(Target(label, {}, lambda a, r, region=region: _allowed("project.write", region)(a),
                          body=lambda route, body=body: body))
    return out


def _profit_targets(mx: Mx) -> list[Target]:
    body = {"period_start": "2023-02-01", "period_end": "2023-02-28", "profit_fen": "1000.00"}
    return [Target(label, {"project_id": str(p.id)},
                   lambda a, r, p=p: _allowed("project.write", p.village_code or p.township_code)(a),
                   body=lambda route: body) for label, p in mx.rows["projects"].items()]


def _asset_register_targets(mx: Mx) -> list[Target]:
    out = []
    for n, (label, region) in enumerate((("own", OWN_VILLAGE), ("same township", SAME_TOWNSHIP_VILLAGE),
                                         ("other township", FAR_VILLAGE), ("own township", OWN_TOWNSHIP))):
        body = {"code": f"ZC-MX-{n}", "name": f"矩阵资产{n}", "kind": "operating", "value_fen": "5000.00",
                "owner_region_code": region}
        out.append(Target(label, {}, lambda a, r, region=region: _allowed("asset.write", region)(a),
                          body=lambda route, body=body: body))
    return out


def _valuation_targets(mx: Mx) -> list[Target]:
    body = {"valuer": "正信资产评估", "valued_on": "2026-01-10", "value_fen": "6000.00", "report_ref": "评报字1号"}
    return [Target(label, {"asset_id": str(a.id)},
                   lambda a_, r, a=a: _allowed("asset.write", a.owner_region_code or a.county_code)(a_),
                   body=lambda route: body) for label, (a, _p) in mx.rows["assets"].items()]


def _plan_targets(mx: Mx) -> list[Target]:
    body = {"year": "2027", "pool_fen": "10000.00", "eligible_statuses[0]": "poor", "buckets[0].name": "兜底保障",
            "buckets[0].share": "1", "buckets[0].rule": "direct_support", "buckets[0].per": "person"}
    return [Target(label, {"village": v}, lambda a, r, v=v: _allowed("plan.write", v)(a), body=lambda route: body)
            for label, _, v in (*VILLAGES, ("same township", "", SAME_TOWNSHIP_VILLAGE))]


def _no_row(body: Any = None) -> Callable[[Mx], list[Target]]:
    return lambda mx: [Target("-", {}, None, body=(lambda route: body) if body is not None else None)]


def _as_json(command: str, fill: Callable[[Mx], list[Target]]) -> Callable[[Mx], list[Target]]:
    """A page's form targets as the API's: the same command read from the form's fields, sent as JSON."""
    from daipin.services.registry import commands
    from daipin.services.runs import commands as plan_commands

    cls = getattr(commands, command, None) or getattr(plan_commands, command)

    def json_of(body: Any) -> Callable[[str], Any]:
        return lambda route: cls.form_values(body(route)) if body is not None else None

    return lambda mx: [Target(t.label, t.params, t.may, t.query, json_of(t.body)) for t in fill(mx)]

# Unsafe routes: each by (method, route), with the body it is sent; a refused one must write nothing.
WRITE_FILL: dict[tuple[str, str], Callable[[Mx], list[Target]]] = {
    ("POST", "/api/v1/contracts"): _contract_sign_targets,
    ("POST", "/contracts"): _contract_sign_targets,
    ("POST", "/api/v1/contracts/{contract_id}/amend"): _contract_change_targets("amend"),
    ("POST", "/contracts/{contract_id}/amend"): _contract_change_targets("amend"),
    ("POST", "/api/v1/contracts/{contract_id}/terminate"): _contract_change_targets("terminate"),
    ("POST", "/contracts/{contract_id}/terminate"): _contract_change_targets("terminate"),
    ("POST", "/api/v1/contracts/{contract_id}/wage-payments"): lambda mx: _obligation_targets(mx, "employment",
                                                                                              "wage.record"),
    ("POST", "/api/v1/contracts/{contract_id}/repayments"): lambda mx: _obligation_targets(mx, "fund_support",
                                                                                          "repayment.record"),
    ("POST", "/contracts/{contract_id}/wage-payments"): lambda mx: _obligation_targets(mx, "employment",
                                                                                       "wage.record", form=True),
    ("POST", "/contracts/{contract_id}/repayments"): lambda mx: _obligation_targets(mx, "fund_support",
                                                                                   "repayment.record", form=True),
    ("POST", "/api/v1/contracts/{contract_id}/work-records"): lambda mx: _obligation_targets(mx, "employment",
                                                                                             "work.write"),
    ("POST", "/contracts/{contract_id}/work-records"): lambda mx: _obligation_targets(mx, "employment",
                                                                                      "work.write", form=True),
    ("POST", "/api/v1/matters"): _draft_targets,
    ("POST", "/matters"): _draft_targets,
    ("POST", "/api/v1/matters/{matter_id}/actions/{action}"): _step_targets,
    ("POST", "/matters/{matter_id}/{action}"): _step_targets,
    ("POST", "/api/v1/matters/{matter_id}/payments/{line_id}"): _payment_targets,
    ("POST", "/matters/{matter_id}/payments/{line_id}"): _payment_targets,
    ("POST", "/api/v1/payments/batches/{batch_id}/bank-file"): lambda mx: _batch_targets(
        mx, "payment.record", lambda route: {"format": "csv"}),
    ("POST", "/payments/batches/{batch_id}/bank-file"): lambda mx: _batch_targets(
        mx, "payment.record", lambda route: {"format": "csv"}),
    ("POST", "/api/v1/payments/batches/{batch_id}/return"): _return_targets,
    ("POST", "/payments/batches/{batch_id}/return"): _return_targets,
    ("POST", "/api/v1/payments/lines/{line_id}/requeue"): _failed_targets({"bank_account": "6217000012345678901"}),
    ("POST", "/payments/lines/{line_id}/requeue"): _failed_targets({"bank_account": "6217000012345678901"}),
    ("POST", "/api/v1/payments/lines/{line_id}/write-off"): _failed_targets(
        {"reason": "户已销户", "decision": "某乡政发〔2026〕1号"}),
    ("POST", "/payments/lines/{line_id}/write-off"): _failed_targets(
        {"reason": "户已销户", "decision": "某乡政发〔2026〕1号"}),
    ("POST", "/api/v1/supervision/scan"): _scan_targets,
    ("POST", "/supervision/scan"): _scan_targets,
    ("PUT", "/api/v1/supervision/performance"): _performance_targets,
    ("POST", "/supervision/performance"): _performance_targets,
    ("PUT", "/api/v1/supervision/thresholds"): _threshold_targets,
    ("POST", "/supervision/thresholds"): _threshold_targets,
    ("POST", "/year-close"): lambda mx: [Target("own county", {}, lambda a, r: _allowed("year.close")(a),
                                                body=lambda route: {"year": "2025"})],
    ("POST", "/api/v1/supervision/findings/{finding_id}/steps"): _finding_step_targets,
    ("POST", "/supervision/findings/{finding_id}/step"): _finding_step_targets,
    ("POST", "/api/v1/supervision/inspections"): _inspection_targets,
    ("POST", "/supervision/inspections"): _inspection_targets,
    ("POST", "/api/v1/credit/listings"): lambda mx: [Target(t.label, {}, t.may, body=t.body)
                                                     for t in _propose_targets(mx)],
    ("POST", "/entities/{entity_id}/credit/listings"): _propose_targets,
    ("POST", "/api/v1/credit/listings/{listing_id}/steps"): _listing_step_targets,
    ("POST", "/credit/listings/{listing_id}/step"): _listing_step_targets,
    ("POST", "/api/v1/insurance/policies"): _insurance_entity_targets(
        {"insurer": "人保财险", "policy_no": "MX-W-1", "valid_from": "2026-01-01", "valid_to": "2026-12-31"}),
    ("POST", "/supervision/insurance/policies"): _insurance_entity_targets(
        {"insurer": "人保财险", "policy_no": "MX-W-1", "valid_from": "2026-01-01", "valid_to": "2026-12-31"}),
    ("POST", "/api/v1/insurance/entity-accounts"): _insurance_entity_targets({"bank_account": "6217000099998888777"}),
    ("POST", "/supervision/insurance/accounts"): _insurance_entity_targets({"bank_account": "6217000099998888777"}),
    ("POST", "/api/v1/insurance/subsidies"): _apply_targets,
    ("POST", "/supervision/insurance/subsidies"): _apply_targets,
    ("POST", "/api/v1/insurance/subsidies/{subsidy_id}/decision"): _decide_subsidy_targets,
    ("POST", "/supervision/insurance/subsidies/{subsidy_id}/decision"): _decide_subsidy_targets,
    ("POST", "/api/v1/insurance/subsidy-matters"): _subsidy_matter_targets,
    ("POST", "/supervision/insurance/subsidy-matter"): _subsidy_matter_targets,
    ("POST", "/api/v1/users"): _user_targets,
    ("POST", "/admin/users"): _user_targets,
    ("POST", "/admin/users/{user_id}/{change}"): _account_change_targets,
    ("POST", "/api/v1/public/notices/{notice_id}/objections"): _objection_targets,
    ("POST", "/public/notices/{notice_id}/objections"): _objection_targets,
    ("POST", "/api/v1/villages/{village}/representatives"): _representative_add_targets,
    ("POST", "/villages/{village}/representatives"): _representative_add_targets,
    ("POST", "/api/v1/villages/{village}/representatives/{representative_id}/end"): _representative_end_targets,
    ("POST", "/villages/{village}/representatives/{representative_id}/end"): _representative_end_targets,
    # The registry's forms (pages only): each in every region of the world.
    ("POST", "/households"): _household_register_targets,
    ("POST", "/households/{household_id}/edit"): _household_step_targets("edit"),
    ("POST", "/households/{household_id}/members"): _household_step_targets("member"),
    ("POST", "/households/{household_id}/members/{person_id}"): _household_step_targets("person"),
    ("POST", "/households/{household_id}/status"): _household_step_targets("status"),
    ("POST", "/households/{household_id}/death"): _household_step_targets("death"),
    ("POST", "/households/{household_id}/move"): _household_step_targets("move"),
    ("POST", "/entities"): _entity_register_targets,
    ("POST", "/projects"): _project_register_targets,
    ("POST", "/projects/{project_id}/profits"): _profit_targets,
    ("POST", "/assets"): _asset_register_targets,
    ("POST", "/assets/{asset_id}/valuations"): _valuation_targets,
    # The same writes over the API: the forms' fields as the command's JSON (money in fen).
    ("POST", "/api/v1/households"): _as_json("RegisterHousehold", _household_register_targets),
    ("PATCH", "/api/v1/households/{household_id}"): _as_json("EditHousehold", _household_step_targets("edit")),
    ("POST", "/api/v1/households/{household_id}/members"): _as_json("AddMember", _household_step_targets("member")),
    ("PATCH", "/api/v1/households/{household_id}/members/{person_id}"): _as_json(
        "EditMember", _household_step_targets("person")),
    ("POST", "/api/v1/households/{household_id}/status"): _as_json("ChangeStatus", _household_step_targets("status")),
    ("POST", "/api/v1/households/{household_id}/death"): _as_json("RecordDeath", _household_step_targets("death")),
    ("POST", "/api/v1/households/{household_id}/move"): _as_json("RecordMove", _household_step_targets("move")),
    ("POST", "/api/v1/entities"): _as_json("RegisterEntity", _entity_register_targets),
    ("POST", "/api/v1/projects"): _as_json("RegisterProject", _project_register_targets),
    ("POST", "/api/v1/projects/{project_id}/profits"): _as_json("RecordProfit", _profit_targets),
    ("POST", "/api/v1/assets"): _as_json("RegisterAsset", _asset_register_targets),
    ("POST", "/api/v1/assets/{asset_id}/valuations"): _as_json("AddValuation", _valuation_targets),
    ("PUT", "/api/v1/villages/{village}/plan"): _as_json("SavePlan", _plan_targets),
    # An upload (a file, not a form's fields) and its error report (the page's own rows): their tests cover them.
    ("POST", "/villages/{village}/plan"): _plan_targets,
    ("POST", "/households/import"): _no_row(),
    ("POST", "/households/import/errors.xlsx"): _no_row(),
    # An objection's status, by its receipt number and check code: no row of any region.
    ("POST", "/api/v1/public/objections/check"): _no_row({"receipt_no": "YY-0000", "check_code": "WRONG123"}),
    ("POST", "/public/objections/check"): _no_row({"receipt_no": "YY-0000", "check_code": "WRONG123"}),
    # A checkpoint note read off paper: checked against the ledger's roots, no row of any region.
    ("POST", "/public/checkpoint"): _no_row({"note": "daipin.231002/ledger\n1\nAAAA\n\n— daipin.231002/ledger AAAA\n"}),
    # Not a row of any region: computing a preview, verifying the ledger, one's own account and session.
    ("POST", "/api/v1/preview"): _no_row(),
    ("POST", "/matters/preview"): _no_row(),
    ("POST", "/api/v1/ledger/verify"): _no_row(),
    ("POST", "/ledger/verify"): _no_row(),
    ("POST", "/api/v1/auth/login"): _no_row(),
    ("POST", "/login"): _no_row(),
    ("POST", "/api/v1/auth/logout"): _no_row(),
    ("POST", "/logout"): _no_row(),
    ("POST", "/api/v1/auth/password"): _no_row(),
    ("POST", "/account/password"): _no_row(),
    # The training clock: no row of any region; this world's database is a production one, so it is refused to
    # everyone (403 without `setting.write`, 409 for the district administrator) and writes nothing.
    ("POST", "/training/clock"): _no_row({"by": "11d"}),
    # The province's duplicate check: no row of any region (nothing stored); the province role alone, in its own
    # province's counties (tests/integration/test_province_duplicates.py asks each role, own and foreign county).
    ("POST", "/province/duplicates"): _no_row(),
}
# Routes that need no login (the public portal); every other one needs an account.
PUBLIC_ROUTES = ("/public", "/api/v1/public")
# Served by the framework, not the app's policy.
FRAMEWORK = {("GET", "/api/v1/openapi.json"), ("GET", "/api/v1/docs"), ("GET", "/docs/oauth2-redirect")}


def app_routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, walking included routers; HEAD aside, static files aside."""
    out: set[tuple[str, str]] = set()

    def walk(routes: Any, prefix: str) -> None:
        for r in routes:
            if hasattr(r, "original_router"):  # an included router (FastAPI keeps it whole)
                walk(r.original_router.routes, prefix + r.include_context.prefix)
            elif getattr(r, "methods", None):
                out.update((m, prefix + r.path) for m in r.methods if m != "HEAD")
            elif hasattr(r, "routes") and getattr(r, "path", "") != "/static":
                walk(r.routes, prefix + getattr(r, "path", ""))
    walk(app.routes, "")
    return sorted(out)


def _params(route: str) -> list[str]:
    import re

    return re.findall(r"{(\w+)}", route)


def targets_for(mx: Mx, method: str, route: str) -> list[Target] | None:
    """The targets a route is asked with, or None when no rule fills it."""
    if (method, route) in FRAMEWORK:
        return [Target("-", {}, None)]
    if method != "GET":
        fill = WRITE_FILL.get((method, route))
        return fill(mx) if fill else None
    if route in ROUTE_FILL:
        return ROUTE_FILL[route](mx)
    names = _params(route)
    if not names:
        return [Target("-", {}, None)] + [Target(q, {}, None, query=q) for q in QUERY_FILL.get(route, [])]
    if len(names) != 1 or names[0] not in PARAM_FILL:
        return None
    return PARAM_FILL[names[0]](mx)


def _url(route: str, t: Target) -> str:
    path = route
    for k, v in t.params.items():
        path = path.replace("{" + k + "}", v)
    return f"{path}?{t.query}" if t.query else path


@pytest.fixture(scope="module")
def mx(db_engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mx]:
    """One world per backend for the whole module, in a transaction rolled back at its end."""
    conn = db_engine.connect()
    outer = conn.begin()
    s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        world = _build_mx(s, str(tmp_path_factory.mktemp("mx-keys")))
        if s.get_bind().dialect.name == "postgresql":  # the statistics a live database has (autovacuum), read in
            s.connection().exec_driver_sql("ANALYZE")  # this transaction: without them two joins of households and
            # people are planned for empty tables and take 0.15-1.2 s each, where they take a millisecond
        yield world
        # Every request was rolled back: the ledger verifies as built (once here rather than after each test).
        from daipin.ledger.verify import verify_log

        s.expire_all()
        report = verify_log(s)
        assert report.ok, report.problems[:3]
    finally:
        s.close()
        outer.rollback()
        conn.close()


def _build_mx(session: Session, keys: str) -> Mx:
    from datetime import date, timedelta

    from daipin.db.models.registry import Asset, Contract, Entity, Household, Project
    from daipin.db.models.workflow import Matter, Notice
    from daipin.domain import access
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.services.contracts import service as contracts
    from daipin.services.payments import service as payments
    from daipin.services.registry import service as reg
    from daipin.services.runs import service as runs
    from daipin.services.sample import service as sample
    from tests.integration.api_support import START

    w = build_world(session, keys)
    for scope, village in (("own", OWN_VILLAGE), ("foreign", FOREIGN_VILLAGE)):
        m = executed_allocation(session, village)
        batch = payments.batch_for_matter(session, m.id)
        assert batch is not None
        w.ids[f"executed_{scope}"] = m.id
        w.ids[f"line_{scope}"] = payments.lines(session, batch)[0].id
        w.ids[f"batch_{scope}"] = batch.id
        # A line the bank returned as failed: to requeue (with the corrected account) or write off.
        failed = payments.lines(session, batch)[1]
        payments.mark_paid(session, SYSTEM_ACTOR, failed.id, failed=True, reason="账户冻结", at=START)
        w.ids[f"failed_{scope}"] = failed.id
        # A recorded representative's term, and a grown member of the village who is not one.
        w.ids[f"rep_term_{scope}"] = session.scalars(select(VillageRepresentative.id).where(
            VillageRepresentative.village_code == village).order_by(VillageRepresentative.id)).first()
        w.ids[f"rep_person_{scope}"] = session.scalars(select(Person.id).join(Household).where(
            Household.village_code == village, Person.relation == "配偶").order_by(Person.id)).first()
        # A living member of the sample household (the registry's writes over the API correct or end one).
        w.ids[f"member_{scope}"] = session.scalars(select(Person.id).where(
            Person.household_id == w.ids[f"hh_{scope}"], Person.life_state == "alive").order_by(Person.id.desc())).first()

    def first_household(village: str) -> Household:
        h = session.scalar(select(Household).where(Household.village_code == village, Household.life_state == "alive")
                           .order_by(Household.id).limit(1))
        assert h is not None
        return h

    at = START - timedelta(days=40)
    households = {"own": first_household(OWN_VILLAGE), "same township": first_household(SAME_TOWNSHIP_VILLAGE),
                  "other township": first_household(FAR_VILLAGE),
                  "other county": first_household(FOREIGN_COUNTY_VILLAGE)}
    own_project = session.get(Project, w.ids["project_own"])
    assert own_project is not None
    entity_own = own_project.entity_id
    # The own entity also runs a township-level project of the own township and one in another township; its
    # contracts pay households of the own village, of another village of the township and of another township.
    township_level, _ = reg.register_project(
        session, SYSTEM_ACTOR, code="MX-TWN", name="兴隆镇联营带贫项目", category="特色种养业", entity_id=entity_own,
        township_code=OWN_TOWNSHIP, at=at, expected_return="0.06", start_year=sample.YEAR)
    far, _ = reg.register_project(
        session, SYSTEM_ACTOR, code="MX-FAR", name="海南村联营带贫项目", category="特色种养业", entity_id=entity_own,
        township_code=FAR_VILLAGE[:9], village_code=FAR_VILLAGE, at=at, expected_return="0.06",
        start_year=sample.YEAR)

    def sign(code: str, p: Any, h: Household) -> Contract:
        return contracts.sign_contract(
            session, SYSTEM_ACTOR, code=code, model="trusteeship", project_id=p.id, start_date=date(sample.YEAR, 1, 1),
            end_date=date(sample.YEAR + 2, 12, 31), terms={"asset_kind": "land", "unit": "mu", "units": "10",
                                                           "annual_fen_per_unit": 450_00 + p.id,
                                                           "duties": ["购买农业保险"]},
            payee_household_id=h.id, at=at)

    cross = sign("HT-MX-CROSS", own_project, households["same township"])
    twn_own = sign("HT-MX-TWN-OWN", township_level, households["own"])
    twn_other = sign("HT-MX-TWN-OTHER", township_level, households["same township"])
    far_c = sign("HT-MX-FAR", far, households["other township"])
    for p in (township_level, far):
        reg.record_profit(session, SYSTEM_ACTOR, p.id, period_start=date(sample.YEAR, 1, 1),
                          period_end=date(sample.YEAR, 12, 31), profit_fen=100_000_00, at=at)
    for p in (own_project, township_level, far):
        runs.run_settlement(session, SYSTEM_ACTOR, p.id, sample.YEAR, at)

    def project(pid: int) -> Project:
        p = session.get(Project, pid)
        assert p is not None
        return p

    def contract_row(c: Contract | int) -> tuple[Contract, str, Project]:
        c = session.get(Contract, c) if isinstance(c, int) else c
        assert c is not None
        return c, contracts.payee_region(session, c), project(c.project_id)

    foreign_project = project(w.ids["project_foreign"])
    entity_rows = {}
    for label, eid in (("own", entity_own), ("other", w.ids["entity_foreign"])):
        e = session.get(Entity, eid)
        entity_rows[label] = (e, list(session.scalars(select(Project).where(Project.entity_id == eid))))
    matters = {}
    for label, key in (("draft own", "matter_own"), ("draft other township", "matter_foreign"),
                       ("draft other county", "matter_foreign_county"), ("in notice own", "matter_in_notice"),
                       ("executed own", "executed_own"), ("executed other township", "executed_foreign")):
        m = session.get(Matter, w.ids[key])
        assert m is not None
        posted = session.scalar(select(Notice.id).where(Notice.matter_id == m.id).limit(1)) is not None
        matters[label] = (m, posted, key.startswith("executed"))
    # Supervision: a finding an inspection opened in the own village and one in another township; a credit listing
    # notified (its objection window open) to an entity of the own village and to one of another township.
    from daipin.domain.identity import make_uscc
    from daipin.services.credit import service as credit
    from daipin.services.supervision import service as supervision

    findings, listings = {}, {}
    for (label, scope, village), n in zip(VILLAGES, (1, 2), strict=True):
        _, (finding,) = supervision.record_inspection(
            session, SYSTEM_ACTOR, region=village, inspected_on=date(2026, 3, 1), inspectors="区纪委检查组",
            place="村委会", checked="收益分配台账", findings=[{"summary": "台账未按月登记"}], at=START)
        w.ids[f"finding_{scope}"] = finding.id
        findings[label] = (finding.id, village)
        listed = reg.register_entity(session, SYSTEM_ACTOR, name=f"监督矩阵合作社{n}", kind="cooperative",
                                     uscc=make_uscc(f"93{village[:6]}MA0MX{n}000"[:17]), legal_representative="法人代表",
                                     county_code=village[:6], region_code=village, at=at)
        w.ids[f"listed_entity_{scope}"] = listed.id
        w.ids[f"listing_{scope}"] = credit.propose_listing(session, SYSTEM_ACTOR, entity=listed.id, reasons="拖欠分红",
                                                           basis="国办发〔2020〕49号", at=START).id
        listings[label] = (w.ids[f"listing_{scope}"], listed)
    rows: dict[str, Any] = {
        "findings": findings,
        "listings": listings,
        "households": households,
        "entities": entity_rows,
        "projects": {"own": own_project, "township-level": township_level, "other township": foreign_project,
                     "own entity, other township": far},
        "assets": {label: (session.get(Asset, w.ids[key]), project(pid)) for label, key, pid in (
            ("own", "asset_own", own_project.id), ("other township", "asset_foreign", foreign_project.id))},
        "contracts": {"own": contract_row(w.ids["contract_own"]),
                      "own household": contract_row(w.ids["contract_own_household"]),
                      "own project, other village": contract_row(cross),
                      "township-level, own village": contract_row(twn_own),
                      "township-level, other village": contract_row(twn_other),
                      "own entity, other township": contract_row(far_c),
                      "other township": contract_row(w.ids["contract_foreign"])},
        "matters": matters,
        "notices": {"own": w.ids["notice_open"], "other township": int(session.scalar(
            select(Notice.id).where(Notice.matter_id == w.ids["executed_foreign"]).limit(1)) or 0)},
        "lines": {"own": (w.ids["executed_own"], w.ids["line_own"], OWN_VILLAGE),
                  "other township": (w.ids["executed_foreign"], w.ids["line_foreign"], FOREIGN_VILLAGE)},
    }
    # What each role may not be shown: the names, numbers and ID numbers of households outside its reach of
    # `household.read`, in villages where no notice (which names its households to everyone) was posted.
    posted = {m.region_code for m, p, _ in matters.values() if p}
    people = session.execute(select(Household.village_code, Household.household_no, Person.name, Person.id_number)
                             .join(Person, Person.household_id == Household.id)).all()
    secrets: dict[str, set[str]] = {}
    for role in EVERYONE:
        a = _actor(Mx(session, w, rows, {}), role)
        hidden = [r for r in people if r[0] not in posted and not access.allowed(a, "household.read", region=r[0])]
        shown = {r[2] for r in people if r not in hidden}
        # An entity's users see the households their entity pays by number (and the name masked).
        paid = set(session.scalars(select(Household.household_no).join(
            Contract, Contract.payee_household_id == Household.id).where(Contract.entity_id == a.entity_id)))
        secrets[role] = {r[1] for r in hidden if r[1] not in paid} | {r[3] for r in hidden} | {
            r[2] for r in hidden if len(r[2]) >= 3 and not any(r[2] in n or n in r[2] for n in shown)}
    session.flush()
    return Mx(session, w, rows, secrets)


def test_every_route_of_the_app_has_a_rule_that_fills_it(mx: Mx) -> None:
    app, _ = app_rolling_back(mx.session)
    routes = app_routes(app)
    assert ("GET", "/contracts/{contract_id}") in routes and ("POST", "/api/v1/contracts") in routes
    missing = [f"{m} {r}" for m, r in routes if targets_for(mx, m, r) is None]
    assert missing == [], "routes no fill rule covers (add one to PARAM_FILL, QUERY_FILL or WRITE_FILL)"
    stale = [f"{m} {r}" for m, r in WRITE_FILL if (m, r) not in routes]
    assert stale == [], "rules for routes that no longer exist"


def _client(app: Any) -> Any:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


@pytest.fixture
def client_of() -> Iterator[Callable[[Any], Any]]:
    """A client kept open for the test (one event loop for all its requests, not one per request: the walks
    below send thousands), closed after it."""
    opened: list[Any] = []

    def open_client(app: Any) -> Any:
        c = _client(app)
        c.__enter__()
        opened.append(c)
        return c

    yield open_client
    for c in opened:
        c.__exit__(None, None, None)


def _headers(mx: Mx, role: str) -> dict[str, str]:
    return mx.world.headers(role) if role != LOGGED_OUT else {}


def _links(html: str) -> set[str]:
    import re

    out = set()
    for href in re.findall(r'href="(/[^"#]*)', html):
        if href.startswith(("/static/", "/lang/")) or href == "/logout":
            continue
        out.add(href.replace("&amp;", "&"))
    return out


def test_no_get_route_leaks_a_foreign_row_a_name_or_a_dead_link_to_any_role(mx: Mx, client_of: Callable[[Any], Any]) -> None:
    app, _ = app_rolling_back(mx.session)
    c = client_of(app)
    wrong: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    requests = 0
    for method, route in app_routes(app):
        if method != "GET" or (method, route) in FRAMEWORK:
            continue
        for t in targets_for(mx, method, route) or []:
            url = _url(route, t)
            for role in EVERYONE:
                a = _actor(mx, role)
                r = c.get(url, headers=_headers(mx, role))
                requests += 1
                seen[(role, url)] = r.status_code
                where = f"GET {url} ({route}, {t.label}) as {role}"
                if r.status_code >= 500:
                    wrong.append(f"{where}: {r.status_code}")
                    continue
                if t.may is not None:
                    may = t.may(a, route) and (role not in (P, LOGGED_OUT) or route.startswith(PUBLIC_ROUTES))
                    if r.status_code == 200 and not may:
                        wrong.append(f"{where}: 200, but the policy refuses it")
                    elif may and r.status_code != 200:
                        wrong.append(f"{where}: {r.status_code}, but the policy admits it")
                if r.status_code != 200:
                    continue
                kind = r.headers.get("content-type", "")
                if not kind.startswith(("text/", "application/json")):
                    continue
                text = r.text.replace(t.query.split("=", 1)[-1], "") if t.query else r.text  # its own query
                leaked = sorted(x for x in mx.secrets[role] if x in text)
                if leaked:
                    wrong.append(f"{where}: shows households outside its reach: {leaked[:5]}")
                if kind.startswith("text/html"):
                    for link in _links(text):
                        if (role, link) not in seen:
                            seen[(role, link)] = c.get(link, headers=_headers(mx, role)).status_code
                            requests += 1
                        if seen[(role, link)] in (403, 404):
                            wrong.append(f"{where}: links {link}, which answers it {seen[(role, link)]}")
    assert requests > 500
    assert wrong == [], "\n".join(wrong[:60]) + f"\n({len(wrong)} in all)"


def test_no_unsafe_route_lets_a_role_write_what_the_policy_refuses(mx: Mx, client_of: Callable[[Any], Any]) -> None:
    from daipin.ledger import store
    from tests.integration.api_support import app_on_session

    app, _ = app_on_session(mx.session)
    c = client_of(app)
    wrong: list[str] = []
    asked = 0

    def send(method: str, url: str, route: str, role: str, body: Any) -> tuple[Any, int, int]:
        """The answer, and the ledger's size before and after; whatever it wrote is rolled back."""
        before = store.tree_size(mx.session)
        outer = mx.session.begin_nested()
        try:
            if route.startswith("/api/"):
                r = c.request(method, url, headers=_headers(mx, role), json=body)
            else:
                r = c.request(method, url, headers=_headers(mx, role), data=body or {})
            return r, before, store.tree_size(mx.session)
        finally:
            outer.rollback()

    for method, route in app_routes(app):
        if method == "GET" or (method, route) in FRAMEWORK:
            continue
        for t in targets_for(mx, method, route) or []:
            if t.may is None:
                continue  # nothing regional to refuse (the route's own tests cover it)
            url = _url(route, t)
            admitted = [role for role in ROLES if role != P and t.may(_actor(mx, role), route)]
            if admitted:  # the body is a valid one: the first role the policy admits succeeds with it
                r, before, after = send(method, url, route, admitted[0], t.body(route) if t.body else None)
                if r.status_code >= 400 or (after == before and "users" not in route):  # accounts: not ledgered
                    wrong.append(f"{method} {url} ({t.label}) as {admitted[0]}: {r.status_code}, ledger {before} -> "
                                 f"{after}, but the policy admits it: {r.text[:200]}")
            for role in EVERYONE:
                a = _actor(mx, role)
                if t.may(a, route) and (role not in (P, LOGGED_OUT) or route.startswith(PUBLIC_ROUTES)):
                    continue  # the policy lets it through: its own tests say what it writes
                body = t.body(route) if t.body else None
                r, before, after = send(method, url, route, role, body)
                asked += 1
                where = f"{method} {url} ({t.label}) as {role}"
                if r.status_code < 400 or r.status_code >= 500:
                    wrong.append(f"{where}: {r.status_code}, but the policy refuses it: {r.text[:120]}")
                if after != before:
                    wrong.append(f"{where}: the ledger grew from {before} to {after}")
    assert asked > 100
    assert wrong == [], "\n".join(wrong[:60]) + f"\n({len(wrong)} in all)"


def test_an_entity_page_lists_by_name_only_the_contracts_and_dues_inside_the_viewer_s_reach(mx: Mx, client_of: Callable[[Any], Any]) -> None:
    from daipin.db.models.registry import Contract
    from daipin.services.contracts.service import payee_region

    app, _ = app_rolling_back(mx.session)
    c = client_of(app)
    eid = mx.world.ids["entity_own"]
    api = {role: c.get(f"/api/v1/entities/{eid}", headers=_headers(mx, role)).json() for role in (D, T, V, E)}
    every = len(mx.session.query(Contract).filter(Contract.entity_id == eid).all())
    for role, prefix in ((V, OWN_VILLAGE), (T, OWN_TOWNSHIP)):
        regions = {payee_region(mx.session, mx.session.get(Contract, row["id"])) for row in api[role]["contracts"]}
        assert regions and all(r.startswith(prefix) for r in regions), role
        assert api[role]["contracts_outside"] == every - len(api[role]["contracts"]) > 0
    assert len(api[D]["contracts"]) == len(api[E]["contracts"]) == every  # the district and the entity: all
    page = c.get(f"/entities/{eid}", headers=_headers(mx, V)).text
    far = mx.rows["households"]["other township"]
    assert far.household_no not in page and 'id="dues-outside"' in page and 'id="contracts-outside"' in page
    assert f'href="/households/{mx.rows["households"]["own"].id}"' in page  # its own village's payee, linked
