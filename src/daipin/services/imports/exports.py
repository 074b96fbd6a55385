"""Exports of the registry (xlsx or csv, as the file's name says) with Chinese headers, for people to open, print
and send upward: a title row (what, the region, the day, 已脱敏), money as numbers of yuan, rates as percentages,
dates as dates, identifiers as text, the header frozen and printed on every page (`sheets.write_export`). ID
numbers, phones and bank accounts are always masked, so an export is not an import file: the household export
keeps the import's headers under a title row that says so, and the import refuses it in one line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Contract, Entity, FundingSource, Household, Person, Project, Region
from daipin.domain import vocabulary
from daipin.domain.errors import InputError
from daipin.domain.localtime import beijing_date
from daipin.domain.privacy import mask_bank, mask_free_text, mask_id, mask_phone
from daipin.services.imports.service import HEADER_OF
from daipin.services.shared import sheets
from daipin.services.shared.sheets import Column, Table

HOUSEHOLD_HEADERS = [HEADER_OF[k] for k in ("household_no", "head_name", "name", "id_number", "relation", "labor",
                                            "status", "exit_year", "township", "village", "phone", "bank_account",
                                            "poverty_cause")] + ["人员状态"]
HOUSEHOLD_KINDS = ["id", "text", "text", "id", "text", "text", "text", "int", "text", "text", "id", "id", "text",
                   "text"]


def _region(session: Session, code: str | None = None) -> str:
    """The name of the region an export covers: the village given, else the district's."""
    if code:
        return str(session.scalar(select(Region.name).where(Region.code == code)) or code)
    names = session.scalars(select(Region.name).where(Region.level == "district").order_by(Region.code)).all()
    return "、".join(names)


def _save(session: Session, out: Path | str, title: str, tables: list[Table], at: datetime | None, *,
          region: str | None = None, masked: bool = True) -> int:
    fmt = sheets.export_format(out)
    on = beijing_date(at or datetime.now(UTC))
    line = sheets.title_line(title, region if region is not None else _region(session), on, masked=masked)
    return sheets.write_export(out, fmt, line, tables)


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
    """One row per person under the import's headers; personal data masked."""
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
    return [[hh.household_no, mask_free_text(heads.get(hh.id, "")), mask_free_text(p.name), mask_id(p.id_number),
             p.relation, vocabulary.LABOR.zh(p.labor), vocabulary.HOUSEHOLD_STATUS.zh(hh.status), hh.exit_year,
             names.get(hh.village_code[:9], ""), names.get(hh.village_code, hh.village_code), mask_phone(hh.phone),
             mask_bank(hh.bank_account), mask_free_text(hh.poverty_cause), vocabulary.LIFE_STATE.zh(p.life_state)]
            for p, hh in data]


def export_households(session: Session, out: Path | str, village: str | None = None,
                      at: datetime | None = None) -> int:
    rows = household_rows(session, village)
    region = _region(session, _village_code(session, village)) if village else None
    columns = [Column(h, k) for h, k in zip(HOUSEHOLD_HEADERS, HOUSEHOLD_KINDS, strict=True)]
    return _save(session, out, "建档立卡农户", [Table("农户", columns, rows)], at, region=region)


def export_entities(session: Session, out: Path | str, at: datetime | None = None) -> int:
    names = dict(session.execute(select(Region.code, Region.name)).all())
    rows = [[mask_free_text(e.name), vocabulary.ENTITY_KIND.zh(e.kind), e.uscc, mask_free_text(e.legal_representative),
             names.get(e.region_code or e.county_code, e.region_code or e.county_code),
             vocabulary.CREDIT_STATUS.zh(e.credit_status), e.credit_since]
            for e in session.scalars(select(Entity).order_by(Entity.id))]
    columns = [Column("主体名称"), Column("主体类型"), Column("统一社会信用代码", "id"), Column("法定代表人"),
               Column("所在区划"), Column("信用状态"), Column("信用状态起始", "date")]
    return _save(session, out, "实施主体", [Table("实施主体", columns, rows)], at)


def export_projects(session: Session, out: Path | str, at: datetime | None = None) -> int:
    """Projects, their funding total and expected return; the funding sources one row each on a sheet of their
    own (xlsx)."""
    projects = list(session.scalars(select(Project).order_by(Project.code)))
    code_of = {p.id: p.code for p in projects}
    funding: list[list[Any]] = []
    total: dict[int, int] = {}
    for f in session.scalars(select(FundingSource).order_by(FundingSource.project_id, FundingSource.id)):
        total[f.project_id] = total.get(f.project_id, 0) + f.amount_fen
        funding.append([code_of.get(f.project_id, ""), f.source, f.amount_fen])
    entities = {e.id: mask_free_text(e.name) for e in session.scalars(select(Entity))}
    names = dict(session.execute(select(Region.code, Region.name)).all())
    rows = [[p.code, mask_free_text(p.name), p.category, entities.get(p.entity_id, ""),
             names.get(p.township_code, p.township_code), names.get(p.village_code, p.village_code or "") or "",
             total.get(p.id, 0), p.expected_return, vocabulary.PROJECT_STATUS.zh(p.status)] for p in projects]
    columns = [Column("项目编号", "id"), Column("项目名称"), Column("产业类别"), Column("实施主体"), Column("乡镇"),
               Column("村"), Column("资金合计", "money"), Column("预期年收益率", "rate"), Column("状态")]
    sources = Table("资金来源", [Column("项目编号", "id"), Column("资金来源"), Column("金额", "money")], funding)
    return _save(session, out, "项目", [Table("项目", columns, rows), sources], at, masked=False)


def export_contracts(session: Session, out: Path | str, at: datetime | None = None) -> int:
    projects = {p.id: p.code for p in session.scalars(select(Project))}
    households = {h.id: h.household_no for h in session.scalars(select(Household))}
    rows = [[c.code, vocabulary.BENEFIT_MODEL.zh(c.model), projects.get(c.project_id, ""),
             households.get(c.payee_household_id, "") if c.payee_household_id else c.payee_village_code,
             c.start_date, c.end_date, vocabulary.CONTRACT_STATUS.zh(c.status), c.version]
            for c in session.scalars(select(Contract).order_by(Contract.code))]
    columns = [Column("协议编号", "id"), Column("联结模式"), Column("项目编号", "id"), Column("受益方", "id"),
               Column("起始日期", "date"), Column("终止日期", "date"), Column("状态"), Column("版本", "int")]
    return _save(session, out, "利益联结协议", [Table("协议", columns, rows)], at, masked=False)
