"""Household import, bulk path: the fast ID check equals stdnum's, batch digests, bulk foreign keys, escaping."""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from daipin.db import sealing
from daipin.db.models.registry import Household, Person
from daipin.domain.errors import InputError
from daipin.domain.identity import parse_resident_id
from daipin.services.contracts import service as svc_contracts
from daipin.services.imports import service as imports
from tests.integration.registry_support import (
    ACTOR,
    AT,
    household,
    ledger_bodies,
    ledger_size,
    person_id,
    project,
    reg,
    rs_fixture,  # noqa: F401
)

HEADERS = ["户编号", "姓名", "身份证号", "家庭关系", "劳动能力", "户类型", "脱贫年度", "所属乡镇", "所属村", "联系电话"]


def _regions() -> list[str]:
    """Every six-digit code in stdnum's table (current and retired), read from its data file."""
    import stdnum.cn

    codes: list[str] = []
    province = ""
    for line in (Path(stdnum.cn.__file__).parent / "loc.dat").read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^(\d\d) ", line):
            province = m.group(1)
        elif m := re.match(r"^  (\d{4}) ", line):
            codes.append(province + m.group(1))
    return codes


def _with_check(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


def _candidates(rng: random.Random) -> list[str]:
    regions = _regions()
    out: list[str] = []
    for _ in range(4000):  # valid-looking numbers over real, retired and unknown regions and all sorts of dates
        region = rng.choice(regions) if rng.random() < 0.9 else f"{rng.randrange(10**6):06d}"
        year = rng.choice([rng.randrange(1900, 2030), 1986, 2010, 2011, 1800, 2999])
        body = f"{region}{year:04d}{rng.randrange(0, 14):02d}{rng.randrange(0, 33):02d}{rng.randrange(1000):03d}"
        number = _with_check(body)
        out.append(number)
        wrong = number[:-1] + rng.choice("0123456789X".replace(number[-1], ""))
        out.append(wrong)
        i = rng.randrange(17)
        out.append(number[:i] + str((int(number[i]) + 1) % 10) + number[i + 1:])
    for region, year in (("110103", 2010), ("110103", 2011), ("110111", 1985), ("110111", 1986), ("231002", 1990),
                         ("231002", 1970), ("110110", 1986), ("110110", 1987)):
        for md in ("0229", "0228", "0230", "1231", "0001", "1300"):
            out.append(_with_check(f"{region}{year}{md}123"))
            out.append(_with_check(f"{region}2000{md}123"))  # 2000 is a leap year
    valid_x = next(n for n in (_with_check(f"231002198501{d:02d}{s:03d}") for d in range(1, 29) for s in range(999))
                   if n.endswith("X"))
    out += [valid_x, valid_x.lower(), f" {valid_x} ", valid_x[:9] + " " + valid_x[9:], valid_x[:-1],
            valid_x + "1", "", "   ", "23100219850101123", "2310021985010112345", "23100219850101１２３X",
            "2310021985010112a4", "+23100219850101123", "２３１００２１９８５０１０１１２３Ｘ", "²31002198501011234"]
    return out


def _stdnum_valid(value: str) -> bool:
    """stdnum's `validate`, except that the region code may be one that came into force after the birth (a number
    is coded when it is assigned): the region is asked of stdnum for each year from the birth on."""
    try:
        if ric.is_valid(value):
            return True
    except KeyError:  # stdnum's look-up fails this way for a known province with an unknown county
        pass
    number = ric.compact(value)
    if len(number) != 18 or not number[:17].isdigit() or number[17] != ric.calc_check_digit(number):
        return False
    try:
        birth = ric.get_birth_date(number)
    except ValidationError:
        return False
    for year in range(birth.year, max(birth.year, 2030) + 1):
        probe = f"{number[:6]}{year:04d}0101000"
        try:
            ric.get_birth_place(probe + ric.calc_check_digit(probe + "0"))
        except (ValidationError, KeyError):
            continue
        return True
    return False


def test_the_fast_resident_id_check_agrees_with_stdnum_and_the_registry_check() -> None:
    rng = random.Random(20250601)
    numbers = _candidates(rng)
    valid = 0
    for value in numbers:
        number, zh, en = imports.check_resident_id_fast(value)
        try:
            rid = parse_resident_id(value)
        except InputError as exc:
            assert (zh, en) == (exc.message_zh, exc.message_en), value
        else:
            assert (number, zh, en) == (rid.number, None, None), value
            valid += 1
        if value.isascii() and " " not in value:  # stdnum's check, and no birth date after today (stdnum's is any)
            assert (zh is None) == (_stdnum_valid(value) and ric.get_birth_date(value) <= date.today()), value
    assert valid > 1000 and len(numbers) - valid > 6000  # both outcomes are well exercised


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADERS)
        w.writerows(rows)
    return path


def _rows(households: int, start: int = 0) -> list[list[str]]:
    out = []
    for h in range(start, start + households):
        for m in range(1 + h % 3):
            out.append([f"B-{h:04d}", f"成员{h}-{m}", person_id(5000 + h * 3 + m, "MF"[m % 2]),
                        "户主" if m == 0 else "子", ("有劳动能力", "弱劳动力", "无劳动能力")[(h + m) % 3],
                        ("贫困户", "监测户", "脱贫户", "一般户")[h % 4], "2021" if h % 4 == 2 else "", "兴隆镇",
                        ("兴隆村", "新民村")[h % 2], "13900001111" if m == 0 else ""])
    return out


def _import_entries(session: Session) -> list[dict[str, object]]:
    return [b["facts"] for b in ledger_bodies(session) if b["type"] == "household.import"]


@pytest.mark.edits_rows_behind_the_ledger
def test_new_households_get_one_ledger_entry_per_batch_whose_digest_matches_the_rows(
        rs: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "BATCH", 4)
    result = imports.import_households(rs, ACTOR, _csv(tmp_path / "a.csv", _rows(10)), AT)
    assert (result.households_new, result.people_new) == (10, 19)
    entries = _import_entries(rs)
    # Written in village and household-number order: B-0000, 2, 4, 6 | B-0008, 1, 3, 5 | B-0007, 9.
    assert [(e["households"], e["people"]) for e in entries] == [(4, 7), (4, 9), (2, 3)]
    for facts in entries:
        assert imports.batch_digest_now(rs, facts) == facts["digest"]
    assert "成员" not in str(entries) and person_id(5000) not in str(entries)
    hh = reg.household_by_no(rs, "B-0002")
    assert (hh.status, hh.exit_year, hh.labor, hh.phone, hh.status_since) == ("exited", 2021, "full", "13900001111",
                                                                              AT.date())
    people = reg.members(rs, hh.id)
    assert [(p.relation, p.labor, p.sex, p.birth_date) for p in people] == [
        ("户主", "none", "M", parse_resident_id(people[0].id_number).birth_date),
        ("子", "full", "F", parse_resident_id(people[1].id_number).birth_date),
        ("子", "weak", "M", parse_resident_id(people[2].id_number).birth_date)]
    assert reg.status_as_of(rs, hh.id, AT.date()) == "exited"
    # A row edited behind the ledger's back changes the digest of its batch, and only that one.
    rs.execute(update(Person).where(Person.id == people[1].id).values(labor="none"))
    assert [imports.batch_digest_now(rs, f) == f["digest"] for f in entries] == [False, True, True]


def test_re_importing_many_households_compares_in_bulk_and_writes_nothing(
        rs: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "BATCH", 3)
    path = _csv(tmp_path / "a.csv", _rows(8))
    imports.import_households(rs, ACTOR, path, AT)
    before = ledger_size(rs)
    again = imports.import_households(rs, ACTOR, path, AT)
    assert (again.households_new, again.households_changed, again.households_unchanged) == (0, 0, 8)
    assert ledger_size(rs) == before
    rows = _rows(8) + _rows(2, start=8)
    rows[0][4] = "无劳动能力"  # B-0000's head: full → none
    third = imports.import_households(rs, ACTOR, _csv(tmp_path / "b.csv", rows), AT)
    assert (third.households_new, third.households_changed, third.households_unchanged) == (2, 1, 7)
    assert ledger_size(rs) == before + 2  # the changed household, and one batch of new ones
    assert reg.household_by_no(rs, "B-0000").labor == "none"


def test_names_with_tabs_backslashes_and_line_breaks_are_stored_exactly(rs: Session, tmp_path: Path) -> None:
    rows = _rows(2)
    rows[1][1] = "甲\t乙\\丙\n丁"
    rows[1][0] = rows[2][0] = "B-\\1"
    result = imports.import_households(rs, ACTOR, _csv(tmp_path / "a.csv", rows), AT)
    assert result.errors == [] and result.people_new == 3
    hh = reg.household_by_no(rs, "B-\\1")
    assert [p.name for p in reg.members(rs, hh.id)] == ["甲\t乙\\丙\n丁", "成员1-1"]
    for facts in _import_entries(rs):
        assert imports.batch_digest_now(rs, facts) == facts["digest"]


def test_a_large_import_checks_foreign_keys_in_bulk_and_restores_them(
        rs: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "BULK_FK_THRESHOLD", 1)
    result = imports.import_households(rs, ACTOR, _csv(tmp_path / "a.csv", _rows(6)), AT)
    assert result.households_new == 6
    if rs.get_bind().dialect.name == "postgresql":
        fks = rs.execute(text("SELECT conname, convalidated FROM pg_constraint WHERE contype = 'f' "
                              "AND confrelid = 'households'::regclass AND conrelid IN "
                              "('people'::regclass, 'household_status_history'::regclass) ORDER BY conname")).all()
        assert [tuple(r) for r in fks] == [("fk_household_status_history_household_id_households", True),
                                           ("fk_people_household_id_households", True)]
        # The restored constraint still refuses a person of a household that does not exist.
        with pytest.raises(IntegrityError, match="fk_people_household_id_households"), rs.begin_nested():
            rs.execute(text("INSERT INTO people (household_id, county_code, name, id_number, id_number_bidx, relation, "
                            "labor, life_state) VALUES (-1, '231002', 'x', 'x', 'x', '户主', 'full', 'alive')"))
    assert rs.scalar(select(Household.labor).where(Household.household_no == "B-0001")) == "weak"


def test_an_exited_head_without_exit_year_and_a_household_without_head_are_reported(
        rs: Session, tmp_path: Path) -> None:
    rows = _rows(4)
    rows[3][6] = ""  # B-0002's head is exited (row 5) without its year
    rows[6][3] = "子"  # B-0003 (row 8, alone) loses its head
    result = imports.import_households(rs, ACTOR, _csv(tmp_path / "a.csv", rows), AT)
    assert [(e.row, e.column, e.household_no) for e in result.errors] == [
        (5, "脱贫年度", "B-0002"), (8, "家庭关系", "B-0003")]
    assert not result.imported


def test_birth_dates_derived_on_the_bulk_path_match_the_registry_check(rs: Session, tmp_path: Path) -> None:
    rows = _rows(1)
    born = date(2000, 2, 29)
    rows[0][2] = _with_check(f"231002{born:%Y%m%d}452")
    imports.import_households(rs, ACTOR, _csv(tmp_path / "a.csv", rows), AT)
    p = rs.scalars(select(Person).where(
        Person.id_number_bidx == sealing.index_of(rs.connection(), rows[0][2]))).one()
    assert (p.birth_date, p.sex) == (born, "F")


def _roster_schema(session: Session) -> list[tuple[object, ...]]:
    """Every index and constraint of the roster tables, and every foreign key to them, as PostgreSQL defines
    them, with their validity."""
    tables = {"t": list(imports.ROSTER_TABLES)}
    indexes = session.execute(text(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid), indisvalid FROM pg_index "
        "WHERE indrelid = ANY(CAST(:t AS regclass[])) ORDER BY 1"), tables).all()
    constraints = session.execute(text(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint "
        "WHERE conrelid = ANY(CAST(:t AS regclass[])) OR confrelid = ANY(CAST(:t AS regclass[])) ORDER BY 1, 2"),
        tables).all()
    return [tuple(r) for r in indexes] + [tuple(r) for r in constraints]


def _spy_rebuild(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The `rebuild` argument of every `_drop_deferred` call from now on."""
    seen: list[bool] = []
    real = imports._drop_deferred

    def spy(session: Session, rebuild: bool) -> list[imports.Deferred]:
        seen.append(rebuild)
        return real(session, rebuild)

    monkeypatch.setattr(imports, "_drop_deferred", spy)
    return seen


def _require_postgresql(session: Session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the bulk load path is PostgreSQL's")


def test_a_bulk_import_rebuilds_the_roster_indexes_and_leaves_every_index_and_constraint_as_it_was(
        rs: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _require_postgresql(rs)
    # A household with an employment contract of one of its members: other tables' foreign keys to the
    # roster are dropped and validated again too.
    worker = household(rs, "H-1", 1)
    terms = {"position": "工人", "hours": "8小时", "wage_basis": "day", "wage_fen": 15000, "pay_cycle": "monthly"}
    contract = svc_contracts.sign_contract(
        rs, ACTOR, code="C-1", model="employment", project_id=project(rs).id, start_date=date(2025, 1, 1),
        end_date=date(2027, 12, 31), terms=terms, at=AT, payee_household_id=worker.id,
        person_id=reg.members(rs, worker.id)[0].id)
    before = _roster_schema(rs)
    names = {r[0] for r in before} | {r[1] for r in before}
    assert {"uq_people_id_number_bidx", "ix_people_name_pattern", "fk_people_household_id_households", "pk_people",
            "pk_households", "uq_households_household_no", "ix_household_status_history_household_id",
            "fk_contracts_person_id_people", "fk_contracts_payee_household_id_households"} <= names
    monkeypatch.setattr(imports, "BULK_FK_THRESHOLD", 1)
    rebuilt = _spy_rebuild(monkeypatch)
    rows = _rows(6)
    rows[0][1], rows[1][1], rows[2][1] = "曾小明", "阿依古丽·买买提", "Anna李"
    result = imports.import_households(rs, ACTOR, _csv(tmp_path / "a.csv", rows), AT)
    assert (result.households_new, result.people_new, rebuilt) == (6, 12, [True])
    assert _roster_schema(rs) == before
    # The foreign keys from contracts hold again: the worker cannot be removed, a contract cannot name nobody.
    with pytest.raises(IntegrityError, match="fk_contracts_person_id_people"), rs.begin_nested():
        rs.execute(text("DELETE FROM people WHERE id = :p"), {"p": contract.person_id})
    with pytest.raises(IntegrityError, match="fk_contracts_payee_household_id_households"), rs.begin_nested():
        rs.execute(text("UPDATE contracts SET payee_household_id = -1 WHERE id = :c"), {"c": contract.id})
    people = rs.execute(select(Person.name, Person.name_initials, Person.id).order_by(Person.id)).all()
    stored = {n: i for n, i, _ in people}
    assert [stored[n] for n in ("曾小明", "阿依古丽·买买提", "Anna李")] == ["zxm", "ayglmmt", "annal"]
    for facts in _import_entries(rs):
        assert imports.batch_digest_now(rs, facts) == facts["digest"]
    # The rebuilt unique index refuses a repeated ID number; the next person gets an id after the drawn range.
    hid = reg.household_by_no(rs, "B-0000").id
    with pytest.raises(IntegrityError, match="uq_people_id_number_bidx"), rs.begin_nested():
        rs.execute(text("INSERT INTO people (household_id, county_code, name, id_number, id_number_bidx, relation, "
                        "labor, life_state) VALUES (:h, '231002', 'x', 'x', :n, '子', 'full', 'alive')"),
                   {"h": hid, "n": sealing.index_of(rs.connection(), rows[0][2])})
    added = reg.add_member(rs, ACTOR, hid, {"name": "新成员", "id_number": person_id(4999), "relation": "子",
                                            "labor": "full"}, AT)
    assert added.id > people[-1][2]


def test_an_abandoned_copy_writer_starts_no_further_statement(rs: Session) -> None:
    """When the file is refused while the writer rebuilds indexes, the rest of its statements are skipped (the
    caller rolls them back anyway): the statement after the running one never runs."""
    _require_postgresql(rs)
    import time

    savepoint = rs.begin_nested()
    slow = imports.Deferred("SELECT pg_sleep(0.3)", frozenset())
    writer = imports._CopyWriter(rs, deferred=[slow, imports.Deferred("SELECT 1 / 0", frozenset())])
    writer.start()
    for table in imports._CopyWriter.COLUMNS:
        writer.put(table, None)
    deadline = time.monotonic() + 10
    while writer.statement != slow.sql and time.monotonic() < deadline:
        time.sleep(0.005)
    assert writer.statement == slow.sql
    writer.abandon()
    assert not writer.thread.is_alive() and writer.error is None and writer.statement == slow.sql
    savepoint.rollback()


@pytest.mark.parametrize("columnar", [False, True])
def test_a_bulk_import_that_fails_on_a_rebuilt_index_rolls_back_its_rows_and_keeps_every_index(
        rs: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, columnar: bool) -> None:
    _require_postgresql(rs)
    imports.import_households(rs, ACTOR, _csv(tmp_path / "a.csv", _rows(2)), AT)
    before = (_roster_schema(rs), rs.scalar(select(func.count()).select_from(Person)), ledger_size(rs))
    monkeypatch.setattr(imports, "BULK_FK_THRESHOLD", 1)
    # Told that no household exists yet, the import writes B-0000 and B-0001 again: only the rebuilt unique
    # indexes can stop it. The columnar path rebuilds the households' indexes in its writer thread: the
    # error still reaches the caller as SQLAlchemy's, as the command line expects.
    monkeypatch.setattr(imports, "_existing_ids", lambda session, numbers: {})
    if columnar:
        monkeypatch.setattr(imports, "PARALLEL_ROWS", 1)
        monkeypatch.setattr(imports, "_owners", lambda session, numbers: {})
    used = _spy_columnar(monkeypatch)
    with pytest.raises(IntegrityError, match="uq_households_household_no|uq_people_id_number_bidx"), rs.begin_nested():
        imports.import_households(rs, ACTOR, _csv(tmp_path / "b.csv", _rows(3)), AT)
    assert used == ([] if columnar else [None])  # the columnar path raised (or declined: a small file)
    assert (_roster_schema(rs), rs.scalar(select(func.count()).select_from(Person)), ledger_size(rs)) == before


def _spy_columnar(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """What every `_import_columnar` call from now on returned (a call that raised adds nothing)."""
    seen: list[object] = []
    real = imports._import_columnar

    def spy(*args: object) -> object:
        seen.append(real(*args))  # type: ignore[arg-type]
        return seen[-1]

    monkeypatch.setattr(imports, "_import_columnar", spy)
    return seen


def test_a_bulk_import_into_a_roster_much_larger_than_itself_keeps_the_indexes(
        rs: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _require_postgresql(rs)
    imports.import_households(rs, ACTOR, _csv(tmp_path / "a.csv", _rows(6)), AT)  # 12 people
    before = _roster_schema(rs)
    monkeypatch.setattr(imports, "BULK_FK_THRESHOLD", 1)
    rebuilt = _spy_rebuild(monkeypatch)
    result = imports.import_households(rs, ACTOR, _csv(tmp_path / "b.csv", _rows(7)), AT)  # B-0006: 1 person
    assert (result.households_new, result.people_new, result.households_unchanged, rebuilt) == (1, 1, 6, [False])
    assert _roster_schema(rs) == before
    assert reg.members(rs, reg.household_by_no(rs, "B-0006").id)[0].id_number == _rows(7)[-1][2]


def test_a_bulk_import_still_reports_repeated_and_registered_id_numbers(
        rs: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    imports.import_households(rs, ACTOR, _csv(tmp_path / "a.csv", _rows(1)), AT)
    monkeypatch.setattr(imports, "BULK_FK_THRESHOLD", 1)
    rows = _rows(4, start=1)
    rows[1][2] = rows[0][2]  # B-0001's second member repeats its head (row 3 repeats row 2)
    rows[-1][2] = _rows(1)[0][2]  # B-0004's last member is B-0000's head
    before = rs.scalar(select(func.count()).select_from(Person))
    result = imports.import_households(rs, ACTOR, _csv(tmp_path / "b.csv", rows), AT)
    assert [(e.row, e.column, e.household_no) for e in result.errors] == [
        (3, "身份证号", "B-0001"), (len(rows) + 1, "身份证号", "B-0004")]
    assert "与第2行重复" in result.errors[0].message and "已登记在户 B-0000" in result.errors[1].message
    assert not result.imported and rs.scalar(select(func.count()).select_from(Person)) == before


@pytest.mark.parametrize("case", ["clean", "bad row in the second part", "household in both parts",
                                  "ID number in both parts"])
def test_checking_a_file_in_two_processes_gives_exactly_what_one_pass_gives(
        rs: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    rows = _rows(40)
    if case == "bad row in the second part":
        rows[-1][4] = "很强"
    elif case == "household in both parts":
        rows.append(["B-0001", "远方成员", person_id(9001), "子", "有劳动能力", "监测户", "", "兴隆镇", "新民村", ""])
    elif case == "ID number in both parts":
        rows[-1][2] = rows[0][2]
    path = _csv(tmp_path / "a.csv", rows)
    monkeypatch.setattr(imports, "PARALLEL_ROWS", 10**9)
    one = imports.validate_rows(rs, *imports.read_table(path))
    parts: list[object] = []
    real = imports._check_rows_in_two

    def spy(*args: object) -> object:
        parts.append(real(*args))  # type: ignore[arg-type]
        return parts[-1]

    monkeypatch.setattr(imports, "PARALLEL_ROWS", 1)
    monkeypatch.setattr(imports, "_can_fork", lambda: True)
    monkeypatch.setattr(imports, "_check_rows_in_two", spy)
    two = imports.validate_rows(rs, *imports.read_table(path))
    assert two == one
    assert len(parts) == 1 and (parts[0] is not None) == (case == "clean")
    assert (one[1] == []) == (case in ("clean", "household in both parts"))  # a household's rows may be apart


def test_an_exit_year_in_digits_int_cannot_read_is_reported_as_a_bad_exit_year(rs: Session, tmp_path: Path) -> None:
    rows = _rows(3)
    rows[3][6] = "²⁰²¹"  # B-0002's head (row 5): superscript digits are digits to str.isdigit, not to int()
    result = imports.import_households(rs, ACTOR, _csv(tmp_path / "a.csv", rows), AT)
    assert [(e.row, e.column) for e in result.errors] == [(5, "脱贫年度")] and "²⁰²¹" in result.errors[0].message


@pytest.mark.parametrize("body", [
    "a,b\r\n1,2\r\n\r\n,\r\n3\r\n",  # CRLF, a blank line, an empty row, a short row
    "a,b\n1,2\n\n3,4,5",  # no final line end, a long row
    "a,b\n1,2\r3,4\n",  # a bare carriage return: csv's own reading
    'a,b\n"1,5",2\n',  # quotes: csv's own reading
    "a,b\n",
])
def test_a_plain_csv_reads_as_the_csv_module_reads_it(tmp_path: Path, body: str) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(body.encode())
    headers, rows = imports.read_table(path)
    try:
        expected = list(csv.reader(io.StringIO(body)))
    except csv.Error:  # the bare carriage return: refused as bad input, naming the line
        with pytest.raises(InputError, match="line 2 is not readable as csv"):
            list(rows)
        return

    def blank_as_empty(rows: list[list[str]]) -> list[list[str]]:  # a blank line reads as [] or [""]: skipped
        return [r if any(r) else [] for r in rows]

    assert headers == [h.strip() for h in expected[0]]
    assert blank_as_empty(list(rows)) == blank_as_empty(expected[1:])


def test_the_copy_writer_puts_back_what_it_can_while_it_waits_and_nothing_before_its_tables_are_loaded(
        rs: Session) -> None:
    """The writer's schedule over the real list of what a bulk load drops, when every table's rows are late (it
    runs whatever is ready while it waits): each statement after the COPY of every roster table it reads, each
    foreign key after the key it references, every one exactly once, and the households' and status history's
    all done before the people's COPY."""
    _require_postgresql(rs)
    savepoint = rs.begin_nested()
    deferred = imports._drop_deferred(rs, rebuild=True)
    savepoint.rollback()
    roster = set(imports.ROSTER_TABLES)
    pending, loaded, done = list(deferred), set[str](), []
    for table in ("household_status_history", "households", "people"):
        while (ready := imports.ready_now(pending, loaded)) is not None:
            done.append((pending.pop(ready), frozenset(loaded)))
        loaded.add(table)
    done += [(d, frozenset(loaded)) for d in pending]
    assert sorted(d.sql for d, _ in done) == sorted(d.sql for d in deferred)
    for d, before in done:
        assert d.tables & roster <= before, d.sql
    keys = {m.group(1): i for i, (d, _) in enumerate(done)
            if (m := re.match(r"ALTER TABLE (\w+) ADD CONSTRAINT \"\w+\" PRIMARY KEY", d.sql))}
    assert set(keys) == roster
    for i, (d, _) in enumerate(done):
        if m := re.search(r"REFERENCES (\w+)\(", d.sql):
            assert m.group(1) not in keys or keys[m.group(1)] < i, d.sql
    people_first = min(i for i, (d, _) in enumerate(done) if "people" in d.tables)
    assert all("people" in d.tables for d, _ in done[people_first:])
    assert [d.sql for d, _ in done[people_first:]] == [d.sql for d in deferred if "people" in d.tables]


def _copies(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every COPY statement sent from now on: its table and options ("COPY people (FREEZE)")."""
    import psycopg

    seen: list[str] = []
    real = psycopg.Cursor.copy

    def copy(self: psycopg.Cursor[object], statement: str, *args: object, **kwargs: object) -> object:
        seen.append(re.sub(r" \(.*\) FROM STDIN", "", str(statement)))
        return real(self, statement, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(psycopg.Cursor, "copy", copy)
    return seen


def _settings(session: Session) -> tuple[str, str]:
    return tuple(session.execute(text(  # type: ignore[return-value]
        "SELECT current_setting('enable_hashjoin'), current_setting('max_parallel_maintenance_workers')")).one())


@pytest.mark.parametrize(("columnar", "hashjoin", "workers"), [(False, "on", "2"), (True, "on", "4"), (True, "off", "0")])
def test_a_bulk_import_into_an_empty_roster_loads_it_frozen_and_puts_back_every_setting(
        rs: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, columnar: bool, hashjoin: str,
        workers: str) -> None:
    """The first import of a district: the roster is emptied again in the import's transaction and loaded with COPY
    (FREEZE); its pages are then all visible. Each foreign key of the roster is validated with hash joins off and
    the setting is put back as it was; the rebuilds use at most one parallel worker (never more than before)."""
    _require_postgresql(rs)
    before = _roster_schema(rs)
    rs.execute(text(f"SET LOCAL enable_hashjoin = {hashjoin}"))
    rs.execute(text(f"SET LOCAL max_parallel_maintenance_workers = {workers}"))
    monkeypatch.setattr(imports, "BULK_FK_THRESHOLD", 1)
    if columnar:
        monkeypatch.setattr(imports, "PARALLEL_ROWS", 1)
    copies = _copies(monkeypatch)
    used = _spy_columnar(monkeypatch)
    merged = _spy_merged(monkeypatch)
    result = imports.import_households(rs, ACTOR, _csv(tmp_path / "a.csv", _rows(6)), AT)
    assert (result.households_new, result.people_new) == (6, 12)
    assert (used[0] is not None) == columnar
    assert merged == [["fk_household_status_history_household_id_households", "fk_people_household_id_households"]]
    assert sorted(copies) == ["COPY household_status_history (FREEZE)", "COPY households (FREEZE)",
                              "COPY people (FREEZE)"]
    assert _settings(rs) == (hashjoin, str(min(int(workers), imports.BULK_INDEX_WORKERS)))
    assert _roster_schema(rs) == before  # every index and key back, every foreign key validated
    assert rs.scalar(text("SELECT relallvisible FROM pg_class WHERE oid = 'people'::regclass")) == rs.scalar(
        text("SELECT relpages FROM pg_class WHERE oid = 'people'::regclass")) > 0
    assert [p.name for p in reg.members(rs, reg.household_by_no(rs, "B-0002").id)] == ["成员2-0", "成员2-1", "成员2-2"]
    for facts in _import_entries(rs):
        assert imports.batch_digest_now(rs, facts) == facts["digest"]
    # A second bulk import into the roster, now not empty: no TRUNCATE (the first rows stay), no FREEZE.
    copies.clear()
    result = imports.import_households(rs, ACTOR, _csv(tmp_path / "b.csv", _rows(6, start=6)), AT)
    assert (result.households_new, rs.scalar(select(func.count()).select_from(Person))) == (6, 24)
    assert copies and not any("FREEZE" in c for c in copies)
    assert merged[1:] == [[]]
    assert _roster_schema(rs) == before


def _spy_merged(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """For every `_bulk_start` from now on, the constraints whose validation it leaves to a merge join."""
    seen: list[list[str]] = []
    real = imports._bulk_start

    def spy(session: Session, households: int, people: int) -> imports.BulkStart:
        start = real(session, households, people)
        seen.append(sorted(re.search(r'CONSTRAINT "(\w+)"', d.sql).group(1)  # type: ignore[union-attr]
                           for d in start.deferred if d.merge))
        return start

    monkeypatch.setattr(imports, "_bulk_start", spy)
    return seen


def test_a_frozen_bulk_import_that_fails_leaves_the_roster_empty_and_every_index_and_setting_as_it_was(
        rs: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _require_postgresql(rs)
    before = (_roster_schema(rs), _settings(rs), ledger_size(rs))
    monkeypatch.setattr(imports, "BULK_FK_THRESHOLD", 1)
    monkeypatch.setattr(imports, "PARALLEL_ROWS", 1)
    real = imports._drop_deferred

    def failing(session: Session, rebuild: bool) -> list[imports.Deferred]:  # the last statement fails
        return [*real(session, rebuild), imports.Deferred("SELECT 1 / 0", frozenset(imports.ROSTER_TABLES))]

    monkeypatch.setattr(imports, "_drop_deferred", failing)
    copies = _copies(monkeypatch)
    with pytest.raises(Exception, match="division by zero"), rs.begin_nested():
        imports.import_households(rs, ACTOR, _csv(tmp_path / "a.csv", _rows(6)), AT)
    assert copies and all("FREEZE" in c for c in copies)
    assert (_roster_schema(rs), _settings(rs), ledger_size(rs)) == before
    assert rs.scalar(select(func.count()).select_from(Household)) == 0
