"""`daipin wages …` and `daipin repayments …`: wages due, paid and in arrears (R1.3); revolving fund-support
repayments against their schedule (R1.1); recording a wage payment or a repayment."""

from __future__ import annotations

import json
from typing import Any

import typer

from daipin.commands import now, unit_of_work
from daipin.commands.workflow import AsOpt, parse_actor
from daipin.domain.money import format_yuan

wages_app = typer.Typer(help="务工工资 wages: 应发、实发、欠薪", no_args_is_help=True)
repayments_app = typer.Typer(help="扶持资金还款 fund-support repayments: 计划、已还、逾期", no_args_is_help=True)

EntityOpt = typer.Option(None, "--entity", help="实施主体ID")
ProjectOpt = typer.Option(None, "--project", help="项目编号或ID")
FormatOpt = typer.Option("table", "--format", help="table | json")


def _scope(session: Any, entity: int | None, project: str | None) -> dict[str, Any]:
    from daipin.domain.errors import InputError
    from daipin.services.registry.service import get_project

    if (entity is None) == (project is None):
        raise InputError("请给出 --entity 或 --project 之一", "give one of --entity or --project", field="entity")
    if entity is not None:
        return {"entity_id": entity}
    assert project is not None
    return {"project_id": get_project(session, project).id}


def _today(session: Any) -> Any:
    from daipin.domain.localtime import beijing_date

    return beijing_date(now(session))


@wages_app.command("show")
def wages_show(entity: int = EntityOpt, project: str = ProjectOpt, as_: str = AsOpt, format: str = FormatOpt) -> None:
    """工资应发、实发与欠薪（按人、按项目）/ wages due, paid and in arrears by worker and project."""
    from daipin.services.obligations import views

    with unit_of_work() as s:
        out = views.wages(s, parse_actor(as_), today=_today(s), **_scope(s, entity, project))
    if format == "json":
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    typer.echo(f"务工工资 截至 {out['as_of']}（北京时间）")
    for r in out["rows"]:
        late = f"  逾期 {r['overdue_days']} 天" if r["overdue_days"] else ""
        typer.echo(f"{r['contract']}\t{r['project']}\t{r['worker']['name']}\t{r['wage_basis_label']} "
                   f"{format_yuan(r['wage_fen'])}元/{r['unit']} × {r['quantity']}{r['unit']}\t"
                   f"应发 {format_yuan(r['due_fen'])}\t实发 {format_yuan(r['paid_fen'])}\t"
                   f"欠薪 {format_yuan(r['arrears_fen'])}{late}")
    for p in out["by_project"]:
        typer.echo(f"项目 {p['project']}\t应发 {format_yuan(p['due_fen'])}\t实发 {format_yuan(p['paid_fen'])}\t"
                   f"欠薪 {format_yuan(p['arrears_fen'])}")
    t = out["totals"]
    typer.echo(f"合计\t应发 {format_yuan(t['due_fen'])}\t实发 {format_yuan(t['paid_fen'])}\t"
               f"欠薪 {format_yuan(t['arrears_fen'])}")


@wages_app.command("pay")
def wages_pay(contract: str = typer.Argument(..., help="务工协议编号"),
              on: str = typer.Option(..., "--on", help="发放日期 YYYY-MM-DD"),
              amount_fen: int = typer.Option(..., "--amount-fen", help="实发金额（分）"),
              note: str = typer.Option("", "--note", help="备注（如：10月工资）"), as_: str = AsOpt) -> None:
    """登记实发工资 / record wages paid under an employment contract."""
    from daipin.services.obligations import service

    with unit_of_work() as s:
        w = service.record_wage_payment(s, parse_actor(as_), contract=contract, paid_on=on, amount_fen=amount_fen,
                                        note=note, at=now(s))
        typer.echo(f"已登记实发工资 {w.id}：协议 {contract}，{w.paid_on.isoformat()}，{format_yuan(w.amount_fen)} 元")


@repayments_app.command("show")
def repayments_show(entity: int = EntityOpt, project: str = ProjectOpt, as_: str = AsOpt,
                    format: str = FormatOpt) -> None:
    """周转扶持资金：已到期、已还、逾期金额和天数 / revolving fund support: due, repaid, overdue amount and days."""
    from daipin.services.obligations import views

    with unit_of_work() as s:
        out = views.repayments(s, parse_actor(as_), today=_today(s), **_scope(s, entity, project))
    if format == "json":
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    typer.echo(f"扶持资金还款 截至 {out['as_of']}（北京时间）")
    for r in out["rows"]:
        late = f"  逾期 {r['overdue_days']} 天（自 {r['overdue_since']}）" if r["overdue_days"] else ""
        typer.echo(f"{r['contract']}\t{r['project']}\t{r['payee']}\t扶持 {format_yuan(r['amount_fen'])}\t"
                   f"已到期 {format_yuan(r['due_fen'])}\t已还 {format_yuan(r['repaid_fen'])}\t"
                   f"逾期 {format_yuan(r['overdue_fen'])}{late}")
    t = out["totals"]
    typer.echo(f"合计\t已到期 {format_yuan(t['due_fen'])}\t已还 {format_yuan(t['repaid_fen'])}\t"
               f"逾期 {format_yuan(t['overdue_fen'])}\t待还 {format_yuan(t['outstanding_fen'])}")


@repayments_app.command("record")
def repayments_record(contract: str = typer.Argument(..., help="资金扶持协议编号"),
                      on: str = typer.Option(..., "--on", help="还款日期 YYYY-MM-DD"),
                      amount_fen: int = typer.Option(..., "--amount-fen", help="还款金额（分）"),
                      note: str = typer.Option("", "--note", help="备注"), as_: str = AsOpt) -> None:
    """登记还款 / record a repayment of a revolving fund-support contract."""
    from daipin.services.obligations import service

    with unit_of_work() as s:
        r = service.record_repayment(s, parse_actor(as_), contract=contract, paid_on=on, amount_fen=amount_fen,
                                     note=note, at=now(s))
        typer.echo(f"已登记还款 {r.id}：协议 {contract}，{r.paid_on.isoformat()}，{format_yuan(r.amount_fen)} 元")


def register(app: typer.Typer) -> None:
    app.add_typer(wages_app, name="wages")
    app.add_typer(repayments_app, name="repayments")
