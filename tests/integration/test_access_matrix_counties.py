"""Counties side by side in the access matrix: a district user of one county reaches nothing of another county
(404, as if it did not exist), and the province role (省级) reads every county of its province and writes nothing
but its witness of the county checkpoints."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from daipin.domain.actors import SYSTEM_ACTOR
from daipin.services.auth import service as auth_service
from tests.integration.api_support import (
    FOREIGN_COUNTY_VILLAGE,
    START,
    World,
    app_rolling_back,
    build_world,
    client,
)

OTHER_COUNTY = FOREIGN_COUNTY_VILLAGE[:6]


@pytest.fixture(scope="module")
def cw(db_engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Session, World]]:
    conn = db_engine.connect()
    outer = conn.begin()
    s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        w = build_world(s, str(tmp_path_factory.mktemp("cty-keys")))
        for name, role, region in (("province", "province", "23"), ("district_b", "district_admin", OTHER_COUNTY),
                                   ("auditor_b", "auditor", OTHER_COUNTY),
                                   ("discipline_b", "discipline", OTHER_COUNTY)):
            user = auth_service.create_user(s, actor=SYSTEM_ACTOR, username=f"cty-{name}", password="matrix-pass-1",
                                            role=role, region=region, entity_id=None, at=START)
            w.tokens[name] = auth_service.start_session(s, user, at=START).token
        s.flush()
        yield s, w
    finally:
        s.close()
        outer.rollback()
        conn.close()


# (method, path of county A's row, path of county B's row, body) and each role's (status A, status B).
A_ROLES = ("district_admin", "auditor")
ROWS: list[tuple[str, str, str, dict[str, tuple[int, int]]]] = [
    ("GET", "/api/v1/households/{hh_own}", "/api/v1/households/{hh_foreign_county}",
     {"district_admin": (200, 404), "auditor": (200, 404), "district_b": (404, 200), "auditor_b": (404, 200),
      "province": (200, 200)}),
    ("GET", "/api/v1/matters/{matter_in_notice}", "/api/v1/matters/{matter_foreign_county}",
     {"district_admin": (200, 404), "district_b": (404, 200), "province": (200, 200)}),
    ("GET", "/api/v1/households?village=231002001001", "/api/v1/households?village=" + FOREIGN_COUNTY_VILLAGE,
     {"district_admin": (200, 200), "district_b": (200, 200), "province": (200, 200)}),
    ("GET", "/api/v1/supervision/performance?county=231002", "/api/v1/supervision/performance?county=231005",
     {"district_admin": (200, 403), "district_b": (403, 200), "auditor_b": (403, 200), "province": (200, 200)}),
    ("GET", "/api/v1/supervision/thresholds?county=231002", "/api/v1/supervision/thresholds?county=231005",
     {"district_admin": (200, 403), "auditor": (200, 403), "district_b": (403, 200), "auditor_b": (403, 200),
      "province": (200, 200)}),
]


# The discipline commission (纪检监察) of each county is answered as that county's auditors are.
for _row in ROWS:
    for _auditor, _discipline in (("auditor", "discipline"), ("auditor_b", "discipline_b")):
        if _auditor in _row[3]:
            _row[3][_discipline] = _row[3][_auditor]


def _path(w: World, template: str) -> str:
    return template.format(**{k: w.ids[k] for k in w.ids})


def test_a_county_s_users_reach_nothing_of_another_county_and_the_province_reads_both(
    cw: tuple[Session, World]
) -> None:
    s, w = cw
    app, _ = app_rolling_back(s)
    c = client(app)
    wrong = []
    for method, a_path, b_path, expect in ROWS:
        for role, statuses in expect.items():
            for path, want in ((a_path, statuses[0]), (b_path, statuses[1])):
                r = c.request(method, _path(w, path), headers=w.headers(role))
                if r.status_code != want:
                    wrong.append(f"{method} {path} {role}: got {r.status_code}, want {want}: {r.text[:120]}")
    assert wrong == []


def test_a_county_s_list_holds_none_of_another_county_s_rows_and_the_province_s_holds_both(
    cw: tuple[Session, World]
) -> None:
    s, w = cw
    app, _ = app_rolling_back(s)
    c = client(app)
    url = "/api/v1/households?village=" + FOREIGN_COUNTY_VILLAGE
    assert c.get(url, headers=w.headers("district_admin")).json()["items"] == []
    assert c.get(url, headers=w.headers("district_b")).json()["items"]
    assert c.get(url, headers=w.headers("province")).json()["items"]
    assert c.get("/api/v1/households?village=231002001001", headers=w.headers("province")).json()["items"]


def test_the_province_writes_nothing_in_any_county(cw: tuple[Session, World]) -> None:
    s, w = cw
    app, _ = app_rolling_back(s)
    c = client(app)
    from datetime import date

    from daipin.domain.identity import make_resident_id

    for village in ("231002001001", FOREIGN_COUNTY_VILLAGE):
        body = {"household_no": f"{village}9101", "village_code": village, "status": "poor",
                "members": [{"name": "林国庆", "id_number": make_resident_id(village[:6], date(1980, 2, 3), 811, "M"),
                             "relation": "户主", "labor": "full"}]}
        r = c.post("/api/v1/households", headers=w.headers("province"), json=body)
        assert r.status_code == 403, r.text[:200]
        assert c.post("/api/v1/households", headers=w.headers("district_admin" if village.startswith("231002")
                                                              else "district_b"), json=body).status_code == 201
    assert c.get("/api/v1/ledger/status", headers=w.headers("province")).status_code == 200
    # The thresholds are set in the own county by its district administrator alone; its auditors and discipline
    # commission read them, the province reads every county's and sets none.
    for role, county, want in (("district_admin", "231002", 200), ("district_admin", OTHER_COUNTY, 403),
                               ("district_b", OTHER_COUNTY, 200), ("district_b", "231002", 403),
                               ("auditor", "231002", 403), ("discipline", "231002", 403),
                               ("discipline_b", OTHER_COUNTY, 403), ("province", "231002", 403)):
        r = c.put("/api/v1/supervision/thresholds", headers=w.headers(role),
                  json={"county": county, "arrears_days": "45"})
        assert r.status_code == want, (role, county, r.text[:200])
    assert c.get("/api/v1/ledger/status", headers=w.headers("district_b")).status_code == 200


def test_another_county_s_insurance_steps_are_not_found(cw: tuple[Session, World]) -> None:
    """A district administrator of county B neither decides county A's premium subsidy, applies on its policy, sets
    its entity's account nor drafts its premium-subsidy matter: each is not found, nothing written."""
    s, w = cw
    app, _ = app_rolling_back(s)
    c = client(app)
    from daipin.ledger import store

    asks = [("/api/v1/insurance/subsidies/{subsidy_own}/decision", {"approve": True}),
            ("/api/v1/insurance/subsidies", {"policy": w.ids["policy_apply_own"], "year": 2026,
                                              "premium_fen": 20_000, "subsidy_fen": 8_000}),
            ("/api/v1/insurance/entity-accounts", {"entity": w.ids["entity_own"], "bank_account": "6217000099998888"}),
            ("/api/v1/insurance/subsidy-matters", {"county": "231002", "year": 2026})]
    before = store.tree_size(s)
    for path, body in asks:
        r = c.post(_path(w, path), headers=w.headers("district_b"), json=body)
        assert r.status_code == 404, (path, r.status_code, r.text[:200])
        assert r.json()["error"]["field"]
    assert store.tree_size(s) == before
    # County A's own administrator drafts it: the approved subsidy is listed.
    r = c.post("/api/v1/insurance/subsidy-matters", headers=w.headers("district_admin"),
               json={"county": "231002", "year": 2026})
    assert r.status_code == 201, r.text[:200]
