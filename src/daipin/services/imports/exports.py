"""Exports of the registry to xlsx with Chinese headers; ID numbers, phones and bank accounts are always masked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Contract, Entity, FundingSource, Household, Person, Project, Region
from daipin.domain import vocabulary
from daipin.domain.errors import InputError
from daipin.domain.money import format_yuan
from daipin.domain.privacy import mask_bank, mask_free_text, mask_id, mask_phone
from daipin.services.imports.service import HEADER_OF
from daipin.services.shared import sheets

HOUSEHOLD_HEADERS = [HEADER_OF[k] for k in ("household_no", "head_name", "name", "id_number", "relation", "labor",
                                            "status", "exit_year", "township", "village", "phone", "bank_account",
                                            "poverty_cause")] + ["人员状态"]


def _write(out: Path | str, title: str, headers: list[str], rows: list[list[Any]]) -> int:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title)
    sheets.append(ws, headers)
    for r in rows:
        sheets.append(ws, r)
    wb.save(str(out))
    return len(rows)


def _village_code(session: Session, village: str) -> str:
    """A village given by its code or (where no other village has it) its name."""
    codes = session.scalars(select(Region.code).where(Region.level == "village",
                                                      (Region.code == village) | (Region.name == village))).all()
    if len(codes) != 1:
        raise InputError(f"村 {village} 不存在" if not codes else f"有多个村叫 {village}，请用村代码",
                         f"unknown village {village}" if not codes else f"several villages are called {village}: "
                         "give its code", field="village")
    return codes[0]


def household_rows(session: Session, village: str | None = None) -> list[list[Any]]:
    """One row per person, as the import reads them back; personal data masked."""
    names: dict[str, str] = {str(r[0]): str(r[1]) for r in session.execute(select(Region.code, Region.name))}
    q = (select(Person, Household).join(Household, Person.household_id == Household.id)
         .order_by(Household.household_no, Person.id))
    if village:
        q = q.where(Household.village_code == _village_code(session, village))
    heads: dict[int, str] = {}
    data = session.execute(q).all()
    for p, hh in data:
        if p.relation == "户主":
            heads[hh.id] = p.name
    # Text a person typed (names, the poverty cause) masked as the public reads free text: a number typed into it
    # (by an older import or a spreadsheet's wrong column) is never written out in clear.
    return [[hh.household_no, mask_free_text(heads.get(hh.id, "")), mask_free_text(p.name), mask_id(p.id_number), p.relation, vocabulary.LABOR.zh(p.labor),
             vocabulary.HOUSEHOLD_STATUS.zh(hh.status), hh.exit_year or "", names.get(hh.village_code[:9], ""),
             names.get(hh.village_code, hh.village_code), mask_phone(hh.phone), mask_bank(hh.bank_account),
             mask_free_text(hh.poverty_cause), vocabulary.LIFE_STATE.zh(p.life_state)] for p, hh in data]


def export_households(session: Session, out: Path | str, village: str | None = None) -> int:
    return _write(out, "农户", HOUSEHOLD_HEADERS, household_rows(session, village))


def export_entities(session: Session, out: Path | str) -> int:
    rows = [[mask_free_text(e.name), vocabulary.ENTITY_KIND.zh(e.kind), e.uscc, mask_free_text(e.legal_representative), e.region_code or e.county_code,
             vocabulary.CREDIT_STATUS.zh(e.credit_status), e.credit_since.isoformat() if e.credit_since else ""]
            for e in session.scalars(select(Entity).order_by(Entity.id))]
    return _write(out, "实施主体", ["主体名称", "主体类型", "统一社会信用代码", "法定代表人", "所在区划", "信用状态", "信用状态起始"],
                  rows)


def export_projects(session: Session, out: Path | str) -> int:
    funding: dict[int, list[str]] = {}
    for f in session.scalars(select(FundingSource).order_by(FundingSource.id)):
        funding.setdefault(f.project_id, []).append(f"{f.source} {format_yuan(f.amount_fen)}元")
    entities = {e.id: mask_free_text(e.name) for e in session.scalars(select(Entity))}
    rows = [[p.code, mask_free_text(p.name), p.category, entities.get(p.entity_id, ""), p.township_code, p.village_code or "",
             "；".join(funding.get(p.id, [])), p.expected_return or "", vocabulary.PROJECT_STATUS.zh(p.status)]
            for p in session.scalars(select(Project).order_by(Project.code))]
    return _write(out, "项目", ["项目编号", "项目名称", "产业类别", "实施主体", "乡镇", "村", "资金来源", "预期年收益率", "状态"],
                  rows)


def export_contracts(session: Session, out: Path | str) -> int:
    projects = {p.id: p.code for p in session.scalars(select(Project))}
    households = {h.id: h.household_no for h in session.scalars(select(Household))}
    rows = [[c.code, vocabulary.BENEFIT_MODEL.zh(c.model), projects.get(c.project_id, ""),
             households.get(c.payee_household_id, "") if c.payee_household_id else c.payee_village_code,
             c.start_date.isoformat(), c.end_date.isoformat(), vocabulary.CONTRACT_STATUS.zh(c.status), c.version]
            for c in session.scalars(select(Contract).order_by(Contract.code))]
    return _write(out, "协议", ["协议编号", "联结模式", "项目编号", "受益方", "起始日期", "终止日期", "状态", "版本"], rows)
