"""The province's cross-county duplicate page (docs/scale.md 跨县比对): the province role alone, and only over
the counties of its own province; the counties' files read whole or refused whole (row, column, reason), an ID
number where a reference belongs refused and never echoed; nothing written, the ledger unchanged."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from daipin.domain.actors import SYSTEM_ACTOR
from daipin.ledger import store
from daipin.services.auth import service as auth_service
from tests.integration.api_support import (
    FOREIGN_COUNTY_VILLAGE,
    START,
    World,
    app_rolling_back,
    build_world,
    client,
)

OWN_COUNTY = "231002"
OTHER_COUNTY = FOREIGN_COUNTY_VILLAGE[:6]  # another county of the same province
FOREIGN_PROVINCE_COUNTY = "110101"
PATH = "/province/duplicates"
ID_NUMBER = "231002199005050987"


def digest(n: int) -> str:
    return hashlib.sha256(f"person {n}".encode()).hexdigest()


def county_file(county: str, people: list[tuple[str, int]], *, header: str = "区县代码,编号,摘要") -> bytes:
    return ("\n".join([header, *(f"{county},{ref},{digest(n)}" for ref, n in people)]) + "\n").encode("utf-8")


OWN_FILE = county_file(OWN_COUNTY, [("person:1", 1), ("person:2", 2), ("2310020010010003", 3)])
OTHER_FILE = county_file(OTHER_COUNTY, [("p-77", 2), ("p-78", 4), ("p-79", 3)])  # persons 2 and 3 twice


@pytest.fixture(scope="module")
def pw(db_engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Session, World]]:
    conn = db_engine.connect()
    outer = conn.begin()
    s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        w = build_world(s, str(tmp_path_factory.mktemp("dup-keys")))
        for name, role, region in (("province", "province", "23"), ("province_b", "province", "11")):
            user = auth_service.create_user(s, actor=SYSTEM_ACTOR, username=f"dup-{name}", password="matrix-pass-1",
                                            role=role, region=region, entity_id=None, at=START)
            w.tokens[name] = auth_service.start_session(s, user, at=START).token
        s.flush()
        yield s, w
    finally:
        s.close()
        outer.rollback()
        conn.close()


def _post(c: Any, w: World, role: str, files: list[tuple[str, bytes]], out: str = "page") -> Any:
    return c.post(PATH, headers=w.headers(role), data={"out": out},
                  files=[("file", (name, data, "text/csv")) for name, data in files])


ROLES = ("district_admin", "township_official", "village_cadre", "entity_user", "auditor", "province", "province_b")


def test_each_role_gets_the_page_and_the_check_only_as_the_policy_gives_it_own_and_foreign_county(
        pw: tuple[Session, World]) -> None:
    s, w = pw
    app, _ = app_rolling_back(s)
    c = client(app)
    before = store.tree_size(s)
    # (role) -> (GET, POST own province's counties, POST a county of another province)
    want = dict.fromkeys(ROLES, (403, 403, 403))
    want["province"] = (200, 200, 403)
    want["province_b"] = (200, 403, 200)
    wrong = []
    for role in ROLES:
        got = (c.get(PATH, headers=w.headers(role)).status_code,
               _post(c, w, role, [("a.csv", OWN_FILE), ("b.csv", OTHER_FILE)]).status_code,
               _post(c, w, role, [("x.csv", county_file(FOREIGN_PROVINCE_COUNTY, [("q1", 1), ("q2", 2)])),
                                  ("y.csv", county_file("110102", [("r1", 1)]))]).status_code)
        if got != want[role]:
            wrong.append(f"{role}: {got}, want {want[role]}")
    assert wrong == []
    logged_out = c.get(PATH, follow_redirects=False)
    assert logged_out.status_code in (302, 303, 401) and "跨县重复登记比对" not in logged_out.text
    assert _post(c, w, "logged_out", [("a.csv", OWN_FILE)]).status_code in (302, 303, 401, 403)
    assert store.tree_size(s) == before  # a read: nothing written, nothing ledgered


def test_the_province_sees_each_person_found_in_two_counties_by_county_and_reference_only(
        pw: tuple[Session, World]) -> None:
    s, w = pw
    app, _ = app_rolling_back(s)
    c = client(app)
    r = _post(c, w, "province", [("a.csv", OWN_FILE), ("b.csv", OTHER_FILE)])
    assert r.status_code == 200, r.text[:300]
    assert r.text.count('<tr class="duplicate">') == 2
    assert "发现跨县重复登记 2 人" in r.text and "2 个文件、2 个县、6 人" in r.text
    assert "东安区" in r.text and "西安区" in r.text and "person:2" in r.text and "p-77" in r.text
    assert "person:1" not in r.text and "p-78" not in r.text  # found in one county only
    one = _post(c, w, "province", [("a.csv", OWN_FILE)])
    assert one.status_code == 200 and "未发现跨县重复登记" in one.text
    # A foreign province's county: refused, naming the county field, nothing compared.
    mixed = _post(c, w, "province", [("a.csv", OWN_FILE), ("x.csv", county_file(FOREIGN_PROVINCE_COUNTY,
                                                                                   [("q2", 2)]))])
    assert mixed.status_code == 403 and 'id="duplicates-result"' not in mixed.text and "区县" in mixed.text


def test_a_bad_file_is_refused_whole_with_each_problem_and_an_id_number_is_never_echoed(
        pw: tuple[Session, World]) -> None:
    s, w = pw
    app, _ = app_rolling_back(s)
    c = client(app)
    bad = (f"区县代码,编号,摘要\n{OWN_COUNTY},person:1,{digest(1)}\n23100,person:2,{digest(2)}\n"
           f"{OWN_COUNTY},{ID_NUMBER},{digest(3)}\n{OWN_COUNTY},person:4,xyz\n").encode()
    r = _post(c, w, "province", [("bad.csv", bad), ("b.csv", OTHER_FILE)])
    assert r.status_code == 422 and 'id="duplicates-result"' not in r.text
    problems = r.text.split('id="problems"')[1].split("</ol>")[0]
    assert "bad.csv 第3行 区县代码：应为 6 位数字" in problems
    assert "bad.csv 第4行 编号：编号像是身份证号或电话号码" in problems
    assert "bad.csv 第5行 摘要：应为 64 位十六进制数字" in problems
    assert ID_NUMBER not in r.text and "（文件）" in r.text  # the field by its name, never the raw key
    no_column = _post(c, w, "province", [("h.csv", county_file(OWN_COUNTY, [("p", 1)], header="county,ref,hash"))])
    assert no_column.status_code == 422 and "缺少“编号”列" in no_column.text and "缺少“摘要”列" in no_column.text
    gbk = county_file(OWN_COUNTY, [("户-1", 1)]).decode().encode("gb18030")
    assert "应为 1 至 60 个" in _post(c, w, "province", [("g.csv", gbk)]).text  # read as GB18030, then judged
    nothing = c.post(PATH, headers=w.headers("province"), data={"out": "page"})
    assert nothing.status_code == 422 and "请选择各县上报的摘要文件" in nothing.text


def test_the_findings_export_as_xlsx_one_row_per_county_of_each_person(pw: tuple[Session, World]) -> None:
    from openpyxl import load_workbook

    s, w = pw
    app, _ = app_rolling_back(s)
    c = client(app)
    r = _post(c, w, "province", [("a.csv", OWN_FILE), ("b.csv", OTHER_FILE)], out="xlsx")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(r.content))["重复登记"]
    rows = [[str(v) if v is not None else "" for v in row] for row in sheet.iter_rows(values_only=True)]
    body = [row for row in rows if row and row[1] in (digest(2), digest(3))]
    assert sorted((row[2], row[4]) for row in body) == sorted([(OWN_COUNTY, "person:2"), (OTHER_COUNTY, "p-77"),
                                                               (OWN_COUNTY, "2310020010010003"),
                                                               (OTHER_COUNTY, "p-79")])
