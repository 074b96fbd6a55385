"""CLI commands of the registry area: settle, allocate, runs, import/export, the sample district, listings."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand

from daipin.commands import now, unit_of_work
from daipin.domain.vocabulary import PROJECT_STATUS, RUN_KIND

runs_app = typer.Typer(help="计算记录 stored runs", no_args_is_help=True)
import_app = typer.Typer(help="导入 import", no_args_is_help=True)
template_app = typer.Typer(help="导入模板 import templates", no_args_is_help=True)
export_app = typer.Typer(help="导出 export（.xlsx 或 .csv，按文件名；个人信息脱敏）/ export (.xlsx or .csv by the name, masked)", no_args_is_help=True)
sample_app = typer.Typer(help="示例数据 sample data: 示例区（load）与合成省份（province）", no_args_is_help=True)
households_app = typer.Typer(help="农户 households", no_args_is_help=True)
projects_app = typer.Typer(help="项目 projects", no_args_is_help=True)
contracts_app = typer.Typer(help="协议 contracts", no_args_is_help=True)


def _source(file: Path) -> None:
    """An import's file: refused (InputError) if it is not there or not a file."""
    from daipin.domain.errors import InputError

    if not file.exists():
        raise InputError(f"找不到文件 {file}", f"no such file: {file}", field="file")
    if not file.is_file():
        raise InputError(f"{file} 不是文件", f"{file} is not a file", field="file")


def _unreadable(file: Path, exc: Exception) -> Exception:
    """The error for a file the import could not read: a csv in another encoding (Excel's "Unicode text" is
    UTF-16), a damaged or truncated spreadsheet, a file that went away or may not be read."""
    from daipin.domain.errors import InputError

    if isinstance(exc, UnicodeError):
        return InputError(f"文件 {file} 不是 UTF-8 或 GBK 编码的 csv（Excel 请另存为“CSV UTF-8（逗号分隔）”或 xlsx）",
                          f"{file} is not a UTF-8 or GBK csv (in Excel, save as \"CSV UTF-8 (Comma delimited)\" or "
                          "xlsx)", field="file")
    if isinstance(exc, OSError) and exc.strerror:
        return InputError(f"无法读取文件 {file}：{exc.strerror}", f"cannot read {file}: {exc.strerror}", field="file")
    return InputError(f"文件 {file} 无法读取：表格已损坏或不完整，请重新保存后再导入",
                      f"{file} cannot be read: the spreadsheet is damaged or incomplete; save it again and retry",
                      field="file")


def _target(out: Path) -> None:
    """A file to write: refused (InputError) if it is a folder, or its folder is not there or may not be written
    (found before anything is built: openpyxl would leave a half-written sheet behind)."""
    import os

    from daipin.domain.errors import InputError

    folder = out.parent
    problem = ("是一个目录", "is a folder") if out.is_dir() else \
        ("目录不存在", "the folder does not exist") if not folder.is_dir() else \
        ("没有写入权限", "no permission to write there") if not os.access(out if out.exists() else folder, os.W_OK) \
        else None
    if problem is not None:
        raise InputError(f"无法写入 {out}：{problem[0]}", f"cannot write {out}: {problem[1]}", field="out")


def _written(out: Path, write: Callable[[], int]) -> int:
    """Run an export to `out`; a folder that is not there or may not be written is refused (InputError), before
    the export reads anything."""
    from daipin.domain.errors import InputError
    from daipin.services.shared import sheets

    _target(out)
    sheets.export_format(out)  # .xlsx or .csv, refused before anything is read
    try:
        return write()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(f"无法写入 {out}：{reason}（请检查目录是否存在、是否可写）",
                         f"cannot write {out}: {reason} (does the folder exist, may it be written?)",
                         field="out") from None


def write_csv_template(out: Path) -> None:
    """The household import template as csv, for other systems: the header row only (UTF-8 with a byte order
    mark, so that Excel opens it as UTF-8). People fill the xlsx template: a spreadsheet that opens a csv turns
    long numbers into numbers and keeps 15 of their digits."""
    import daipin.services.imports.service as imports
    from daipin.services.shared import sheets

    with out.open("w", encoding="utf-8-sig", newline="") as f:
        sheets.csv_writer(f).writerow([imports.HEADER_OF[k] for k in imports.TEMPLATE_KEYS])


def _actor() -> Any:
    from daipin.domain.actors import SYSTEM_ACTOR

    return SYSTEM_ACTOR


def _dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True)


def _print_run(run: Any, fmt: str, table: Callable[[dict[str, Any]], None]) -> None:
    if fmt == "table":
        table(run.output_json)
    else:
        typer.echo(_dump(run.output_json))
    typer.echo(f"run {run.id}  input sha256 {run.input_digest}  output sha256 {run.output_digest}", err=True)


def _cell(text: str, width: int, right: bool = False) -> str:
    """`text` padded to `width` terminal columns, a Chinese character counting as two."""
    import unicodedata

    shown = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    pad = " " * max(width - shown, 0)
    return pad + text if right else text + pad


def _settlement_table(out: dict[str, Any]) -> None:
    """The settlement's lines, the benefit model by its name (资产租赁, not asset_lease)."""
    from daipin.domain.contracts import MODELS
    from daipin.domain.money import format_yuan

    typer.echo(_cell("协议", 14) + _cell("受益方", 18) + _cell("模式", 16)
               + "".join(_cell(h, 14, right=True) for h in ("应付(元)", "实付(元)", "拖欠(元)")))
    for line in out["lines"]:
        typer.echo(_cell(str(line["contract"]), 14) + _cell(str(line["payee"]), 18)
                   + _cell(MODELS.zh(line["kind"]), 16)
                   + "".join(_cell(format_yuan(line[k]), 14, right=True) for k in ("due_fen", "paid_fen",
                                                                                  "arrears_fen")))
    t = out["totals"]
    typer.echo(_cell("合计", 48) + "".join(_cell(format_yuan(t[k]), 14, right=True)
                                          for k in ("due_fen", "paid_fen", "arrears_fen")))
    for w in out.get("warnings", []):
        typer.echo(f"⚠ {w.get('code')}: {w.get('message', '')}")


def _allocation_table(out: dict[str, Any]) -> None:
    from daipin.domain.money import format_yuan

    typer.echo(f"{'户编号':<20}{'金额(元)':>14}")
    for hid, total in sorted(out["households"].items()):
        typer.echo(f"{hid:<20}{format_yuan(total):>14}")
    typer.echo(f"留存 retained {format_yuan(out['retained_fen'])}  未分配 undistributed "
               f"{format_yuan(out['undistributed_fen'])}")
    for w in out.get("warnings", []):
        typer.echo(f"⚠ {w.get('code')}: {w.get('message', '')}")


def settle(project: str = typer.Option(..., "--project", help="项目编号或ID"),
           year: int = typer.Option(..., "--year"),
           format: str = typer.Option("json", "--format", help="json | table")) -> None:
    """收益结算：从数据库生成结算文档，计算并存档 / settle a project for a year and store the run."""
    from daipin.services.runs import service as runs

    with unit_of_work() as session:
        run = runs.run_settlement(session, _actor(), project, year, now(session))
        _print_run(run, format, _settlement_table)


def allocate(village: str = typer.Option(..., "--village", help="村代码"), year: int = typer.Option(..., "--year"),
             format: str = typer.Option("json", "--format", help="json | table")) -> None:
    """村级收益分配：按已保存的分配方案计算并存档 / allocate a village's income and store the run."""
    from daipin.services.runs import service as runs

    with unit_of_work() as session:
        run = runs.run_village_allocation(session, _actor(), village, year, now(session))
        _print_run(run, format, _allocation_table)


@runs_app.command("show")
def runs_show(run_id: int, input: bool = typer.Option(False, "--input", help="打印输入文档 print the input"),
              ) -> None:
    """显示一次计算的输出（或 --input 输入文档）/ show a stored run."""
    from daipin.services.runs import service as runs

    with unit_of_work() as session:
        run = runs.get_run(session, run_id)
        typer.echo(_dump(run.input_json if input else run.output_json))


@runs_app.command("list")
def runs_list(kind: str = typer.Option(None, "--kind"), subject: str = typer.Option(None, "--subject")) -> None:
    """列出计算记录 / list stored runs."""
    from daipin.domain.localtime import for_people
    from daipin.services.runs import service as runs

    with unit_of_work() as session:
        for r in runs.list_runs(session, kind, subject):
            typer.echo(f"{r.id}\t{r.kind}\t{RUN_KIND.zh(r.kind)}\t{r.subject}\t{r.year}\t{for_people(r.at)}\t{r.actor}\t"
                       f"{r.output_digest}")


@sample_app.command("load")
def sample_load(households_per_village: int = typer.Option(30, "--households-per-village")) -> None:
    """载入示例区（东安区，虚构数据）/ generate and load the sample district."""
    from daipin.services.sample import service as sample

    with unit_of_work() as session:
        counts = sample.load_sample(session, _actor(), now(session), households_per_village=households_per_village)
    typer.echo("示例区已载入 / sample district loaded: " + ", ".join(f"{k}={v}" for k, v in counts.items()))


@households_app.command("list")
def households_list(village: str = typer.Option(None, "--village"), status: str = typer.Option(None, "--status"),
                    format: str = typer.Option("table", "--format", help="table | json")) -> None:
    """列出农户（个人信息脱敏）/ list households, personal data masked."""
    from sqlalchemy import select

    from daipin.db.models.registry import Household
    from daipin.services.registry import service as reg

    with unit_of_work() as session:
        q = select(Household).order_by(Household.household_no)
        if village:
            q = q.where(Household.village_code == village)
        if status:
            q = q.where(Household.status == status)
        rows = [reg.masked_household(session, h) for h in session.scalars(q)]
    if format == "json":
        typer.echo(_dump(rows))
        return
    for r in rows:
        head = next((m for m in r["members"] if m["relation"] == "户主"), None)
        typer.echo(f"{r['household_no']}\t{r['status_label']}\t{len(r['members'])}人\t{reg.LABOR.zh(r['labor'])}\t"
                   f"{head['name'] if head else ''}\t{head['id_number'] if head else ''}\t{r['phone']}")


@projects_app.command("list")
def projects_list() -> None:
    """列出项目 / list projects."""
    from sqlalchemy import select

    from daipin.db.models.registry import Project

    with unit_of_work() as session:
        for p in session.scalars(select(Project).order_by(Project.code)):
            typer.echo(f"{p.code}\t{p.name}\t{p.category}\t{p.village_code or p.township_code}\t"
                       f"{p.expected_return or ''}\t{PROJECT_STATUS.zh(p.status)}")


@contracts_app.command("history")
def contracts_history(contract: str) -> None:
    """合同版本历史 / a contract's versions."""
    from daipin.services.contracts import service as contracts

    with unit_of_work() as session:
        typer.echo(_dump(contracts.history(session, contract)))


@import_app.command("households")
def import_households(file: Path, skip_bad: bool = typer.Option(False, "--skip-bad", help="只导入无误的行")) -> None:
    """导入建档立卡农户（xlsx 或 csv）/ import households; any bad row imports nothing unless --skip-bad."""
    from python_calamine import CalamineError

    import daipin.services.imports.service as imports

    with unit_of_work() as session:
        _source(file)
        try:
            result = imports.import_households(session, _actor(), file, now(session), skip_bad=skip_bad, progress=True)
        except (UnicodeError, OSError, CalamineError) as exc:
            raise _unreadable(file, exc) from None
        for err in result.errors:
            typer.echo(f"第{err.row}行 row {err.row} [{err.column}]: {err.message}", err=True)
        typer.echo(result.summary())
        if result.errors and not skip_bad:
            session.rollback()
            raise typer.Exit(2)


@template_app.command("households")
def template_households(out: Path = typer.Argument(Path("农户导入模板.xlsx"))) -> None:
    """生成农户导入模板：xlsx 供人工填写，csv 供系统对接 / write the household import template: .xlsx for people, .csv
    (UTF-8, the header row) for other systems."""
    import daipin.services.imports.service as imports
    from daipin.domain.errors import DaipinError, InputError

    try:
        suffix = out.suffix.lower()
        if suffix not in (".xlsx", ".csv"):
            raise InputError(f"模板文件应以 .xlsx 或 .csv 结尾，而不是 {suffix or '（无扩展名）'}",
                             f"the template's name must end in .xlsx or .csv, not {suffix or '(none)'}", field="out")
        _target(out)
        if suffix == ".csv":
            write_csv_template(out)
        else:
            with unit_of_work() as session:
                villages = imports.template_villages(session)
            imports.write_template(out, villages)
    except DaipinError as exc:
        typer.echo(f"错误 / error: {exc.text()}", err=True)
        raise typer.Exit(2) from None
    typer.echo(str(out))
    if suffix == ".csv":
        typer.echo("csv 模板供其他系统对接使用；人工填写请用 xlsx 模板（证件号码等列已设为文本格式） / the csv template is for "
                   "other systems; people fill the xlsx template")


@export_app.command("households")
def export_households(out: Path, village: str = typer.Option(None, "--village", help="村代码或村名 / village code or name")) -> None:
    """导出农户（脱敏）/ export households to .xlsx or .csv, masked."""
    import daipin.services.imports.exports as exports

    with unit_of_work() as session:
        n = _written(out, lambda: exports.export_households(session, out, village=village, at=now(session)))
    typer.echo(f"{n} rows → {out}")


@export_app.command("entities")
def export_entities(out: Path) -> None:
    import daipin.services.imports.exports as exports

    with unit_of_work() as session:
        n = _written(out, lambda: exports.export_entities(session, out, at=now(session)))
    typer.echo(f"{n} rows → {out}")


@export_app.command("projects")
def export_projects(out: Path) -> None:
    import daipin.services.imports.exports as exports

    with unit_of_work() as session:
        n = _written(out, lambda: exports.export_projects(session, out, at=now(session)))
    typer.echo(f"{n} rows → {out}")


@export_app.command("contracts")
def export_contracts(out: Path) -> None:
    import daipin.services.imports.exports as exports

    with unit_of_work() as session:
        n = _written(out, lambda: exports.export_contracts(session, out, at=now(session)))
    typer.echo(f"{n} rows → {out}")


def _record_epilog() -> str:
    from daipin.domain.contracts import MODELS, TERMS
    from daipin.services.registry.records import KINDS, fields
    from daipin.services.registry.service import LABOR, RELATIONS, STATUSES

    lines = ["类别与字段 / kinds and their fields (* required):", ""]
    for kind in KINDS.values():
        required, optional = fields(kind)
        lines.append(f"{kind.name} — {kind.zh}: " + ", ".join([f"{f}*" for f in required] + optional))
    lines += ["", "household 的 members 每人 / each of a household's members: name*, id_number*, relation* "
              f"({'/'.join(RELATIONS)}), labor* ({', '.join(f'{k}={v}' for k, v in LABOR.items())}), birth_date, "
              f"sex, health_note; status: {', '.join(f'{k}={v}' for k, v in STATUSES.items())}",
              "", "contract / amendment 的 terms，按 model / a contract's terms by model:"]
    for model, terms in TERMS.items():
        shown = [f"{t.name}{'*' if t.required else ''}" + (f" ({'/'.join(t.choices)})" if t.choices else "")
                 for t in terms]
        lines.append(f"{model} — {MODELS[model]}: " + ", ".join(shown))
    return "\n\n".join(lines)


class _RecordCommand(TyperCommand):
    """`daipin record --help` lists the kinds and their fields, read off the services when help is asked for
    (building the list imports every service, which `daipin calc` and the rest should not pay for)."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self.epilog = _record_epilog()
        super().format_help(ctx, formatter)


def record(kind: str = typer.Argument(..., help="记录类别，见下 / the kind of record, listed below"),
           file: str = typer.Argument(..., help="JSON 或 YAML 文件（一条记录或记录列表），- 为标准输入"),
           as_: str = typer.Option(None, "--as", help="操作人 system 或 role:id@region（默认 system）")) -> None:
    """登记：从文件录入主体、项目、资产、合同等 / record entities, projects, assets, contracts, … from a file.

    整个文件在一个事务中：任何一条有错，全部不录入。引用用编号：户编号、统一社会信用代码、项目/资产/协议编号、身份证号。
    The whole file is one transaction: one bad record records nothing. Refer to rows by their keys: household
    number, credit code, project/asset/contract code, resident ID number.
    """
    from daipin.commands.calc import DocumentError, read_document
    from daipin.commands.workflow import parse_actor
    from daipin.services.registry import records as records

    try:
        document = read_document(file)
    except DocumentError as exc:
        typer.echo(f"错误 / error: {exc}", err=True)
        raise typer.Exit(2) from None
    with unit_of_work() as session:
        lines = records.record_all(session, parse_actor(as_), kind, document, now(session))
    for line in lines:
        typer.echo(line)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the top-level app."""
    app.command("record", cls=_RecordCommand)(record)
    app.command("settle")(settle)
    app.command("allocate")(allocate)
    import_app.add_typer(template_app, name="template")
    app.add_typer(runs_app, name="runs")
    app.add_typer(import_app, name="import")
    app.add_typer(export_app, name="export")
    app.add_typer(sample_app, name="sample")
    app.add_typer(households_app, name="households")
    app.add_typer(projects_app, name="projects")
    app.add_typer(contracts_app, name="contracts")


