"""Household search: pinyin initials kept on every write path, name and household-number prefixes, indexes."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from daipin.db.models.registry import Household, Person
from daipin.domain.actors import Actor, Role
from daipin.services.imports import service as imports
from daipin.services.registry import views as rv
from tests.integration.registry_support import (
    ACTOR,
    AT,
    VILLAGE,
    VILLAGE_B,
    person_id,
    reg,
    rs_fixture,  # noqa: F401
)

CADRE = Actor(id="c", role=Role.VILLAGE_CADRE, region=VILLAGE)
ADMIN = Actor(id="a", role=Role.DISTRICT_ADMIN, region="231002")


def _register(session: Session, no: str, seq: int, head: str, *others: str, village: str = VILLAGE) -> Household:
    members = [{"name": head, "id_number": person_id(seq * 10), "relation": "户主", "labor": "full"}]
    members += [{"name": n, "id_number": person_id(seq * 10 + i + 1, "F"), "relation": "配偶" if i == 0 else "子",
                 "labor": "full"} for i, n in enumerate(others)]
    return reg.register_household(session, ACTOR, household_no=no, village_code=village, status="poor",
                                  members=members, at=AT)


def _found(session: Session, q: str, actor: Actor = CADRE) -> list[str]:
    return [r["household_no"] for r in rv.search_households(session, actor, q=q, limit=200)["items"]]


def _initials_of(session: Session, name: str) -> str:
    return str(session.scalar(select(Person.name_initials).where(Person.name == name)))


def test_name_initials_take_the_first_letter_of_each_character_and_the_surname_reading() -> None:
    from pypinyin import Style, lazy_pinyin

    assert reg.name_initials("王小明") == "wxm"
    assert reg.name_initials("曾国藩") == "zgf"  # the surname is zēng, not the common céng
    assert reg.name_initials("单田芳") == "stf"
    assert reg.name_initials("阿卜杜·热合曼") == "abdrhm"  # separators are dropped
    assert reg.name_initials(" Anna王 ") == "annaw"
    assert reg.name_initials("") == ""
    for name in ("李秀英", "张伟", "刘桂兰", "陈静", "欧阳娜娜", "黄平"):
        assert reg.name_initials(name) == "".join(
            lazy_pinyin(ch, style=Style.FIRST_LETTER)[0] for ch in name).lower()


def test_registering_a_household_and_adding_a_member_keep_the_initials(rs: Session) -> None:
    hh = _register(rs, "S-001", 1, "王小明", "李秀英")
    reg.add_member(rs, ACTOR, hh.id, {"name": "曾国藩", "id_number": person_id(19), "relation": "子",
                                      "labor": "full"}, AT)
    assert _initials_of(rs, "王小明") == "wxm"
    assert _initials_of(rs, "李秀英") == "lxy"
    assert _initials_of(rs, "曾国藩") == "zgf"


def test_households_are_found_by_the_pinyin_initials_of_the_head_in_any_case(rs: Session) -> None:
    _register(rs, "S-001", 1, "王小明", "李秀英")
    _register(rs, "S-002", 2, "王晓梅")
    _register(rs, "S-003", 3, "吴晓敏")
    _register(rs, "S-005", 5, "陈小明")
    _register(rs, "S-004", 4, "王小明", village=VILLAGE_B)
    assert _found(rs, "wxm") == ["S-001", "S-002", "S-003"]  # 王小明, 王晓梅, 吴晓敏
    assert _found(rs, "WXM") == ["S-001", "S-002", "S-003"]
    assert _found(rs, "cx") == ["S-005"]
    assert _found(rs, "wxmm") == []
    assert _found(rs, "lxy") == []  # a spouse's initials do not find the household: the head's do
    assert _found(rs, "wxm", ADMIN) == ["S-001", "S-002", "S-003", "S-004"]  # another village for a wider scope


def test_a_name_finds_the_household_of_any_member_whose_name_starts_with_it(rs: Session) -> None:
    _register(rs, "S-001", 1, "王小明", "李秀英")
    _register(rs, "S-002", 2, "李明")
    assert _found(rs, "李") == ["S-001", "S-002"]
    assert _found(rs, "李秀英") == ["S-001"]
    assert _found(rs, "秀英") == []  # names are matched from the surname on, as they are written


def test_a_household_number_is_matched_from_its_start_and_wildcards_are_taken_literally(rs: Session) -> None:
    _register(rs, "S-001", 1, "王小明")
    _register(rs, "S-002", 2, "李明")
    _register(rs, "T-S-01", 3, "张三")
    assert _found(rs, "S-00") == ["S-001", "S-002"]
    assert _found(rs, "S-002") == ["S-002"]
    assert _found(rs, "%") == []
    assert _found(rs, "S_001") == []


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["户编号", "姓名", "身份证号", "家庭关系", "劳动能力", "户类型", "所属乡镇", "所属村"])
        w.writerows(rows)
    return path


@pytest.mark.parametrize("bulk", [False, True], ids=["batch", "bulk-keys"])
def test_the_import_fills_the_initials_and_a_renaming_import_updates_them(
        rs: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bulk: bool) -> None:
    if bulk:
        monkeypatch.setattr(imports, "BULK_FK_THRESHOLD", 1)
    rows = [["I-001", "曾小明", person_id(501), "户主", "有劳动能力", "贫困户", "兴隆镇", "兴隆村"],
            ["I-001", "李秀英", person_id(502, "F"), "配偶", "有劳动能力", "贫困户", "兴隆镇", "兴隆村"],
            ["I-002", "欧阳娜娜", person_id(503, "F"), "户主", "弱劳动力", "监测户", "兴隆镇", "兴隆村"]]
    imports.import_households(rs, ACTOR, _csv(tmp_path / "a.csv", rows), AT)
    assert _initials_of(rs, "曾小明") == "zxm"
    assert _initials_of(rs, "欧阳娜娜") == "oynn"
    assert _found(rs, "zxm") == ["I-001"]
    assert _found(rs, "oy") == ["I-002"]
    rows[0][1] = "王小明"
    imports.import_households(rs, ACTOR, _csv(tmp_path / "b.csv", rows), AT)
    rs.expire_all()
    assert _initials_of(rs, "王小明") == "wxm"
    assert _found(rs, "wxm") == ["I-001"]
    assert _found(rs, "zxm") == []


def test_the_sample_district_carries_the_initials_of_every_person(session: Session, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.ledger import store
    from daipin.services.sample import service as sample

    monkeypatch.setenv("DAIPIN_KEYS_DIR", str(tmp_path / "keys"))
    store.ensure_log(session, county="231002", at=AT)
    sample.load_sample(session, SYSTEM_ACTOR, AT)
    people = session.execute(select(Person.name, Person.name_initials)).all()
    assert people and all(initials == reg.name_initials(name) and initials for name, initials in people)


def test_postgresql_answers_prefix_searches_from_pattern_indexes(session: Session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("text_pattern_ops is PostgreSQL's")
    defs = dict(session.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('people', 'households')")).all())
    assert "(name text_pattern_ops)" in defs["ix_people_name_pattern"]
    assert "(name_initials text_pattern_ops) WHERE ((relation)::text = '户主'::text)" in defs["ix_people_name_initials"]
    assert "ix_households_household_no_pattern" not in defs  # the unique index serves LIKE too (C collation)
    collations = dict(session.execute(text(
        "SELECT column_name, collation_name FROM information_schema.columns WHERE table_name = 'households' "
        "AND column_name IN ('household_no', 'village_code')")).all())
    assert collations == {"household_no": "C", "village_code": "C"}
    # Each kind of search text is answered from its index (the planner may not scan a table instead).
    expected = {"initials": "ix_people_name_initials", "name": "ix_people_name_pattern",
                "number": "uq_households_household_no"}
    session.execute(text("SET LOCAL enable_seqscan = off"))
    for kind, q in (("initials", "wxm%"), ("name", "王小%"), ("number", "2310020010%")):
        compiled = rv._search_statement("", "", False, kind).compile(session.get_bind())
        params = {**compiled.params, "pattern": q, "lim": 21, "off": 0}
        with session.connection().connection.driver_connection.cursor() as cur:
            cur.execute("EXPLAIN " + str(compiled), params)
            plan = "\n".join(r[0] for r in cur.fetchall())
        assert f"Index Scan using {expected[kind]}" in plan or f"Bitmap Index Scan on {expected[kind]}" in plan \
            or f"Index Only Scan using {expected[kind]}" in plan, (kind, plan)


def test_postgresql_lists_households_a_page_at_a_time_in_number_order_from_an_index(session: Session) -> None:
    """A district-wide list (no search text) walks an index in household-number order; without one the
    database would sort the whole registry for every page (a text_pattern_ops index cannot give that order)."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    compiled = rv._search_statement("range", "", False, "").compile(session.get_bind())
    params = {**compiled.params, "scope_lo": "231002", "scope_hi": "231003", "lim": 21, "off": 0}
    session.execute(text("SET LOCAL enable_sort = off"))
    with session.connection().connection.driver_connection.cursor() as cur:  # the session's own transaction
        cur.execute("EXPLAIN " + str(compiled), params)
        plan = "\n".join(r[0] for r in cur.fetchall())
    assert "uq_households_household_no" in plan, plan
