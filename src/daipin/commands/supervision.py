"""`daipin supervise …`: the red-flag scan of a district, findings and their steps, inspections, overdue
rectifications, thresholds, credit listings, and the registry records the rules read (SUPERVISION.md)."""

from __future__ import annotations

import json
from typing import Any

import typer

from daipin.commands import now, unit_of_work
from daipin.commands.workflow import AsOpt, parse_actor

supervise_app = typer.Typer(help="监督 supervision: 风险预警扫描、问题线索、检查整改、失信认定", no_args_is_help=True)
credit_app = typer.Typer(help="失信认定 credit listing: 告知、异议、答复、生效、修复", no_args_is_help=True)
record_app = typer.Typer(help="预警所需登记 registry records the rules read", no_args_is_help=True)
FormatOpt = typer.Option("table", "--format", help="table | json")
CountyArg = typer.Argument(..., help="区县代码（6位）")


def _echo(out: Any, format: str) -> bool:
    if format == "json":
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2, default=str))
        return True
    return False


@supervise_app.command("scan")
def scan(county: str = CountyArg, as_: str = AsOpt, format: str = FormatOpt) -> None:
    """扫描全区风险预警（可重复运行：已发现的不重复登记，原因消失的标注而不删除）/ scan a district."""
    from daipin.services.supervision import service

    with unit_of_work() as s:
        r = service.scan(s, parse_actor(as_), county, now(s))
        out = {"county": r.county, "opened": r.opened, "came_back": r.came_back, "gone": r.gone,
               "causes_by_rule": r.by_rule}
    if not _echo(out, format):
        typer.echo(f"区县 {county}：新发现 {len(r.opened)} 条，原因复现 {len(r.came_back)} 条，原因已消除 {len(r.gone)} 条")
        for rule, n in sorted(r.by_rule.items()):
            typer.echo(f"  {rule}\t{n}")


@supervise_app.command("watch")
def watch(every_hours: float = typer.Option(24.0, "--every-hours", help="间隔小时数"),
          once: bool = typer.Option(False, "--once", help="只运行一次"), as_: str = AsOpt) -> None:
    """按计划扫描各区并逐级提请督办，与网站同时运行（如由 systemd 启动）/ the scheduled scan beside the server."""
    import time as _time

    from daipin.services.supervision import service

    while True:
        with unit_of_work() as s:
            out = service.scheduled_run(s, parse_actor(as_), now(s))
        for county, n in out.items():
            typer.echo(f"{county}：新发现 {n['opened']}，原因消除 {n['gone']}，原因复现 {n['came_back']}，"
                       f"提请督办 {n['escalated']}")
        if once:
            return
        _time.sleep(max(60.0, every_hours * 3600))


@supervise_app.command("findings")
def findings(status: str = typer.Option(None, "--status", help="open | assigned | rectified | verified | dismissed"),
             rule: str = typer.Option(None, "--rule", help="规则编号，如 NO_LINK"), as_: str = AsOpt,
             format: str = FormatOpt, xlsx: str = typer.Option(None, "--xlsx", help="导出到 xlsx 文件")) -> None:
    """问题线索列表（或导出）/ the findings in reach (or their export)."""
    from daipin.domain.localtime import beijing_date
    from daipin.services.supervision import exports, views

    if xlsx:
        with unit_of_work() as s:
            n = exports.export_findings(s, parse_actor(as_), xlsx)
        typer.echo(f"已导出 {n} 行到 {xlsx}")
        return
    with unit_of_work() as s:
        rows = views.findings(s, parse_actor(as_), status=status, rule=rule, today=beijing_date(now(s)))
    if not _echo(rows, format):
        for r in rows:
            late = "  逾期" if r["overdue"] else ""
            typer.echo(f"{r['id']}\t{r['rule']}\t{r['severity_label']}\t{r['region_name']}\t{r['status_label']}\t"
                       f"{r['summary']}{late}")


@supervise_app.command("step")
def step(finding: int = typer.Argument(..., help="问题线索编号"),
         action: str = typer.Argument(..., help="assign | rectify | verify | reject | dismiss"),
         note: str = typer.Option("", "--note", help="说明：整改情况、退回或排除的理由"),
         unit: str = typer.Option(None, "--unit", help="责任单位（区划代码），交办时"),
         deadline: str = typer.Option(None, "--deadline", help="整改期限 YYYY-MM-DD，交办时"), as_: str = AsOpt) -> None:
    """处理问题线索 / one step on a finding."""
    from daipin.services.supervision import commands

    with unit_of_work() as s:
        cmd = commands.FindingStep.from_form({"step": action, "note": note, "unit": unit, "deadline": deadline})
        f = commands.take_step(s, parse_actor(as_), finding, cmd, at=now(s))
        typer.echo(f"问题线索 {f.id}：{f.status}")


@supervise_app.command("inspect")
def inspect(file: str = typer.Argument(..., help="检查记录 JSON 文件（region, inspected_on, inspectors, place, "
                                                "checked, result, findings）"), as_: str = AsOpt) -> None:
    """登记检查记录，可同时提出问题线索 / record an inspection and the findings it opens."""
    from pathlib import Path

    from daipin.services.supervision import commands

    data = json.loads(Path(file).read_text(encoding="utf-8"))
    with unit_of_work() as s:
        ins, opened = commands.record_inspection(s, parse_actor(as_), commands.RecordInspection.parse(data),
                                                 at=now(s))
        typer.echo(f"已登记检查 {ins.id}，提出问题线索 {len(opened)} 条：{[f.id for f in opened]}")


@supervise_app.command("inspections")
def inspections(as_: str = AsOpt, format: str = FormatOpt,
                xlsx: str = typer.Option(None, "--xlsx", help="导出到 xlsx 文件")) -> None:
    """检查记录列表（或导出）/ the inspections in reach (or their export)."""
    from daipin.services.supervision import exports, views

    with unit_of_work() as s:
        if xlsx:
            n = exports.export_inspections(s, parse_actor(as_), xlsx)
            typer.echo(f"已导出 {n} 行到 {xlsx}")
            return
        rows = views.inspections(s, parse_actor(as_))
    if not _echo(rows, format):
        for r in rows:
            typer.echo(f"{r['id']}\t{r['inspected_on']}\t{r['region_name']}\t{r['inspectors']}\t{r['checked']}")


@supervise_app.command("overdue")
def overdue(as_: str = AsOpt, format: str = FormatOpt) -> None:
    """逾期未整改（待我处理）/ overdue rectifications the actor has to follow up."""
    from daipin.domain.localtime import beijing_date
    from daipin.services.supervision import views

    with unit_of_work() as s:
        rows = views.overdue(s, parse_actor(as_), beijing_date(now(s)))
    if not _echo(rows, format):
        for r in rows:
            typer.echo(f"{r['id']}\t{r['responsible_unit_name']}\t期限 {r['deadline']}\t逾期 {r['days_overdue']} 天\t"
                       f"{r['summary']}")


@supervise_app.command("indicators")
def performance(year: int = typer.Option(..., "--year"), as_: str = AsOpt, format: str = FormatOpt) -> None:
    """项目和村的绩效指标 / performance indicators per project and village."""
    from daipin.domain.localtime import beijing_date
    from daipin.domain.money import format_yuan
    from daipin.services.supervision import indicators

    with unit_of_work() as s:
        actor = parse_actor(as_)
        out = {"projects": indicators.projects(s, actor, year=year, today=beijing_date(now(s))),
               "villages": indicators.villages(s, actor, year=year)}
    if not _echo(out, format):
        for p in out["projects"]:
            typer.echo(f"项目 {p['project']}\t受益户 {p['households']}\t按期兑付 {p['dues_on_time']}/{p['dues']}\t"
                       f"未销号问题 {p['open_findings']}")
        for v in out["villages"]:
            typer.echo(f"村 {v['name']}\t受益户 {v['households']}\t户均 {format_yuan(v['per_household_fen'])} 元\t"
                       f"未销号问题 {v['open_findings']}")


@supervise_app.command("escalate")
def escalate(county: str = CountyArg, as_: str = AsOpt) -> None:
    """逾期整改逐级提请督办（乡镇→区级）/ flag overdue rectifications upward."""
    from daipin.services.supervision import service

    with unit_of_work() as s:
        changed = service.escalate_overdue(s, parse_actor(as_), county, now(s))
        typer.echo(f"提请督办 {len(changed)} 条")


@supervise_app.command("thresholds")
def thresholds(county: str = CountyArg, set_: list[str] = typer.Option([], "--set", help="key=value，可重复"),
               as_: str = AsOpt) -> None:
    """查看或修改预警阈值 / show or set the county's thresholds."""
    from daipin.domain.errors import InputError
    from daipin.services.supervision import service, views

    with unit_of_work() as s:
        actor = parse_actor(as_)
        if set_:
            values = {}
            for item in set_:
                if "=" not in item:
                    raise InputError("--set 应写作 key=value", "--set takes key=value", field="set")
                k, v = item.split("=", 1)
                values[k.strip()] = v.strip()
            service.set_thresholds(s, actor, county, values, now(s))
        for t in views.thresholds(s, actor, county):
            typer.echo(f"{t['key']}\t{t['value']}\t（默认 {t['default']}）\t{t['label']}")


@supervise_app.command("performance")
def performance_setting(county: str = CountyArg,
                        mode: str | None = typer.Option(None, "--mode", help="manual 人工填写 | indicators 按绩效指标计算"),
                        set_: list[str] = typer.Option([], "--set", help="参数 key=value，可重复：performance_on_time_weight"
                                                       "、performance_income_weight、performance_finding_penalty、"
                                                       "performance_min、performance_max"),
                        as_: str = AsOpt) -> None:
    """查看或设置区级资金分配的绩效系数来源和公式参数 / show or set how performance coefficients are derived."""
    from daipin.domain.errors import InputError
    from daipin.services.supervision import commands, performance, service

    with unit_of_work() as s:
        actor = parse_actor(as_)
        values: dict[str, str] = {"county": county}
        if mode is not None:
            values["performance_mode"] = mode
        for item in set_:
            if "=" not in item:
                raise InputError("--set 应写作 key=value", "--set takes key=value", field="set")
            k, v = item.split("=", 1)
            values[k.strip()] = v.strip()
        if len(values) > 1:
            commands.set_performance(s, actor, commands.PerformanceSetting.parse(values), at=now(s))
        for r in performance.settings_rows(service.read_performance(s, actor, county)):
            typer.echo(f"{r['key']}\t{r['value']}\t（默认 {r['default']}）\t{r['label']}")


# ---------------------------------------------------------------- credit listings


@credit_app.command("propose")
def credit_propose(entity: int = typer.Argument(..., help="实施主体ID"),
                   reasons: str = typer.Option(..., "--reasons", help="认定理由"),
                   basis: str = typer.Option(..., "--basis", help="认定依据"),
                   rights: str = typer.Option("", "--rights", help="权利告知（缺省为标准告知）"), as_: str = AsOpt) -> None:
    """告知拟列入失信名单（理由、依据、权利），异议期开始 / notify an entity of a proposed listing."""
    from daipin.services.credit import commands

    with unit_of_work() as s:
        row = commands.listing_step(s, parse_actor(as_), None, commands.ProposeListing.from_form(
            {"entity": str(entity), "reasons": reasons, "basis": basis, "rights": rights}), at=now(s))
        typer.echo(f"失信认定 {row.id}：已告知，异议期至 {row.objection_until.isoformat()}（UTC）")


def _listing_cmd(listing: int, command: Any, as_: str | None) -> None:
    from daipin.services.credit import commands

    with unit_of_work() as s:
        row = commands.listing_step(s, parse_actor(as_), listing, command, at=now(s))
        typer.echo(f"失信认定 {row.id}：{row.status}")


@credit_app.command("object")
def credit_object(listing: int = typer.Argument(...), text: str = typer.Option(..., "--text", help="异议内容"),
                  as_: str = AsOpt) -> None:
    """提出异议（异议期内）/ object within the window."""
    from daipin.services.credit import commands

    _listing_cmd(listing, commands.ObjectToListing.from_form({"text": text}), as_)


@credit_app.command("answer")
def credit_answer(listing: int = typer.Argument(...), upheld: bool = typer.Option(..., "--upheld/--not-upheld"),
                  answer: str = typer.Option(..., "--answer", help="答复意见"), as_: str = AsOpt) -> None:
    """答复异议（成立则撤销认定）/ answer the objection."""
    from daipin.services.credit import commands

    _listing_cmd(listing, commands.AnswerObjection.from_form({"upheld": str(upheld).lower(), "answer": answer}), as_)


@credit_app.command("effect")
def credit_effect(listing: int = typer.Argument(...), as_: str = AsOpt) -> None:
    """认定生效（异议期满无异议，或异议已答复）/ the listing takes effect."""
    from daipin.services.credit import commands

    _listing_cmd(listing, commands.TakeEffect.from_form({}), as_)


@credit_app.command("repair")
def credit_repair(listing: int = typer.Argument(...),
                  rectification: str = typer.Option(..., "--rectification", help="整改情况"), as_: str = AsOpt) -> None:
    """信用修复（满规定期限且完成整改）/ repair after the set period and rectification."""
    from daipin.services.credit import commands

    _listing_cmd(listing, commands.RepairListing.from_form({"rectification": rectification}), as_)


@credit_app.command("history")
def credit_history(entity: int = typer.Argument(..., help="实施主体ID"), as_: str = AsOpt,
                   format: str = FormatOpt, xlsx: str = typer.Option(None, "--xlsx", help="导出到 xlsx 文件")) -> None:
    """主体信用记录全部历史 / an entity's whole credit history (or its export)."""
    from daipin.services.credit import exports, views

    with unit_of_work() as s:
        if xlsx:
            n = exports.export_credit_history(s, parse_actor(as_), entity, xlsx)
            typer.echo(f"已导出 {n} 行到 {xlsx}")
            return
        out = views.history(s, parse_actor(as_), entity)
    if not _echo(out, format):
        typer.echo(f"{out['entity']['name']}（{out['entity']['uscc']}）信用状态：{out['entity']['credit']}")
        for e in out["events"]:
            typer.echo(f"{e['occurred_on']}\t{e['kind_label']}\t{e['description']}")


# ---------------------------------------------------------------- registry records the rules read


@record_app.command("cadre")
def record_cadre(person: int = typer.Argument(..., help="人员ID"), post: str = typer.Option(..., "--post"),
                 from_date: str = typer.Option(..., "--from"), to_date: str = typer.Option(None, "--to"),
                 as_: str = AsOpt) -> None:
    """登记村干部任职 / a village cadre's term (KIN)."""
    from daipin.services.supervision import records

    with unit_of_work() as s:
        c = records.record_cadre(s, parse_actor(as_), person=person, post=post, from_date=from_date, to_date=to_date,
                                 at=now(s))
        typer.echo(f"已登记村干部任职 {c.id}")


@record_app.command("kin")
def record_kin(cadre: int = typer.Argument(..., help="村干部任职ID"), household: str = typer.Option(..., "--household"),
               relation: str = typer.Option(..., "--relation"), declared_on: str = typer.Option(..., "--on"),
               as_: str = AsOpt) -> None:
    """登记村干部申报的亲属户 / a kin household a cadre declared (KIN)."""
    from daipin.services.supervision import records

    with unit_of_work() as s:
        k = records.declare_kin(s, parse_actor(as_), cadre=cadre, household=household, relation=relation,
                                declared_on=declared_on, at=now(s))
        typer.echo(f"已登记亲属申报 {k.id}")


@record_app.command("account-holder")
def record_account_holder(household: str = typer.Argument(..., help="户编号"),
                          holder: str = typer.Option(..., "--holder", help="开户人姓名"),
                          on: str = typer.Option(..., "--on"), as_: str = AsOpt) -> None:
    """登记农户银行账户的开户人 / a household account's holder (ACCOUNT)."""
    from daipin.services.supervision import records

    with unit_of_work() as s:
        records.set_account_holder(s, parse_actor(as_), household=household, holder_name=holder, recorded_on=on,
                                   at=now(s))
        typer.echo(f"已登记户 {household} 的开户人")


@record_app.command("asset-status")
def record_asset_status(asset: str = typer.Argument(..., help="资产编号"), status: str = typer.Option(..., "--status"),
                        from_date: str = typer.Option(..., "--from"), matter: int = typer.Option(None, "--matter"),
                        decision_ref: str = typer.Option("", "--decision-ref"), as_: str = AsOpt) -> None:
    """登记资产状态及日期（闲置、使用、出租、抵押、处置）/ an asset's status from a day (DISPOSAL)."""
    from daipin.services.supervision import records

    with unit_of_work() as s:
        r = records.record_asset_status(s, parse_actor(as_), asset=asset, status=status, from_date=from_date,
                                        matter=matter, decision_ref=decision_ref, at=now(s))
        typer.echo(f"已登记资产状态 {r.id}")


@record_app.command("split")
def record_split(household: str = typer.Argument(..., help="分出的新户编号"),
                 from_household: str = typer.Option(..., "--from-household"), on: str = typer.Option(..., "--on"),
                 as_: str = AsOpt) -> None:
    """登记分户 / a household split (DUPLICATE)."""
    from daipin.services.supervision import records

    with unit_of_work() as s:
        r = records.record_split(s, parse_actor(as_), household=household, from_household=from_household,
                                 split_on=on, at=now(s))
        typer.echo(f"已登记分户 {r.id}")


@record_app.command("pv-use")
def record_pv_use(village: str = typer.Argument(...), year: int = typer.Option(..., "--year"),
                  purpose: str = typer.Option(..., "--purpose", help="post_wages | labour | public_works | rewards | "
                                                                      "other"),
                  amount_fen: int = typer.Option(..., "--amount-fen"), as_: str = AsOpt) -> None:
    """登记光伏收益用途 / a village's PV income by use (PV_USE)."""
    from daipin.services.supervision import records

    with unit_of_work() as s:
        r = records.record_pv_use(s, parse_actor(as_), village=village, year=year, purpose=purpose,
                                  amount_fen=amount_fen, at=now(s))
        typer.echo(f"已登记光伏收益用途 {r.id}")


@record_app.command("due")
def record_due(entity: int = typer.Argument(...), kind: str = typer.Option(..., "--kind"),
               due_on: str = typer.Option(..., "--due-on"), amount_fen: int = typer.Option(..., "--amount-fen"),
               region: str = typer.Option(..., "--region"), contract: str = typer.Option(None, "--contract"),
               description: str = typer.Option("", "--description"), as_: str = AsOpt) -> None:
    """登记主体应付款及应付日期 / an entity's due with its due date (ARREARS)."""
    from daipin.services.supervision import records

    with unit_of_work() as s:
        d = records.record_due(s, parse_actor(as_), entity=entity, kind=kind, due_on=due_on, amount_fen=amount_fen,
                               region=region, contract=contract, description=description, at=now(s))
        typer.echo(f"已登记应付 {d.id}")


@record_app.command("due-paid")
def record_due_paid(due: int = typer.Argument(...), amount_fen: int = typer.Option(..., "--amount-fen"),
                    on: str = typer.Option(..., "--on"), as_: str = AsOpt) -> None:
    """登记主体对应付款的支付 / a payment against a due."""
    from daipin.services.supervision import records

    with unit_of_work() as s:
        d = records.pay_due(s, parse_actor(as_), due=due, amount_fen=amount_fen, paid_on=on, at=now(s))
        typer.echo(f"应付 {d.id}：已付 {d.paid_fen} / {d.amount_fen} 分")


subsidy_app = typer.Typer(help="保费补贴 premium subsidies: 申请、审批（支付经区级保费补贴事项的支付批次）", no_args_is_help=True)


@subsidy_app.command("apply")
def subsidy_apply(policy: int = typer.Argument(..., help="保单ID"), year: int = typer.Option(..., "--year"),
                  premium_fen: int = typer.Option(..., "--premium-fen"),
                  subsidy_fen: int = typer.Option(..., "--subsidy-fen"), as_: str = AsOpt) -> None:
    """申请保费补贴 / apply for a premium subsidy."""
    from daipin.services.insurance import service

    with unit_of_work() as s:
        row = service.apply(s, parse_actor(as_), policy=policy, year=year, premium_fen=premium_fen,
                            subsidy_fen=subsidy_fen, at=now(s))
        typer.echo(f"保费补贴申请 {row.id}：{row.status}")


@subsidy_app.command("decide")
def subsidy_decide(subsidy: int = typer.Argument(...), approve: bool = typer.Option(..., "--approve/--refuse"),
                   reason: str = typer.Option("", "--reason"), as_: str = AsOpt) -> None:
    """审批保费补贴（不予补贴须说明理由）/ approve or refuse."""
    from daipin.services.insurance import service

    with unit_of_work() as s:
        row = service.decide(s, parse_actor(as_), subsidy, approve=approve, reason=reason, at=now(s))
        typer.echo(f"保费补贴 {row.id}：{row.status}")


@subsidy_app.command("policy")
def subsidy_policy(entity: int = typer.Argument(..., help="主体ID"), insurer: str = typer.Option(..., "--insurer"),
                   policy_no: str = typer.Option(..., "--policy-no"), valid_from: str = typer.Option(..., "--from"),
                   valid_to: str = typer.Option(..., "--to"), kind: str = typer.Option(None, "--kind",
                   help="property | crop | livestock | liability | other"),
                   asset: int = typer.Option(None, "--asset", help="资产ID（不填：该主体经营的全部资产）"),
                   insured_sum_fen: int = typer.Option(None, "--insured-sum-fen"), as_: str = AsOpt) -> None:
    """登记保单 / record an entity's insurance policy."""
    from daipin.services.insurance import commands as ic

    cmd = ic.RecordPolicy.parse({"entity": entity, "insurer": insurer, "policy_no": policy_no, "kind": kind,
                                 "asset_id": asset, "insured_sum_fen": insured_sum_fen, "valid_from": valid_from,
                                 "valid_to": valid_to})
    with unit_of_work() as s:
        p = ic.record_policy(s, parse_actor(as_), cmd, at=now(s))
        typer.echo(f"保单 {p.id}：{p.policy_no}")


@subsidy_app.command("account")
def subsidy_account(entity: int = typer.Argument(..., help="主体ID"),
                    bank_account: str = typer.Option(..., "--bank-account"), as_: str = AsOpt) -> None:
    """主体收款账户（保费补贴付至此账户）/ the account an entity's premium subsidies are paid into."""
    from daipin.domain.privacy import mask_bank
    from daipin.services.insurance import commands as ic

    cmd = ic.SetEntityAccount.parse({"entity": entity, "bank_account": bank_account})
    with unit_of_work() as s:
        e = ic.set_entity_account(s, parse_actor(as_), cmd, at=now(s))
        typer.echo(f"主体 {e.name}：收款账户 {mask_bank(e.bank_account)}")


@subsidy_app.command("draft")
def subsidy_draft(county: str = typer.Argument(..., help="区县代码"), year: int = typer.Option(..., "--year"),
                  title: str = typer.Option("", "--title"), as_: str = AsOpt) -> None:
    """起草本年度区级保费补贴事项（已批准待支付的补贴；执行后经支付批次付款）/ draft the year's premium-subsidy matter."""
    from daipin.domain.money import format_yuan as _yuan
    from daipin.services.insurance import commands as ic

    cmd = ic.DraftSubsidyMatter.parse({"county": county, "year": year, "title": title})
    with unit_of_work() as s:
        m = ic.draft_subsidy_matter(s, parse_actor(as_), cmd, at=now(s))
        typer.echo(f"事项 #{m.id}：{m.title}，{len(m.document['subsidies'])} 笔补贴，"
                   f"合计 {_yuan((m.preview or {})['totals']['amount_fen'])} 元")


@record_app.command("debt")
def record_debt(project: str = typer.Argument(..., help="项目编号"), kind: str = typer.Option(..., "--kind",
                help="loan | payable | guarantee | other"), creditor: str = typer.Option(..., "--creditor"),
                principal_fen: int = typer.Option(..., "--principal-fen"),
                outstanding_fen: int = typer.Option(..., "--outstanding-fen"), on: str = typer.Option(..., "--on"),
                due_on: str = typer.Option(None, "--due-on"), as_: str = AsOpt) -> None:
    """登记项目债务（风险台账）/ a project's debt in the risk register."""
    from daipin.services.supervision import records

    with unit_of_work() as s:
        d = records.record_debt(s, parse_actor(as_), project=project, kind=kind, creditor=creditor,
                                principal_fen=principal_fen, outstanding_fen=outstanding_fen, recorded_on=on,
                                due_on=due_on, at=now(s))
        typer.echo(f"已登记项目债务 {d.id}")


@supervise_app.command("risks")
def risks(as_: str = AsOpt, format: str = FormatOpt) -> None:
    """风险台账：项目债务与主体的拖欠、无保险、集中度预警 / the risk register."""
    from daipin.domain.localtime import beijing_date
    from daipin.domain.money import format_yuan
    from daipin.services.supervision import indicators

    with unit_of_work() as s:
        rows = indicators.risk_register(s, parse_actor(as_), today=beijing_date(now(s)))
    if not _echo(rows, format):
        for r in rows:
            typer.echo(f"{r['project']}\t{r['entity']}\t未偿 {format_yuan(r['owed_fen'])}\t"
                       f"逾期 {format_yuan(r['overdue_fen'])}\t主体预警 {r['entity_flags']}")


@supervise_app.command("insurance")
def insurance(as_: str = AsOpt, format: str = FormatOpt,
              xlsx: str = typer.Option(None, "--xlsx", help="导出到 xlsx 文件")) -> None:
    """资产保险台账：经营性资产的有效保单与保费补贴（或导出）/ each operating asset's policy in force, and the
    premium subsidies (or their export)."""
    from daipin.domain.localtime import beijing_date
    from daipin.domain.money import format_yuan
    from daipin.services.insurance import exports, views

    if xlsx:
        with unit_of_work() as s:
            n = exports.export_insurance(s, parse_actor(as_), xlsx, today=beijing_date(now(s)))
        typer.echo(f"已导出 {n} 行到 {xlsx}")
        return
    with unit_of_work() as s:
        actor, today = parse_actor(as_), beijing_date(now(s))
        rows = {"assets": views.assets(s, actor, today=today), "subsidies": views.subsidies(s, actor)}
    if not _echo(rows, format):
        for r in rows["assets"]:
            policy = f"{r['insurer']} {r['policy_no']} 至 {r['valid_to']}" if r["insured"] else ""
            typer.echo(f"{r['asset']}\t{r['name']}\t{r['entity']}\t{r['insured_label']}\t{policy}")
        for r in rows["subsidies"]:
            typer.echo(f"补贴 {r['id']}\t{r['year']}\t{r['entity']}\t{r['policy_no']}\t"
                       f"{format_yuan(r['subsidy_fen'])}\t{r['status_label']}")


supervise_app.add_typer(subsidy_app, name="subsidy")
supervise_app.add_typer(credit_app, name="credit")
supervise_app.add_typer(record_app, name="record")


def register(app: typer.Typer) -> None:
    app.add_typer(supervise_app, name="supervise")
