"""`daipin payment …`: a batch reconciled, the bank file out, the bank's return in, one line paid or failed by
its slip, a failed line requeued or written off, the district's pools, printed lists and slips."""

from __future__ import annotations

from pathlib import Path

import typer

from daipin.commands import now, unit_of_work, workflow
from daipin.commands.workflow import AsOpt, _dump, parse_actor

payment_app = typer.Typer(help="支付：代发文件、银行回盘、对账、重发与核销 / payments: bank files, returns, reconciliation")


def _fen(v: int) -> str:
    from daipin.domain.money import format_yuan

    return f"{format_yuan(v)} 元"


@payment_app.command("show")
def show(batch_id: int = typer.Argument(..., help="支付批次 id"), as_: str = AsOpt) -> None:
    """查看批次对账与明细（账号已遮蔽）/ a batch reconciled to the fen, with its lines (accounts masked)."""
    from daipin.services.payments import service as payments
    from daipin.services.payments import views

    with unit_of_work() as s:
        report = views.batch_report(s, parse_actor(as_), batch_id)
        report["lines"] = [payments.line_view(ln) for ln in report["lines"]]
        report["files"] = [{"id": f.id, "direction": f.direction, "format": f.format, "sha256": f.sha256,
                            "lines": f.line_count, "total_fen": f.total_fen} for f in report["files"]]
        typer.echo(_dump(report))


@payment_app.command("bank-file")
def bank_file(
    batch_id: int = typer.Argument(..., help="支付批次 id"),
    out: Path = typer.Argument(..., help="输出文件（.xlsx 或 .csv）"),
    as_: str = AsOpt,
) -> None:
    """生成代发文件：待支付明细标记为已发银行，文件摘要记入账本 / write the bank file; its lines become sent."""
    from daipin.domain.errors import InputError
    from daipin.services.payments import bankfiles

    fmt = out.suffix.lower().lstrip(".")
    with unit_of_work() as s:
        if fmt not in bankfiles.FORMATS:
            raise InputError("输出文件应为 .xlsx 或 .csv", "the output file must be .xlsx or .csv", "out")
        f = bankfiles.bank_file(s, parse_actor(as_), batch_id, fmt, at=now(s))
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(f.data)
    typer.echo(f"代发文件 / bank file: {out}  {f.lines} 笔 lines, {_fen(f.total_fen)}, sha256 {f.sha256}")
    if f.skipped:
        typer.echo(f"未登记账号、仍待支付的明细 / lines left pending (no account): {f.skipped}")


@payment_app.command("return")
def bank_return(
    batch_id: int = typer.Argument(..., help="支付批次 id"),
    file: Path = typer.Argument(..., help="银行回盘文件（.xlsx 或 .csv）"),
    as_: str = AsOpt,
) -> None:
    """登记银行回盘：整份相符才登记，否则列出每处问题并退出 2 / apply the bank's return whole, or refuse it whole."""
    from daipin.domain.errors import InputError
    from daipin.services.payments import bankfiles

    with unit_of_work() as s:
        if not file.is_file():
            raise InputError(f"文件不存在：{file}", f"no such file: {file}", "file")
        r = bankfiles.apply_return(s, parse_actor(as_), batch_id, file.name, file.read_bytes(), at=now(s))
    typer.echo(f"已登记回盘 / return applied: 成功 paid {r.paid} 笔 {_fen(r.paid_fen)}，失败 failed {r.failed} 笔 "
               f"{_fen(r.failed_fen)}; sha256 {r.sha256}")


# One step, two names: `daipin payment pay` beside the batch's other steps, `daipin matter pay` where it began.
payment_app.command("pay")(workflow.pay)


@payment_app.command("requeue")
def requeue(
    line_id: int = typer.Argument(..., help="支付失败的明细 id"),
    account: str = typer.Option("", "--account", help="更正后的银行账号（已在档案更正的可不填）"),
    as_: str = AsOpt,
) -> None:
    """重新发起失败的支付（新明细，注明原明细）/ requeue a failed line as a new line after the account is corrected."""
    from daipin.services.payments import commands
    from daipin.services.payments import service as payments

    with unit_of_work() as s:
        command = commands.Requeue.parse({"bank_account": account})
        line = commands.requeue(s, parse_actor(as_), line_id, command, at=now(s))
        typer.echo(_dump(payments.line_view(line)))


@payment_app.command("write-off")
def write_off(
    line_id: int = typer.Argument(..., help="支付失败的明细 id"),
    reason: str = typer.Option(..., "--reason", help="核销原因"),
    decision: str = typer.Option(..., "--decision", help="批准核销的决定（文号）"),
    as_: str = AsOpt,
) -> None:
    """核销失败的支付（原因与批准决定）/ write off a failed line with the reason and the decision that allowed it."""
    from daipin.services.payments import commands
    from daipin.services.payments import service as payments

    with unit_of_work() as s:
        command = commands.WriteOff.parse({"reason": reason, "decision": decision})
        line = commands.write_off(s, parse_actor(as_), line_id, command, at=now(s))
        typer.echo(_dump(payments.line_view(line)))


@payment_app.command("reconcile")
def reconcile(
    batch_id: int = typer.Argument(..., help="支付批次 id"),
    xlsx: Path = typer.Option(None, "--xlsx", help="另存对账表 xlsx"),
    pdf: Path = typer.Option(None, "--pdf", help="另存对账单 PDF"),
    as_: str = AsOpt,
) -> None:
    """对账：资金池 = 已支付 + 待支付 + 支付失败 + 已核销 + 留存 + 未分配（精确到分）/ reconcile a batch and its pool."""
    from daipin.domain.vocabulary import PAYMENT_LINE_STATUS
    from daipin.reports import payment_pdf
    from daipin.services.payments import views

    with unit_of_work() as s:
        report = views.batch_report(s, parse_actor(as_), batch_id)
        if xlsx is not None:
            xlsx.write_bytes(views.reconcile_xlsx(report))
        if pdf is not None:
            pdf.write_bytes(payment_pdf.reconciliation(report, views.PARTS, status_label=PAYMENT_LINE_STATUS.zh,
                                                       printed_at=now(s)))
    typer.echo(f"资金池 pool {_fen(report['pool_fen'])} = " + " + ".join(
        f"{zh} {_fen(int(report[key]))}" for key, zh, _en in views.PARTS))
    typer.echo("平衡 / balanced" if report["balanced"] else "不平衡 / NOT balanced")
    if not report["balanced"]:
        raise typer.Exit(1)


@payment_app.command("pools")
def pools(year: int = typer.Argument(..., help="年度"), as_: str = AsOpt) -> None:
    """全区资金池对账（某年度）/ every pool of a year: paid, pending, failed, written off, retained."""
    from daipin.services.payments import views

    with unit_of_work() as s:
        report = views.district_pools(s, parse_actor(as_), year)
    for p in report["pools"]:
        typer.echo(f"{p['batch']:>6}  {p['pool_key']:<36} 池 {_fen(p['pool_fen'])}  已付 {_fen(p['paid_fen'])}  "
                   f"待付 {_fen(p['open_fen'])}  失败 {_fen(p['failed_fen'])}  核销 {_fen(p['written_off_fen'])}  "
                   f"留存 {_fen(p['retained_fen'] + p['undistributed_fen'])}  {'平衡' if p['balanced'] else '不平衡'}")
    t = report["totals"]
    typer.echo(f"合计 total: 池 {_fen(t['pool_fen'])}  已付 {_fen(t['paid_fen'])}  待付 {_fen(t['open_fen'])}  "
               f"失败 {_fen(t['failed_fen'])}  核销 {_fen(t['written_off_fen'])}")


@payment_app.command("print")
def print_(
    batch_id: int = typer.Argument(..., help="支付批次 id"),
    out: Path = typer.Argument(..., help="输出目录"),
    as_: str = AsOpt,
) -> None:
    """打印到户清单（每村一份 PDF）和每户的到户通知单 / village lists and household slips as PDFs."""
    from daipin.domain.vocabulary import PAYMENT_LINE_STATUS
    from daipin.reports import payment_pdf
    from daipin.services.payments import service as payments
    from daipin.services.payments import views

    out.mkdir(parents=True, exist_ok=True)
    written = 0
    with unit_of_work() as s:
        actor = parse_actor(as_)
        batch, _ = payments.readable_batch(s, actor, batch_id)
        for code, _name in views.villages_of(s, batch):
            ctx = views.village_list(s, actor, batch_id, code)
            ctx["status_label"] = PAYMENT_LINE_STATUS.zh
            (out / f"到户清单-{code}.pdf").write_bytes(payment_pdf.village_list(ctx, printed_at=now(s)))
            written += 1
            for ln in ctx["lines"]:
                slip = views.slip(s, actor, ln.id)
                slip["status_label"] = PAYMENT_LINE_STATUS.zh
                (out / f"通知单-{ln.seq or ln.id}.pdf").write_bytes(payment_pdf.slip(slip, printed_at=now(s)))
                written += 1
    typer.echo(f"已生成 {written} 份 PDF / {written} PDFs written to {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(payment_app, name="payment")
