"""Pages name a refused field by its label, never by the machine's name (the API's `field` keeps that)."""

from __future__ import annotations

import re
from pathlib import Path

from daipin.domain.errors import InputError
from daipin.web.fields import error_text, field_label, page_message

SRC = Path(__file__).resolve().parents[2] / "src" / "daipin"


def test_the_field_paths_of_the_issue_read_as_labels() -> None:
    assert field_label("eligible.adults") == "应到 · 成年人数"
    assert field_label("household_id") == "农户"
    assert field_label("actor") == "操作人权限"
    assert field_label("members[0].id_number") == "家庭成员 · 第1项 · 身份证号"
    assert field_label("members[0].id_number", "en") == "members · #1 · ID number"
    assert field_label("funding[1].amount_fen") == "资金来源 · 第2项 · 金额"
    assert field_label("terms.annual_rent_fen") == "协议条款 · 年租金"  # a term by its name in the contract rules
    assert field_label("t_annual_rent_fen") == "年租金"
    assert field_label("no_such_field") == "" and field_label("[3]") == "" and field_label(None) == ""


def test_a_message_quoting_its_field_quotes_the_label_instead() -> None:
    assert page_message("输入有误：household_id 应为整数", "household_id") == "输入有误：农户 应为整数"
    assert page_message("无权进行此操作", "actor") == "无权进行此操作"
    err = InputError("输入有误：exit_year 应为整数", "exit_year: not an integer", "exit_year")
    assert error_text(err) == "输入有误：脱贫年度 应为整数"
    assert error_text(err, "en") == "exit year: not an integer"


def test_every_field_a_service_names_literally_has_a_label() -> None:
    named = set()
    for f in SRC.rglob("*.py"):
        named |= set(re.findall(r'field=f?"([a-z_][a-z_.]*)"', f.read_text(encoding="utf-8")))
    assert len(named) > 50
    assert sorted(n for n in named if not field_label(n)) == []
