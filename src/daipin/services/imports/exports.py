"""Exports of the registry (xlsx or csv, as the file's name says) with Chinese headers, for people to open, print
and send upward: a title row (what, the region, the day, 已脱敏), money as numbers of yuan, rates as percentages,
dates as dates, identifiers as text, the header frozen and printed on every page (`sheets.write_export`). ID
numbers, phones and bank accounts are always masked, so an export is not an import file: the household export
keeps the import's headers under a title row that says so, and the import refuses it in one line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Contract, Entity, FundingSource, Household, Person, Project, Region
from daipin.domain import access, vocabulary
from daipin.domain.actors import Actor
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
             names.get(p.township_code, p.township_code), names.get(p.village_code or "", p.village_code or ""),
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


# ---------------------------------------------------------------- the lists the pages and the API export

DOWNLOADS = ("matters", "payments", "dues", "dashboard", "households", "entities", "projects", "contracts")


@dataclass(frozen=True)
class Download:
    name: str  # the file's name (Chinese), with its suffix
    data: bytes
    media_type: str


def _download(fmt: str, stem: str, title: str, tables: list[Table]) -> Download:
    fmt = sheets.export_format(f"x.{fmt}")
    return Download(f"{stem}.{fmt}", sheets.export_bytes(fmt, title, tables), sheets.MEDIA_TYPES[fmt])


def _reach_name(session: Session, actor: Actor, action: access.Action) -> str:
    """The name of the region an actor's list covers (its reach of `action`; the district's for a district-wide
    reach)."""
    prefix = access.reach(actor, action).prefix or actor.region[:6]
    return _region(session, prefix) if prefix else _region(session)


def matters_download(session: Session, actor: Actor, fmt: str, today: date, state: str | None = None) -> Download:
    """The matters the actor reads (一事一议), one row each."""
    from daipin.services.matters import views as matters

    rows = [[m["id"], m["title"], m["kind_label"], m["state_label"], m["region_name"], m["year"], m["updated"]]
            for m in matters.list_for(session, actor, state=state, limit=200)["rows"]]
    columns = [Column("编号", "int"), Column("事项"), Column("类别"), Column("状态"), Column("辖区"),
               Column("年度", "int"), Column("最近更新（北京时间）")]
    title = sheets.title_line("事项清单", _reach_name(session, actor, "matter.detail"), today, masked=False)
    return _download(fmt, "事项清单", title, [Table("事项", columns, rows)])


def payments_download(session: Session, actor: Actor, fmt: str, today: date, year: int,
                      region: str | None = None) -> Download:
    """A year's pools and payment batches in the actor's reach (of `region`, if given), with their sums."""
    from daipin.services.payments import views as payments

    report = payments.district_pools(session, actor, year, region)
    data = payments.pools_xlsx(report, sheets.export_format(f"x.{fmt}"), today,
                               _region(session, region) if region else _reach_name(session, actor, "payment.read"))
    return Download(f"{year}年度支付批次.{fmt}", data, sheets.MEDIA_TYPES[fmt])


def dues_download(session: Session, actor: Actor, fmt: str, today: date, entity_id: int) -> Download:
    """An entity's dues, payments and arrears per contract (the lines in the actor's reach, as its page shows)."""
    from daipin.services.dashboard import views as dashboard
    from daipin.services.registry import views as registry

    e = registry.entity(session, actor, entity_id)
    report = dashboard.entity_dues(session, actor, entity_id)
    rows: list[list[Any]] = [[d["year"], d["project_code"], d["project"], d["contract"], d["payee"], d["payee_name"],
                              d["due_fen"], d["paid_fen"], d["arrears_fen"], d["basis"]] for d in report["dues"]]
    rows.append(["合计", "", "", "", "", "", report["due_total_fen"], report["paid_total_fen"],
                 report["arrears_total_fen"], f"另有 {report['dues_outside']} 笔不在本人查看范围内"
                 if report["dues_outside"] else ""])
    columns = [Column("年度", "int"), Column("项目编号", "id"), Column("项目"), Column("协议编号", "id"),
               Column("受益方", "id"), Column("受益方名称"), Column("应付", "money"), Column("已付", "money"),
               Column("拖欠", "money"), Column("计算依据")]
    name = mask_free_text(e.name)
    title = sheets.title_line(f"{name} 应付与拖欠", _reach_name(session, actor, "entity.read"), today, masked=False)
    return _download(fmt, f"应付与拖欠-{entity_id}", title, [Table("应付与拖欠", columns, rows)])


def dashboard_download(session: Session, actor: Actor, fmt: str, today: date) -> Download:
    """The dashboard's figures: the counts, linked households by model, income per household by year, arrears by
    entity (csv: the counts)."""
    from daipin.services.dashboard import views as dashboard

    d = dashboard.overview(session, actor=actor, today=today)
    counts = Table("概况", [Column("指标"), Column("数值", "int")], [
        ["农户", d.households], ["贫困户与监测户", d.poor_households], ["联结农户", d.linked_households],
        ["已结算项目", d.settled_projects]])
    arrears_total = Table("拖欠", [Column("实施主体"), Column("拖欠", "money")],
                          [[name, fen] for name, fen in d.arrears_by_entity] + [["合计", d.arrears_total_fen]])
    tables = [counts,
              Table("联结农户", [Column("利益联结模式"), Column("联结农户", "int")], [list(r) for r in d.by_model]),
              Table("户均收益", [Column("支付年度", "id"), Column("户均收益", "money")],
                    [list(r) for r in d.income_by_year]),
              arrears_total]
    title = sheets.title_line("工作台数据", d.region_name, today, masked=False)
    return _download(fmt, "工作台数据", title, tables)


def households_download(session: Session, actor: Actor, fmt: str, today: date, *, q: str = "",
                        status: str | None = None, village: str | None = None) -> Download:
    """The household search's result (personal data masked)."""
    from daipin.services.registry import views as registry

    fmt = sheets.export_format(f"x.{fmt}")
    data = registry.households_xlsx(session, actor, q=q, status=status, village=village, fmt=fmt, today=today)
    return Download(f"农户.{fmt}", data, sheets.MEDIA_TYPES[fmt])


# A list's export holds at most this many rows (a page of the list at a time, as the page reads it).
LIST_EXPORT_ROWS = 50_000


def _all_pages(search: Any) -> list[dict[str, Any]]:
    """Every row of a list the actor reads, page by page (`search(offset, limit)`), up to `LIST_EXPORT_ROWS`."""
    rows: list[dict[str, Any]] = []
    offset = 0
    while offset < LIST_EXPORT_ROWS:
        page = search(offset, 200)
        rows += page["items"]
        if not page["more"]:
            break
        offset += 200
    return rows


def entities_download(session: Session, actor: Actor, fmt: str, today: date, *, q: str = "",
                      kind: str | None = None, credit: str | None = None, region: str | None = None) -> Download:
    """The entity list as filtered on its page (names with any number typed into them masked)."""
    from daipin.services.registry import views as registry

    found = _all_pages(lambda off, lim: registry.search_entities(session, actor, q=q, kind=kind, credit=credit,
                                                                 region=region, offset=off, limit=lim))
    rows = [[mask_free_text(e["name"]), e["kind"], e["uscc"], e["region"], e["credit"]] for e in found]
    columns = [Column("主体名称"), Column("主体类型"), Column("统一社会信用代码", "id"), Column("所在区划"),
               Column("信用状态")]
    title = sheets.title_line("实施主体", _region(session, region) if region else
                              _reach_name(session, actor, "entity.read"), today, masked=False)
    return _download(fmt, "实施主体", title, [Table("实施主体", columns, rows)])


def projects_download(session: Session, actor: Actor, fmt: str, today: date, *, q: str = "",
                      status: str | None = None, category: str | None = None, region: str | None = None,
                      year: int | None = None) -> Download:
    """The project list as filtered on its page, with each project's funding total."""
    from daipin.services.registry import views as registry

    found = _all_pages(lambda off, lim: registry.search_projects(
        session, actor, q=q, status=status, category=category, region=region, year=year, offset=off, limit=lim))
    funding: dict[int, int] = {}
    ids = [p["id"] for p in found]
    for i in range(0, len(ids), 1000):
        for pid, amount in session.execute(select(FundingSource.project_id, func.sum(FundingSource.amount_fen))
                                           .where(FundingSource.project_id.in_(ids[i:i + 1000]))
                                           .group_by(FundingSource.project_id)):
            funding[int(pid)] = int(amount or 0)
    rows = [[p["code"], mask_free_text(p["name"]), vocabulary.PROJECT_CATEGORY.zh(p["category"]),
             mask_free_text(p["entity"]), p["township"], p["village"], p["start_year"], funding.get(p["id"], 0),
             p["status_label"]] for p in found]
    columns = [Column("项目编号", "id"), Column("项目名称"), Column("产业类别"), Column("实施主体"), Column("乡镇"),
               Column("村"), Column("开始年度", "int"), Column("资金合计", "money"), Column("状态")]
    title = sheets.title_line("扶贫产业项目", _region(session, region) if region else
                              _reach_name(session, actor, "project.read"), today, masked=False)
    return _download(fmt, "扶贫产业项目", title, [Table("项目", columns, rows)])


def contracts_download(session: Session, actor: Actor, fmt: str, today: date, *, q: str = "",
                       model: str | None = None, status: str | None = None, region: str | None = None,
                       year: int | None = None) -> Download:
    """The contract list as filtered on its page; each payee named as the page names it for this actor (masked
    outside the payee's region), never an ID number, phone or account."""
    from daipin.services.registry import views as registry

    found = _all_pages(lambda off, lim: registry.search_contracts(
        session, actor, q=q, model=model, status=status, region=region, year=year, offset=off, limit=lim))
    rows = [[c["code"], c["model_label"], mask_free_text(c["payee"]["name"]), mask_free_text(c["project"]),
             mask_free_text(c["entity"]), date.fromisoformat(c["start"]), date.fromisoformat(c["end"]),
             c["status_label"], c["version"]] for c in found]
    columns = [Column("协议编号", "id"), Column("联结模式"), Column("受益方"), Column("项目"), Column("实施主体"),
               Column("起始日期", "date"), Column("终止日期", "date"), Column("状态"), Column("版本", "int")]
    title = sheets.title_line("利益联结协议", _region(session, region) if region else
                              _reach_name(session, actor, "contract.read"), today, masked=True)
    return _download(fmt, "利益联结协议", title, [Table("协议", columns, rows)])
