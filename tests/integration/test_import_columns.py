"""The household import's columnar path: it accepts only what the row-by-row path accepts, and writes the same."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from daipin.db.models.registry import Household, HouseholdStatus, Person
from daipin.domain.actors import Actor, Role
from daipin.domain.errors import Forbidden, InputError
from daipin.services.imports import columns as columns
from daipin.services.imports import service as imports
from daipin.services.registry import service as reg
from tests.integration.registry_support import (
    ACTOR,
    AT,
    ledger_bodies,
    ledger_size,
    rs_fixture,  # noqa: F401
)
from tests.integration.test_import_bulk import _roster_schema

HEADERS = ["户编号", "户主姓名", "姓名", "证件号码", "与户主关系", "劳动能力", "户类型", "脱贫年度", "所属乡镇", "所属村",
           "联系电话", "银行账号", "致贫原因"]
SURNAMES = list(reg.SURNAME_INITIALS) + list("王李张刘陈杨黄赵吴周")
GIVEN = list("小明红芳军伟秀英华玉兰国强") + ["·", "A", "b", "9", "\u3007", "\U00020000", "é"]


def _with_check(body: str) -> str:
    """17 digits and their check digit."""
    return body + imports._CHECK[(1 - 2 * int(body, 13)) % 11]


def _id(n: int) -> str:
    """The n-th resident ID number of a file: three birth dates only, so many numbers share their first 14
    characters (which the columnar path checks once per distinct start), and every sex digit occurs."""
    return _with_check(f"231002{('19850101', '19900615', '20010228')[n % 3]}{n * 7 % 1000:03d}")


def _clean_rows(rng: random.Random, households: int) -> list[list[str]]:
    """A valid roster with variety: aliases, villages by name, code and town, exit years, phones, bank accounts,
    causes, names with surnames read their own way and characters without a reading; members of a household
    not always together and the head not always first."""
    rows: list[list[str]] = []
    n = 0
    for h in range(households):
        status = rng.choice(["贫困户", "监测户", "脱贫户", "一般户", "未脱贫户", "边缘易致贫户", "已脱贫"])
        village = rng.choice([("兴隆镇", "兴隆村"), ("", "新民村"), ("", "231002001001"), ("兴隆镇", "231002001002")])
        members = []
        for m in range(rng.randint(1, 5)):
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 3)))
            members.append([f"H{h:05d}", "", name, _id(n), "户主" if m == 0 else rng.choice(
                ["配偶", "子", "女", "孙子女", "其他"]), rng.choice(["有劳动能力", "弱劳动力", "无劳动能力", "普通劳动力",
                                                       "丧失劳动能力"]), status,
                            rng.choice(["2016", "2019", "2020"]) if status in ("脱贫户", "已脱贫") else
                            rng.choice(["", "", "2019"]), village[0], village[1],
                            rng.choice(["", "13900001111", "0451-86661234", "045186661234"]),
                            rng.choice(["", "6222020200112233445"]), rng.choice(["", "因病", "缺技术"])])
            n += 1
        if rng.random() < 0.5:  # 户主姓名 given, on every row of the household
            for m in members:
                m[1] = members[0][2]
        rng.shuffle(members)
        rows.extend(members)
    for _ in range(households // 4):  # move some rows elsewhere: a household's rows need not be together
        i, j = rng.randrange(len(rows)), rng.randrange(len(rows))
        rows.insert(j, rows.pop(i))
    return rows


# Changes of one cell: kind → (column, new value).
_CELL = {"labor": (5, "很强"), "status": (6, "富裕户"), "relation": (4, "朋友"), "second head": (4, "户主"),
         "exit superscript": (7, "²⁰¹⁹"), "phone": (10, "1390000111"),
         "phone wide": (10, "１３９００００１１１１"),  # noqa: RUF001 - fullwidth digits, as some spreadsheets give them
         "bank": (11, "62220202001"), "village": (9, "无名村"), "empty name": (2, ""), "empty number": (3, ""),
         "quote": (12, '"因病"'), "nul": (12, "因\0病"), "bare cr": (12, "因\r病"), "separator space": (12, "因病\x1c"),
         "long name": (2, "王" * (reg.NAME_MAX + 1)), "long cause": (12, "因病" * 51),
         "long number": (0, "H" * (reg.HOUSEHOLD_NO_MAX + 1)), "future exit": (7, "2099"),
         "head name": (1, "某某")}


def _spoil(rng: random.Random, rows: list[list[str]]) -> str:
    """Change one thing; returns what. Some changes make a row bad, some only make the file unusual."""
    i = rng.randrange(len(rows))
    row = rows[i]
    kind = rng.choice([*_CELL, "space", "inner space", "lower x", "id with space", "checksum", "repeat id",
                       "bad date", "unknown region", "no head", "exit missing", "exit bad", "tab",
                       "ideographic space", "other village", "other village", "other township", "future birth"])
    household = [r for r in rows if r[0] == row[0]]
    if kind in _CELL:
        col, value = _CELL[kind]
        row[col] = value
    elif kind == "space":
        col = rng.choice([0, 2, 5, 6, 9, 12])
        row[col] = rng.choice([" ", "\u3000", "\xa0", "\x1f"]) + row[col]
    elif kind == "inner space":
        row[2] = row[2][:1] + " " + row[2][1:]
    elif kind == "lower x":
        row[3] = row[3][:-1] + "x"
    elif kind == "id with space":
        row[3] = row[3][:6] + " " + row[3][6:]
    elif kind == "checksum":
        row[3] = row[3][:-1] + ("1" if row[3][-1] != "1" else "2")
    elif kind == "repeat id":
        row[3] = rows[(i + 1) % len(rows)][3]
    elif kind == "bad date":
        row[3] = _with_check(row[3][:10] + "1332" + row[3][14:17])
    elif kind == "unknown region":
        row[3] = _with_check("999999" + row[3][6:17])
    elif kind == "no head":
        for r in household:
            r[4] = "子"
    elif kind == "exit missing":
        for r in household:
            r[6], r[7] = "脱贫户", ""
    elif kind == "exit bad":
        row[7] = rng.choice(["1999", "二〇一九", "20l9"])
    elif kind == "other village":  # an error only if the household has another member
        row[8], row[9] = "", ("新民村" if row[9] in ("兴隆村", "231002001001") else "兴隆村")
    elif kind in ("other township", "future birth"):
        _spoil_one(row, kind)
    elif kind == "tab":
        row[2] += "\t"
    elif kind == "ideographic space":
        row[2] = row[2] + "\u3000"
    return kind


def _write(path: Path, rows: list[list[str]], *, crlf: bool = False, bom: bool = False,
           headers: list[str] = HEADERS, blank: bool = False) -> Path:
    end = "\r\n" if crlf else "\n"
    lines = [",".join(headers)] + [",".join(r) for r in rows]
    if blank:
        lines.insert(len(lines) // 2, "")
        lines.insert(len(lines) // 3, "," * (len(headers) - 1))
    path.write_bytes((("\ufeff" if bom else "") + end.join(lines) + end).encode())
    return path


def _plan(session: Session, path: Path) -> columns.Plan | None:
    raw = path.read_bytes()
    headers = [h.strip() for h in raw[:raw.find(b"\n")].decode("utf-8-sig").split(",")]
    today = AT.date()
    return columns.plan(raw, headers, imports.map_headers(headers), imports._village_lookup(session),
                        lambda number: imports.check_resident_id_fast(number, today),
                        lambda year: imports._exit_year(year, today.year), imports.LABOR_VALUES,
                        imports.STATUS_VALUES, imports._RELATIONS)


def _as_rows(p: columns.Plan) -> list[tuple[Any, ...]]:
    """The plan in the row-by-row path's terms: households in order, each with its people in order."""
    people: dict[int, list[tuple[str, str, str, str, str]]] = {}
    for r in p.people.iter_rows(named=True):
        people.setdefault(r["hidx"], []).append((r["name"], r["number"], r["relation"], r["labor"], r["initials"]))
    return [(h["hno"], h["vcode"], h["status"], h["exit_year"], h["cause"], h["phone"], h["bank"], h["summary"],
             people[h["hidx"]]) for h in p.households.iter_rows(named=True)]


def _row_path(session: Session, path: Path) -> tuple[list[tuple[Any, ...]], list[imports.RowError], int]:
    households, errors, nrows = imports.validate_rows(session, *imports.read_table(path), today=AT.date())
    out = [(hh.household_no, hh.village_code, hh.status, hh.exit_year, hh.poverty_cause, hh.phone, hh.bank_account,
            reg.labor_summary([p[4] for p in hh.people]),
            [(name, number, relation, labor, reg.name_initials(name)) for _row, name, number, relation, labor
             in hh.people])
           for hh in sorted(households.values(), key=imports._household_order)]  # as the import writes them
    return out, errors, nrows


def test_the_columnar_path_accepts_only_files_the_row_path_accepts_and_reads_them_the_same(
        rs: Session, tmp_path: Path) -> None:
    _second_township(rs)
    rng = random.Random(20261129)
    accepted = refused = accepted_spoiled = 0
    kinds: dict[str, int] = {}
    for case in range(160):
        rows = _clean_rows(rng, rng.randint(1, 12))
        spoiled = [] if case % 4 == 0 else [_spoil(rng, rows) for _ in range(rng.randint(1, 2))]
        headers = HEADERS[:]
        if case % 5 == 1:  # another order, aliases, one column fewer, one the import does not know
            order = list(range(len(HEADERS)))
            rng.shuffle(order)
            rows = [[r[i] for i in order] for r in rows]
            headers = [{"证件号码": "身份证号", "所属村": "行政村", "与户主关系": "家庭关系"}.get(HEADERS[i], HEADERS[i])
                       for i in order]
        if case % 7 == 3:
            headers = [*headers, "备注"]
            rows = [[*r, "无"] for r in rows]
        path = _write(tmp_path / f"{case}.csv", rows, crlf=case % 3 == 0, bom=case % 6 == 2, headers=headers,
                      blank=case % 8 == 5)
        plan = _plan(rs, path)
        try:
            expected, errors, nrows = _row_path(rs, path)
        except InputError:  # a file the csv module cannot read
            assert plan is None and spoiled
            refused += 1
            continue
        if plan is None:
            refused += 1
            assert spoiled, f"case {case}: a clean file was refused"
            for kind in spoiled:
                kinds[kind] = kinds.get(kind, 0) + 1
            continue
        accepted += 1
        accepted_spoiled += bool(spoiled)
        assert errors == [], f"case {case}: accepted a file with errors after {spoiled}: {errors[:2]}"
        assert (_as_rows(plan), plan.rows) == (expected, nrows), f"case {case} after {spoiled}"
    assert accepted >= 40 and accepted_spoiled >= 1 and refused > 100  # every clean file, and a changed one
    assert len(kinds) > 20  # nearly every kind of change was tried and sent to the row path


def _second_township(session: Session) -> None:
    """五林乡 (231002002) with 五林村: a village of another township than 兴隆镇's."""
    reg.create_region(session, ACTOR, code="231002002", name="五林乡", level="township", at=AT)
    reg.create_region(session, ACTOR, code="231002002001", name="五林村", level="village", at=AT)


def _leap_day(rows: list[list[str]], good: bool) -> None:  # 29 February is a date in 2000, not in 2001
    i = 0 if good else -1
    rows[i][3] = _with_check(("23100220000229" if good else "23100220010229") + rows[i][3][14:17])


def _region_year(rows: list[list[str]], good: bool) -> None:  # 110103 (崇文区) was abolished in 2010
    i = 0 if good else -1
    rows[i][3] = _with_check(("11010320100228" if good else "11010320110101") + rows[i][3][14:17])


def _repeated(rows: list[list[str]], good: bool) -> None:  # the first row's number again, in another household
    if not good:
        rows[-1][3] = rows[0][3]


@pytest.mark.parametrize("change", [_leap_day, _region_year, _repeated], ids=["leap day", "region by year", "repeated"])
def test_an_id_number_wrong_only_beside_another_is_found(rs: Session, tmp_path: Path, change: Any) -> None:
    """The columnar path checks each distinct birth date, and each distinct region code and birth year, once,
    and every number against all others: a number is refused though an earlier one has the same month and day,
    the same region code, or is the same number."""
    rows = _clean_rows(random.Random(7), 30)
    change(rows, good=True)
    assert rows[0][0] != rows[-1][0]
    assert _plan(rs, _write(tmp_path / "good.csv", rows)) is not None
    change(rows, good=False)
    path = _write(tmp_path / "bad.csv", rows)
    assert _plan(rs, path) is None
    _, errors, _ = _row_path(rs, path)
    assert [(e.row, e.column) for e in errors] == [(len(rows) + 1, "证件号码")]


def test_whitespace_the_columnar_path_looks_for_is_what_str_strip_removes() -> None:
    spaces = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    assert set(columns._SPACE) == spaces
    assert "\x1c" in spaces and "\u3000" in spaces  # Python's whitespace is wider than most


@pytest.mark.parametrize("piece", [1, 2, 3, 5, 1 << 20])
def test_line_ends_and_the_bytes_the_columnar_path_leaves_are_found_a_piece_at_a_time(
        monkeypatch: pytest.MonkeyPatch, piece: int) -> None:
    monkeypatch.setattr(columns, "_PIECE", piece)
    rng = random.Random(piece)
    samples = [b"a,b\n1,2\n", b"a,b\r\n1,2\r\n", b"a\r\n", b"a\rb\n", b'a"b\n', b"a\tb\n", b"a\\b\n", b"a\0b\n",
               b"", b"\r\n\r\n", b"x\r", b"\n\n\n", b"\r\r\n"]
    samples += [bytes(rng.choice(b"ab,\r\n\r\n") for _ in range(rng.randint(0, 12))) for _ in range(500)]
    samples += [bytes(rng.choice(b'ab\n"\t\\\0') for _ in range(rng.randint(0, 12))) for _ in range(200)]
    for raw in samples:
        plain = not any(c in raw for c in (b'"', b"\t", b"\\", b"\0")) and raw.count(b"\r") == raw.count(b"\r\n")
        assert columns._plain_line_ends(raw) == (raw.count(b"\n") if plain else None), raw


@pytest.mark.parametrize("at_a_time", [7, 1 << 16])
def test_initials_in_bulk_are_the_registry_s_initials(monkeypatch: pytest.MonkeyPatch, at_a_time: int) -> None:
    monkeypatch.setattr(columns, "_NAMES", at_a_time)
    rng = random.Random(7)
    table = reg._initials_table()
    pool = [chr(c) for c in table if c > 127][:4000] + SURNAMES * 30 + list("abcXYZ019·-_. ()") + GIVEN
    names = ["".join(rng.choice(pool) for _ in range(rng.randint(1, 6))).strip() or "王" for _ in range(50_000)]
    names += list(reg.SURNAME_INITIALS) + ["曾曾", "a曾", "·曾", "\U00020000曾"]
    assert columns.initials(pl.Series(names)).to_list() == [reg.name_initials(n) for n in names]
    # Characters the table does not know (a private-use one, an unassigned one, a combining accent) are dropped.
    odd = ["\ue000王", "王\U000e0100", "e\u0301", "\U0010ffff", "王"]
    assert columns.initials(pl.Series(odd)).to_list() == [reg.name_initials(n) for n in odd] == ["w", "w", "e", "", "w"]
    assert columns.initials(pl.Series("name", [], dtype=pl.String)).to_list() == []
    with pytest.raises(ValueError, match="line break"):
        columns.initials(pl.Series(["王\n明"]))


# ---------------------------------------------------------------- on PostgreSQL, through the import


def _require_postgresql(session: Session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the columnar path loads into PostgreSQL only")


def _columnar_for_any_size(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL (else skip), with the columnar path taking files of any size."""
    _require_postgresql(session)
    monkeypatch.setattr(imports, "PARALLEL_ROWS", 1)
    monkeypatch.setattr(imports, "BULK_FK_THRESHOLD", 1)


def _snapshot(session: Session) -> tuple[Any, ...]:
    """Every roster row and import ledger entry, ids replaced by their order (two imports draw different ids)."""
    hh = session.execute(select(Household).order_by(Household.id)).scalars().all()
    order = {h.id: i for i, h in enumerate(hh)}
    households = [tuple(getattr(h, c) for c in imports.HOUSEHOLD_COLUMNS[1:]) for h in hh]
    status = [(order[s.household_id], *(getattr(s, c) for c in imports.STATUS_COLUMNS[1:]))
              for s in session.execute(select(HouseholdStatus).order_by(HouseholdStatus.id)).scalars()]
    people = [(order[p.household_id], *(getattr(p, c) for c in imports.PERSON_COLUMNS[1:]))
              for p in session.execute(select(Person).order_by(Person.id)).scalars()]
    entries = []
    for body in ledger_bodies(session):
        if body["type"] == "household.import":
            facts = body["facts"]
            assert imports.batch_digest_now(session, facts) == facts["digest"]
            first, last = facts["household_ids"]
            entries.append((body["region"], facts["batch"], facts["households"], facts["people"], order[first],
                            order[last]))
    return households, status, people, entries


def _both_ways(session: Session, path: Path, monkeypatch: pytest.MonkeyPatch,
               actor: Actor = ACTOR) -> tuple[Any, Any, list[bool]]:
    """Import `path` once with the columnar path allowed and once without, each undone afterwards; returns
    each way's result and snapshot, and whether the columnar path imported."""
    used: list[bool] = []
    real = imports._import_columnar

    def spy(*args: Any) -> Any:
        out = real(*args)
        used.append(out is not None)
        return out

    out = []
    for allowed in (True, False):
        monkeypatch.setattr(imports, "_import_columnar", spy if allowed else lambda *a: None)
        nested = session.begin_nested()
        try:
            result = imports.import_households(session, actor, path, AT)
            out.append((result, _snapshot(session)))
        except Exception as exc:  # noqa: BLE001 - compared below
            out.append((type(exc), str(exc)))
        nested.rollback()
    monkeypatch.setattr(imports, "_import_columnar", real)  # (so a second call finds the real one)
    return out[0], out[1], used


def test_a_clean_file_imports_the_same_either_way_and_each_batch_digest_matches(
        rs: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _columnar_for_any_size(rs, monkeypatch)
    monkeypatch.setattr(imports, "BATCH", 7)
    rows = _clean_rows(random.Random(3), 40)
    path = _write(tmp_path / "a.csv", rows, crlf=True, bom=True)
    (fast, fast_rows), (slow, slow_rows), used = _both_ways(rs, path, monkeypatch)
    assert used == [True]
    assert fast == slow and fast.people_new == len(rows) and fast.households_new == 40
    assert fast_rows == slow_rows
    households, status, people, entries = fast_rows
    assert [e[2] for e in entries] == [7, 7, 7, 7, 7, 5] and sum(e[3] for e in entries) == len(rows)
    assert status[0][1:] == ("231002", households[0][3], AT.date(), imports.IMPORT_REASON)


def test_a_file_with_a_bad_row_or_a_registered_household_takes_the_row_path(
        rs: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _columnar_for_any_size(rs, monkeypatch)
    rows = _clean_rows(random.Random(4), 12)
    bad = [r[:] for r in rows]
    bad[5][5] = "很强"
    (fast, _), (slow, _), used = _both_ways(rs, _write(tmp_path / "bad.csv", bad), monkeypatch)
    assert used == [False] and fast == slow and fast.errors and not fast.imported
    # One household registered already: the row path compares it and adds the others.
    imports.import_households(rs, ACTOR, _write(tmp_path / "one.csv", [r for r in rows if r[0] == rows[0][0]]), AT)
    before = ledger_size(rs)
    (fast, fast_rows), (slow, slow_rows), used = _both_ways(rs, _write(tmp_path / "all.csv", rows), monkeypatch)
    assert used == [False] and fast == slow and fast_rows == slow_rows
    assert (fast.households_new, fast.households_unchanged) == (11, 1) and ledger_size(rs) == before


def test_a_check_that_fails_after_the_households_were_sent_undoes_everything_and_reports_as_the_row_path(
        rs: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _columnar_for_any_size(rs, monkeypatch)
    rows = _clean_rows(random.Random(6), 30)
    rows[-1][3] = rows[-1][3][:-1] + ("1" if rows[-1][3][-1] != "1" else "2")  # a wrong check digit, last row
    path = _write(tmp_path / "a.csv", rows)
    schema, size = _roster_schema(rs), ledger_size(rs)
    verified: list[bool] = []
    real = columns.verify
    monkeypatch.setattr(columns, "verify", lambda p: verified.append(real(p)) or verified[-1])
    result = imports.import_households(rs, ACTOR, path, AT)
    assert verified == [False]  # the rows had gone to the database by then
    assert [(e.row, e.column) for e in result.errors] == [(len(rows) + 1, "证件号码")] and not result.imported
    assert (_roster_schema(rs), ledger_size(rs)) == (schema, size)
    assert rs.scalar(text("SELECT count(*) FROM households")) == 0
    assert rs.scalar(text("SELECT count(*) FROM people")) == 0


@pytest.mark.parametrize("spoil", ["no head", "two heads", "two heads and one without", "other village",
                                   "exit missing", "refused by COPY"])
def test_a_file_refused_after_its_rows_went_to_the_database_is_left_to_the_row_path(
        rs: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spoil: str) -> None:
    """Rows go to the database before `verify` answers, and the database may refuse some of them first (a
    poverty cause longer than its column): its error must not escape, the row path reports the file."""
    _columnar_for_any_size(rs, monkeypatch)
    rows = _clean_rows(random.Random(8), 20)
    victim = rows[7][0]
    members = [r for r in rows if r[0] == victim]
    if spoil == "no head":
        for r in members:
            r[4] = "子"
    elif spoil.startswith("two heads"):
        rows.append([victim, "", "另一户主", _id(900), "户主", "有劳动能力", members[0][6], "", members[0][8],
                     members[0][9], "", "", ""])
        if spoil.endswith("one without"):  # as many heads as households
            for r in rows:
                if r[0] == rows[0][0] != victim:
                    r[4] = "子"
            assert len({r[0] for r in rows}) == sum(r[4] == "户主" for r in rows)
    elif spoil == "other village":
        other = "新民村" if members[0][9] in ("兴隆村", "231002001001") else "兴隆村"
        rows.append([victim, "", "远方成员", _id(901), "子", "有劳动能力", members[0][6], "", "", other, "", "", ""])
    elif spoil == "exit missing":
        for r in members:
            r[6], r[7] = "脱贫户", ""
    else:  # a wrong check digit (the row path reports it) and a head's cause too long for its column
        rows[-1][3] = rows[-1][3][:-1] + ("1" if rows[-1][3][-1] != "1" else "2")
        next(r for r in members if r[4] == "户主")[12] = "因病" * 51
    (fast, _), (slow, _), used = _both_ways(rs, _write(tmp_path / "a.csv", rows), monkeypatch)
    assert used == [False] and fast == slow and fast.errors and not fast.imported


@pytest.mark.parametrize("change", [
    "none", "status", "exit year", "phone", "phone left out", "bank account", "cause", "labour", "name", "relation",
    "new member", "member left out", "new household", "member moved", "village", "bad row"])
def test_re_importing_a_file_gives_what_the_row_path_gives_and_writes_nothing_when_nothing_changed(
        rs: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    _columnar_for_any_size(rs, monkeypatch)
    rows = _clean_rows(random.Random(11), 30)
    first = imports.import_households(rs, ACTOR, _write(tmp_path / "a.csv", rows), AT)
    assert first.households_new == 30
    before = ledger_size(rs)
    heads = [r for r in rows if r[4] == "户主"]
    head = next(r for r in heads if r[6] in ("贫困户", "未脱贫户") and not r[7])  # not exited, no exit year
    members = [r for r in rows if r[0] == head[0]]
    other = next(r for r in heads if r is not head and sum(x[0] == r[0] for x in rows) > 1)  # has members
    if change == "status":  # the status alone
        for r in members:
            r[6] = "监测户"
    elif change == "exit year":
        for r in members:
            r[6], r[7] = "脱贫户", "2021" if r[7] != "2021" else "2020"
    elif change in ("phone", "phone left out", "bank account", "cause"):
        col, new = {"phone": (10, "13800002222"), "phone left out": (10, ""), "bank account": (11, "6222020200999"),
                    "cause": (12, "因灾")}[change]
        head[col] = new if head[col] != new else "13900003333"
    elif change == "labour":
        head[5] = "无劳动能力" if head[5] in ("有劳动能力", "普通劳动力") else "有劳动能力"
    elif change == "name":
        head[2] += "明"
    elif change == "relation":
        member = next(r for r in rows if r[4] != "户主")
        member[4] = "女" if member[4] != "女" else "子"
    elif change == "new member":
        rows.append([head[0], "", "新成员", _id(950), "子", "有劳动能力", head[6], head[7], head[8], head[9], "", "", ""])
    elif change == "member left out":
        rows.remove(next(r for r in rows if r[4] != "户主"))
    elif change == "new household":
        rows.append(["H99999", "", "新户主", _id(951), "户主", "有劳动能力", "贫困户", "", "兴隆镇", "兴隆村", "", "", ""])
    elif change == "member moved":  # to another household, all else as it was
        mover = next(r for r in rows if r[0] == other[0] and r[4] != "户主")
        mover[0], mover[8], mover[9] = head[0], head[8], head[9]
    elif change == "village":
        for r in [r for r in rows if r[0] == other[0]]:
            r[8], r[9] = "", ("新民村" if r[9] in ("兴隆村", "231002001001") else "兴隆村")
    elif change == "bad row":
        head[5] = "很强"
    (fast, fast_rows), (slow, slow_rows), used = _both_ways(rs, _write(tmp_path / "b.csv", rows), monkeypatch)
    assert fast == slow and fast_rows == slow_rows
    # The columnar path answers by itself only when nothing the row path compares has changed (a member the file
    # leaves out is not compared, nor a phone it leaves empty); a household under another village is a bad row.
    assert used == [change in ("none", "phone left out", "member left out")]
    if change == "village":
        assert {e.column for e in fast.errors} == {"所属村"} and not fast.imported
    if used == [True]:
        assert (fast.households_unchanged, fast.households_changed, fast.households_new) == (30, 0, 0)
        assert ledger_size(rs) == before


@pytest.mark.parametrize("form", ["quoted header", "quoted cell", "GB 18030"])
def test_a_file_only_the_csv_module_reads_is_imported_by_the_row_path(
        rs: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str) -> None:
    _columnar_for_any_size(rs, monkeypatch)
    rows = _clean_rows(random.Random(9), 10)
    lines = [",".join(HEADERS)] + [",".join(r) for r in rows]
    if form == "quoted header":
        lines[0] = ",".join(f'"{h}"' for h in HEADERS)
    elif form == "quoted cell":
        lines[3] = lines[3].replace(rows[2][2], f'"{rows[2][2]}"')
    path = tmp_path / "a.csv"
    path.write_bytes("\n".join(lines).encode("gb18030" if form == "GB 18030" else "utf-8"))
    (fast, fast_rows), (slow, slow_rows), used = _both_ways(rs, path, monkeypatch)
    assert used == [False] and fast == slow and fast_rows == slow_rows
    assert fast.imported and fast.people_new == len(rows)


def test_a_file_outside_the_importer_s_township_is_refused_either_way(
        rs: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _columnar_for_any_size(rs, monkeypatch)
    other = Actor(id="clerk", role=Role.TOWNSHIP_OFFICIAL, region="231002002")
    path = _write(tmp_path / "a.csv", _clean_rows(random.Random(5), 5))
    fast, slow, used = _both_ways(rs, path, monkeypatch, actor=other)
    assert fast == slow and fast[0] is Forbidden and used == []  # refused before anything is written
    assert rs.scalar(text("SELECT count(*) FROM people")) == 0


@pytest.mark.parametrize("columnar", [False, True], ids=["row path", "columnar path"])
def test_the_writing_progress_bar_counts_each_household_and_person_once(
        rs: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, columnar: bool) -> None:
    if columnar:
        _columnar_for_any_size(rs, monkeypatch)
    bars: list[dict[str, Any]] = []

    class Bar:
        def __init__(self, on: bool, desc: str, unit: str, total: int | None = None) -> None:
            self.seen = {"desc": desc, "unit": unit, "total": total, "n": 0}
            bars.append(self.seen)

        def update(self, n: int) -> None:
            self.seen["n"] += n

        def close(self) -> None:
            pass

    monkeypatch.setattr(imports, "_progress", Bar)
    rows = _clean_rows(random.Random(3), 12)
    result = imports.import_households(rs, ACTOR, _write(tmp_path / "a.csv", rows), AT, progress=True)
    writing = [b for b in bars if b["desc"].startswith("写入")]
    assert result.households_new == 12 and len(writing) == 1
    assert writing[0]["total"] == writing[0]["n"] == 12 + len(rows) and writing[0]["unit"] == "行"


@pytest.mark.parametrize("kind", ["long name", "long cause", "long number", "other township", "future birth",
                                  "future exit", "head name"])
def test_a_cell_too_long_a_mismatched_township_or_head_s_name_or_a_future_date_is_the_row_path_s_to_report(
        rs: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    """The columnar path gives up on each (`plan` is None) and the row path reports it by row and column; through
    the import (on PostgreSQL) both ways give the same result. Cells at their columns' limits pass both ways."""
    _second_township(rs)
    rows = _clean_rows(random.Random(12), 20)
    for r in rows:  # 户主姓名 given everywhere
        r[1] = next(h[2] for h in rows if h[0] == r[0] and h[4] == "户主")
    at_limits = [r[:] for r in rows]
    for r in at_limits:
        if r[0] == rows[0][0]:
            r[0] = "H" * reg.HOUSEHOLD_NO_MAX
    at_limits[1][1:3] = ["王" * reg.NAME_MAX] * 2 if at_limits[1][4] == "户主" else [at_limits[1][1], "王" * reg.NAME_MAX]
    at_limits[2][12] = "因" * reg.POVERTY_CAUSE_MAX
    at_limits[3][7] = str(AT.year)
    path = _write(tmp_path / "limits.csv", at_limits)
    plan = _plan(rs, path)
    expected, errors, _ = _row_path(rs, path)
    assert plan is not None and errors == [] and _as_rows(plan) == expected
    # One member's row (not a head's, in a household with a head elsewhere) is changed; a township or household
    # number, on every row of the household (else the row is in another village than its head's, or in a
    # household without a head, which is refused anyway).
    i = next(i for i, r in enumerate(rows) if r[4] != "户主")
    row = rows[i]
    household = [j for j, r in enumerate(rows) if r[0] == row[0]]
    head_row = next(j for j in household if rows[j][4] == "户主")
    for j in household if kind in ("other township", "long number") else [i]:
        if kind in _CELL:
            col, value = _CELL[kind]
            rows[j][col] = value
        else:
            assert _spoil_one(rows[j], kind)
    where = {"long name": [(i, "姓名")], "long cause": [(i, "致贫原因")], "long number": [(j, "户编号") for j in household],
             "other township": [(j, "所属村") for j in household], "future birth": [(i, "证件号码")],
             "future exit": [(i, "脱贫年度")], "head name": [(head_row, "户主姓名")]}[kind]
    path = _write(tmp_path / "bad.csv", rows)
    assert _plan(rs, path) is None
    _, errors, _ = _row_path(rs, path)
    assert [(e.row, e.column) for e in errors] == [(j + 2, column) for j, column in where]
    if rs.get_bind().dialect.name == "postgresql":
        _columnar_for_any_size(rs, monkeypatch)
        (fast, _), (slow, _), used = _both_ways(rs, path, monkeypatch)
        assert used == [False] and fast == slow and not fast.imported
        assert [(e.row, e.column, e.message) for e in fast.errors] == [(e.row, e.column, e.message) for e in errors]
        (fast, fast_rows), (slow, slow_rows), used = _both_ways(rs, _write(tmp_path / "limits.csv", at_limits),
                                                                monkeypatch)
        assert used == [True] and fast == slow and fast_rows == slow_rows and fast.imported


def _spoil_one(row: list[str], kind: str) -> bool:
    """A row of 兴隆镇 with 五林乡's village (see `_second_township`), or born after `AT`."""
    if kind == "other township":
        row[8], row[9] = "兴隆镇", "五林村"
    elif kind == "future birth":
        row[3] = _with_check(row[3][:6] + "20300101" + row[3][14:17])
    else:
        return False
    return True
