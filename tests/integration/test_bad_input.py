"""Bad input is refused before anything is written, naming the field; personal data stays out of every error.

Each case here once got past the services' checks: a value of the wrong type caught only by the ledger (after the
rows were written, the error naming `facts`) or by the database driver (a traceback with the row's phone and bank
account), a cell echoed in clear, a change an import validated but could not write."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from daipin.cli import app
from daipin.db.models.registry import Contract, ContractVersion, Entity, HouseholdStatus, Person, Project
from daipin.domain.errors import DaipinError, NotFound
from daipin.services.contracts import service as svc
from daipin.services.dynamic import service as dynamic
from daipin.services.imports import service as imports
from daipin.services.registry import records as records
from tests.integration.registry_support import (
    ACTOR,
    AT,
    TOWN,
    VILLAGE,
    household,
    ledger_size,
    person_id,
    project,
    reg,
    rs_fixture,  # noqa: F401
)

ORDER = {"buyer": "合作社", "product": "木耳", "quantity": "100", "price_rule": "market_with_floor",
         "floor_price_fen": 300, "delivery_schedule": ["9月"]}
MEMBER = {"name": "甲", "id_number": person_id(500), "relation": "户主", "labor": "full"}
LONG_NUMBER = re.compile(r"\d{7,}")


def _rows(session: Session) -> tuple[int, ...]:
    return tuple(int(session.scalar(select(func.count()).select_from(m)) or 0)
                 for m in (Contract, ContractVersion, HouseholdStatus, Person, Project))


def _refused(session: Session, call: Callable[[], Any], field: str) -> DaipinError:
    """Refused naming `field`, with no row and no ledger entry left, even for a caller that goes on after it."""
    rows, size = _rows(session), ledger_size(session)
    with pytest.raises(DaipinError) as exc:
        call()
    session.flush()
    assert exc.value.field == field, exc.value.text()
    assert (_rows(session), ledger_size(session)) == (rows, size)
    return exc.value


def test_a_float_in_a_contract_s_list_term_is_refused_where_it_is_before_anything_is_written(rs: Session) -> None:
    p, hh = project(rs), household(rs, "H-1", 1)
    terms = {**ORDER, "delivery_schedule": [{"month": "9月", "tonnes": 1.5}]}
    sign = {"code": "C-1", "model": "order_purchase", "project_id": p.id, "start_date": date(2025, 1, 1),
            "end_date": date(2025, 12, 31), "payee_household_id": hh.id, "at": AT}
    err = _refused(rs, lambda: svc.sign_contract(rs, ACTOR, terms=terms, **sign), "terms.delivery_schedule[0].tonnes")
    assert "1.5" in err.message_zh  # how to write it instead
    c = svc.sign_contract(rs, ACTOR, terms={**terms, "delivery_schedule": [{"month": "9月", "tonnes": "1.5"}]}, **sign)
    _refused(rs, lambda: svc.amend_contract(rs, ACTOR, c.id, reason="改期", terms={**ORDER, "delivery_schedule": [
        {"month": "10月", "tonnes": 2.5}]}, at=AT), "terms.delivery_schedule[0].tonnes")
    _refused(rs, lambda: svc.terminate_contract(rs, ACTOR, c.id, reason=1.5, on=date(2025, 6, 1), at=AT), "reason")
    assert c.status == "active" and c.version == 1


@pytest.mark.parametrize(("change", "field"), [
    (lambda kw: kw.update(household_no="H" * 41), "household_no"),
    (lambda kw: kw["members"][0].update(name=123), "members[0].name"),
    (lambda kw: kw.update(status_since=2020), "status_since"),
    (lambda kw: kw.update(poverty_cause=1.5), "poverty_cause"),
    (lambda kw: kw["members"][0].update(health_note=["病"]), "members[0].health_note"),
], ids=["long number", "name not text", "date not a date", "cause not text", "health note not text"])
def test_a_household_with_a_value_of_the_wrong_kind_is_refused_naming_it(
        rs: Session, change: Callable[[dict[str, Any]], None], field: str) -> None:
    kw: dict[str, Any] = {"household_no": "H-X", "village_code": VILLAGE, "status": "poor",
                          "members": [dict(MEMBER)], "at": AT}
    change(kw)
    _refused(rs, lambda: reg.register_household(rs, ACTOR, **kw), field)


def test_status_project_and_setting_values_of_the_wrong_kind_are_refused_naming_them(rs: Session) -> None:
    hh = household(rs, "H-1", 1)
    _refused(rs, lambda: dynamic.change_household_status(rs, ACTOR, hh.id, "exited", date(2025, 1, 1), "脱贫", AT,
                                                     exit_year="abc"), "exit_year")  # type: ignore[arg-type]
    _refused(rs, lambda: dynamic.change_household_status(rs, ACTOR, hh.id, "exited", date(2025, 1, 1), 1.5, AT),
             "reason")  # type: ignore[arg-type]
    assert hh.status == "poor"
    p = project(rs)
    base = {"name": "光伏", "category": "光伏", "entity_id": p.entity_id, "township_code": TOWN, "at": AT}
    _refused(rs, lambda: reg.register_project(rs, ACTOR, code="P-2", start_year="abc", **base), "start_year")
    _refused(rs, lambda: reg.register_project(rs, ACTOR, code="P-2", funding=["财政扶贫资金"], **base), "funding[0]")
    _refused(rs, lambda: reg.register_project(rs, ACTOR, code="P" * 41, **base), "code")
    _refused(rs, lambda: svc.sign_contract(rs, ACTOR, code="C-2", model="asset_lease", project_id=p.id,
                                           start_date=date(2025, 1, 1), end_date=date(2025, 12, 31),
                                           terms={"annual_rent_fen": 1}, payee_village_code=VILLAGE, at=AT,
                                           signed_on="去年"), "signed_on")  # type: ignore[arg-type]
    before = reg.get_setting(rs, "market_reference_rate")
    _refused(rs, lambda: reg.set_setting(rs, ACTOR, "market_reference_rate", 0.05, AT), "value")  # type: ignore
    assert reg.get_setting(rs, "market_reference_rate") == before


def test_a_member_s_stated_birth_date_or_sex_that_differs_from_the_id_names_that_member(rs: Session) -> None:
    members = [dict(MEMBER), {"name": "乙", "id_number": person_id(501, "F"), "relation": "配偶", "labor": "full",
                              "sex": "男"}]
    _refused(rs, lambda: reg.register_household(rs, ACTOR, household_no="H-X", village_code=VILLAGE, status="poor",
                                                members=members, at=AT), "members[1].sex")


def _roster(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["户编号", "姓名", "身份证号", "与户主关系", "劳动能力", "户类型", "脱贫年度", "所属村", "联系电话"])
        w.writerows(rows)
    return path


def test_an_import_cannot_change_a_registered_household_s_head(rs: Session, tmp_path: Path) -> None:
    """A head is changed by a registry change: the import reports the row instead of half-applying it."""
    a, b = person_id(601), person_id(602, "F")
    first = [["H-1", "甲", a, "户主", "有劳动能力", "贫困户", "", "兴隆村", ""],
             ["H-2", "丙", person_id(603), "户主", "有劳动能力", "贫困户", "", "兴隆村", ""]]
    imports.import_households(rs, ACTOR, _roster(tmp_path / "a.csv", first), AT)
    size = ledger_size(rs)
    second = [["H-2", "丙", person_id(603), "户主", "弱劳动力", "贫困户", "", "兴隆村", ""],  # a change before it
              ["H-1", "乙", b, "户主", "有劳动能力", "贫困户", "", "兴隆村", ""],
              ["H-1", "甲", a, "配偶", "有劳动能力", "贫困户", "", "兴隆村", ""]]
    result = imports.import_households(rs, ACTOR, _roster(tmp_path / "b.csv", second), AT)
    assert [(e.row, e.column, e.household_no) for e in result.errors] == [(3, "与户主关系", "H-1")]
    assert a not in result.errors[0].message and "2310" in result.errors[0].message  # the head, masked
    assert not result.imported and ledger_size(rs) == size
    heads = rs.execute(select(Person.id_number).where(Person.relation == "户主").order_by(Person.id)).scalars().all()
    assert heads == [a, person_id(603)]
    assert reg.household_by_no(rs, "H-2").labor == "full"


def test_cells_an_import_echoes_in_its_errors_have_long_numbers_masked(rs: Session, tmp_path: Path) -> None:
    """A name with a comma in a plain csv moves every later cell one column on: the ID number lands in the
    relation column and the phone in the exit year's."""
    line = f"H-1,王,小明,{person_id(701)},户主,有劳动能力,贫困户,,兴隆村,13812345678"
    path = tmp_path / "shifted.csv"
    path.write_text("户编号,姓名,身份证号,与户主关系,劳动能力,户类型,脱贫年度,所属村,联系电话\n" + line + "\n",
                    encoding="utf-8")
    result = imports.import_households(rs, ACTOR, path, AT)
    assert result.errors and not result.imported
    text = " ".join(e.message for e in result.errors)
    assert "无法识别" in text and not LONG_NUMBER.search(text), text


def test_a_record_naming_a_person_by_an_all_digit_id_number_looks_it_up_and_never_echoes_it(rs: Session) -> None:
    hh = household(rs, "H-1", 1)
    number = reg.members(rs, hh.id)[0].id_number
    assert number.isdigit()
    lines = records.record_all(rs, ACTOR, "death", {"person_id": number, "on": "2025-03-01"}, AT)
    assert len(lines) == 1 and rs.get(Person, reg.members(rs, hh.id)[0].id).life_state == "deceased"
    unknown = person_id(999)
    with pytest.raises(NotFound) as exc:
        records.record_all(rs, ACTOR, "death", {"person_id": int(unknown[:-1] + "0") if unknown[-1] == "X"
                                                else int(unknown), "on": "2025-03-01"}, AT)
    assert not LONG_NUMBER.search(exc.value.text())


def test_a_failed_statement_never_carries_its_parameters_and_the_crash_log_masks_the_rest(rs: Session) -> None:
    """Engines hide a statement's parameters from its error; PostgreSQL's own detail still quotes the key, so
    the web's crash log keeps the error's first line only, with long numbers masked."""
    from daipin.http.errors import crash_report

    hh = household(rs, "H-1", 1)
    number = reg.members(rs, hh.id)[0].id_number
    with pytest.raises(IntegrityError) as exc, rs.begin_nested():
        rs.add(Person(household_id=hh.id, county_code="231002", name="重复", id_number=number, relation="子",
                      labor="full", health_note="糖尿病"))
        rs.flush()
    assert "糖尿病" not in str(exc.value) and "hidden" in str(exc.value)
    report = crash_report(exc.value)
    assert report.startswith("IntegrityError: ") and "test_bad_input.py" in report
    assert number not in report and "糖尿病" not in report and not LONG_NUMBER.search(report.splitlines()[0])


def test_the_cli_refuses_a_household_with_a_bad_date_in_one_line_without_its_phone_or_account(
        cli_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    regions = [{"code": "231002", "name": "东安区", "level": "district"},
               {"code": TOWN, "name": "兴隆镇", "level": "township"},
               {"code": VILLAGE, "name": "兴隆村", "level": "village"}]
    (tmp_path / "r.json").write_text(json.dumps(regions, ensure_ascii=False), encoding="utf-8")
    assert runner.invoke(app, ["record", "region", str(tmp_path / "r.json")]).exit_code == 0
    household_record = {"household_no": "H-1", "village_code": VILLAGE, "status": "poor", "status_since": 2020,
                        "phone": "13812345678", "bank_account": "6222021234567890123", "members": [MEMBER]}
    (tmp_path / "h.json").write_text(json.dumps(household_record, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(app, ["record", "household", str(tmp_path / "h.json")])
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.output.startswith("错误 / error: [0].status_since:") or "status_since: 状态起始日期" in result.output, \
        result.output
    assert "Traceback" not in result.output and result.output.count("\n") == 1
    assert not LONG_NUMBER.search(result.output), result.output


def test_the_cli_turns_any_statement_error_into_one_line(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """A value the driver refuses (not only an error from the database) ends the command in one line, exit 2."""
    from sqlalchemy.exc import StatementError

    import daipin.cli as cli

    def refuse() -> None:
        raise StatementError("(builtins.TypeError) SQLite Date type only accepts Python date objects as input.",
                             "INSERT INTO households ...", None, TypeError("dates only"))

    monkeypatch.setattr(cli, "app", refuse)
    with pytest.raises(SystemExit) as done:
        cli.main()
    err = capsys.readouterr().err
    assert done.value.code == 2 and err.count("\n") == 1 and "Traceback" not in err and "dates only" in err


def test_a_number_coded_with_a_county_created_after_the_birth_is_valid_and_one_abolished_before_is_not(
        rs: Session) -> None:
    """A resident ID number is coded with the county of residence when it is assigned: someone born in 1970 in
    东安区 (231002, in force since 1983) carries 231002; a number of 崇文区 (110103, abolished in 2010) cannot
    belong to someone born in 2011."""
    from daipin.domain.identity import make_resident_id

    older = make_resident_id("231002", date(1970, 1, 1), 1, "M")
    hh = reg.register_household(rs, ACTOR, household_no="H-1", village_code=VILLAGE, status="poor", at=AT,
                                members=[{**MEMBER, "id_number": older}])
    assert reg.members(rs, hh.id)[0].birth_date == date(1970, 1, 1)
    assert imports.check_resident_id_fast(older)[1] is None
    late = make_resident_id("110103", date(2011, 1, 1), 1, "M")
    _refused(rs, lambda: reg.register_household(rs, ACTOR, household_no="H-2", village_code=VILLAGE, status="poor",
                                                members=[{**MEMBER, "id_number": late}], at=AT),
             "members[0].id_number")
    assert imports.check_resident_id_fast(late)[1] is not None
    # An ID number written as a whole number (unquoted in YAML or JSON) is read as its digits.
    digits = make_resident_id("231002", date(1990, 6, 1), 2, "F")
    assert digits.isdigit() or digits.endswith("X")
    if digits.isdigit():
        hh = reg.register_household(rs, ACTOR, household_no="H-3", village_code=VILLAGE, status="poor", at=AT,
                                    members=[{**MEMBER, "id_number": int(digits)}])
        assert reg.members(rs, hh.id)[0].id_number == digits


def test_village_flags_are_true_or_false_and_a_repeated_status_change_is_refused(rs: Session) -> None:
    for flag in ("false", "否", 0):
        _refused(rs, lambda f=flag: reg.create_region(rs, ACTOR, code="231002001009", name="九村", level="village",
                                                      poor_village=f, at=AT), "poor_village")  # type: ignore[arg-type]
    hh = household(rs, "H-1", 1)
    dynamic.change_household_status(rs, ACTOR, hh.id, "exited", date(2025, 1, 1), "脱贫", AT, exit_year=2025)
    _refused(rs, lambda: dynamic.change_household_status(rs, ACTOR, hh.id, "exited", date(2025, 1, 1), "脱贫", AT,
                                                     exit_year=2025), "status")


def test_a_yaml_record_s_on_is_the_date_not_a_boolean(cli_url: str, tmp_path: Path) -> None:
    """To YAML 1.1 `on` is a boolean; records read YAML 1.2's booleans only, so `on: 2026-07-01` is a date."""
    from daipin.commands.calc import load_document

    assert load_document("on: 2026-07-01\nflag: yes\nok: true\n", name="a.yaml") == {
        "on": "2026-07-01", "flag": "yes", "ok": True}
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    (tmp_path / "r.yaml").write_text(
        "- {code: '231002', name: 东安区, level: district}\n- {code: '231002001', name: 兴隆镇, level: township}\n"
        "- {code: '231002001001', name: 兴隆村, level: village, poor_village: true}\n", encoding="utf-8")
    assert runner.invoke(app, ["record", "region", str(tmp_path / "r.yaml")]).exit_code == 0
    (tmp_path / "h.json").write_text(json.dumps({"household_no": "H-1", "village_code": VILLAGE, "status": "poor",
                                                 "members": [MEMBER]}, ensure_ascii=False), encoding="utf-8")
    done = runner.invoke(app, ["record", "household", str(tmp_path / "h.json")])
    assert done.exit_code == 0, done.output
    (tmp_path / "d.yaml").write_text(f"person: '{MEMBER['id_number']}'\non: 2026-07-01\n", encoding="utf-8")
    result = runner.invoke(app, ["record", "death", str(tmp_path / "d.yaml")])
    assert result.exit_code == 0, result.output


def test_errors_name_fields_as_a_record_names_them_and_say_what_is_missing(rs: Session) -> None:
    p = project(rs)
    own, other = household(rs, "H-1", 1), household(rs, "H-2", 2)
    stranger = reg.members(rs, other.id)[0].id_number
    work = {"kind": "public_welfare_post", "household": "H-1", "person": stranger, "post": "保洁",
            "period_start": "2025-01-01", "period_end": "2025-01-31", "days": "20", "daily_wage_fen": 5000}
    assert _refused(rs, lambda: records.record_all(rs, ACTOR, "work", [work], AT), "[0].person")
    entity = rs.get(Entity, p.entity_id)
    assert entity is not None
    _refused(rs, lambda: records.record_all(rs, ACTOR, "credit", {"entity": entity.uscc, "status": "bogus",
                                                                  "since": "2025-01-01", "reason": "核查"}, AT),
             "status")
    err = _refused(rs, lambda: reg.register_household(
        rs, ACTOR, household_no="H-X", village_code=VILLAGE, status="poor", at=AT,
        members=[{k: v for k, v in MEMBER.items() if k != "labor"}]), "members[0].labor")
    assert err.message_zh == "缺少劳动能力" and own.id
