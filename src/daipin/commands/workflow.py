"""`daipin matter ...`: one command per step of the decision path, each its own transaction."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from daipin.commands import now, unit_of_work
from daipin.domain.localtime import for_people
from daipin.services.shared import rows

matter_app = typer.Typer(help="议事事项 decisions: 草拟、会议、表决、审核、公示、异议、执行、归档", no_args_is_help=True)

HELD_HELP = ("会议（表决）实际时间 ISO 8601，北京时间，仅用于事后补录纸质记录：须在过去、不早于上一步骤、不超过30天 / "
             "when it was held, for a paper record entered later, e.g. 2026-12-17T09:00")
AS_HELP = "办理人 system 或 role:id@region，如 village_cadre:c1@231002001001 / the acting account"


def parse_actor(spec: str | None) -> Any:
    """`system`, or `role:id@region` (region may be omitted for the public)."""
    from daipin.domain.actors import SYSTEM_ACTOR, Actor, Role

    if not spec or spec == "system":
        return SYSTEM_ACTOR
    try:
        role_part, rest = spec.split(":", 1)
        ident, _, region = rest.partition("@")
        role = Role(role_part)
    except ValueError:
        typer.echo(f"错误 / error: --as: 应为 system 或 role:id@region ({spec!r})", err=True)
        raise typer.Exit(2) from None
    return Actor(id=ident, role=role, region=region)




def _dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True, default=str)


def _read_doc(path: Path) -> Any:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        typer.echo(f"错误 / error: {path}: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            # An unquoted 0.6 is a binary float to YAML; the draft refuses it and names the field.
            return yaml.safe_load(text)
        return json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        typer.echo(f"错误 / error: {path}: 无法解析 / cannot parse: {exc}", err=True)
        raise typer.Exit(2) from None


def _state(session: Any, m: Any) -> None:
    from daipin.services.matters import service as wfs

    s = wfs.summary(session, m)
    typer.echo(f"事项 {s['id']} [{s['kind_label']}] {s['title']}：{s['state_label']} ({s['state']})，"
               f"可办理 next: {', '.join(s['next']) or '-'}")


HeldOpt = typer.Option(None, "--held-at", help=HELD_HELP)
AsOpt = typer.Option(None, "--as", help=AS_HELP)


@matter_app.command("draft")
def draft(
    kind: str = typer.Argument(..., help="village_allocation | contract | share_quantification | asset_disposal | "
                                          "beneficiary_roster | district_allocation | township_project"),
    region: str = typer.Argument(..., help="村(12位) / 乡镇(9位) / 区(6位) 代码"),
    file: Path = typer.Argument(..., help="计算文件 engine document (JSON 或 YAML)"),
    title: str = typer.Option(..., "--title", help="事项名称"),
    year: int = typer.Option(None, "--year", help="年度"),
    justification: str = typer.Option("", "--justification", help="书面说明（如平均分配的理由）"),
    project: int = typer.Option(None, "--project", help="项目 id"),
    entity: int = typer.Option(None, "--entity", help="实施主体 id"),
    funding: str = typer.Option("", "--funding", help="资金来源"),
    responsible: str = typer.Option("", "--responsible", help="责任人"),
    proposer: str = typer.Option("村民委员会", "--proposer", help="提议人（村委会、1/10村民、1/5村民代表）"),
    as_: str = AsOpt,
) -> None:
    """草拟事项并预览计算结果 / draft a matter with its engine document and preview."""
    from daipin.services.matters import commands

    doc = _read_doc(file)
    with unit_of_work() as s:
        command = commands.DraftMatter.parse(
            {"kind": kind, "region": region, "title": title, "document": doc, "year": year,
             "justification": justification, "project_id": project, "entity_id": entity, "funding_source": funding,
             "responsible_person": responsible, "proposer": proposer})
        m = commands.draft(s, parse_actor(as_), command, at=now(s))
        _state(s, m)
        for w in m.warnings:
            typer.echo(f"⚠ {w.get('code')}: {_dump({k: v for k, v in w.items() if k != 'code'})}")


@matter_app.command("roster")
def roster(
    village: str = typer.Argument(..., help="村代码(12位)"),
    year: int = typer.Argument(..., help="年度"),
    as_: str = AsOpt,
) -> None:
    """从登记数据草拟年度收益扶贫对象名单 / draft the year's beneficiary roster from the registry."""
    from daipin.services.rosters import service as rosters

    with unit_of_work() as s:
        m = rosters.draft_roster(s, parse_actor(as_), village_code=village, year=year, at=now(s))
        _state(s, m)
        typer.echo(f"名单 {len(m.document['households'])} 户 / households on the roster")


@matter_app.command("update")
def update(
    matter_id: int = typer.Argument(...),
    file: Path = typer.Option(None, "--file", help="新的计算文件"),
    title: str = typer.Option(None, "--title"),
    justification: str = typer.Option(None, "--justification"),
    as_: str = AsOpt,
) -> None:
    """修改草案 / change a draft (also after it was returned or reopened)."""
    from daipin.services.matters import commands

    doc = _read_doc(file) if file else None
    with unit_of_work() as s:
        command = commands.UpdateDraft.parse({"document": doc, "title": title, "justification": justification})
        _state(s, commands.run(s, parse_actor(as_), matter_id, command, at=now(s)))


@matter_app.command("call-meeting")
def call_meeting(
    matter_id: int = typer.Argument(...),
    type: str = typer.Option(..., "--type", help="村民会议 | 村民代表会议 | 领导小组会议"),
    scheduled_at: str = typer.Option(..., "--scheduled-at", help="开会时间 ISO 8601，北京时间（至少提前10天）"),
    place: str = typer.Option(..., "--place", help="地点"),
    members: int = typer.Option(0, "--members", help="领导小组成员数（仅领导小组会议；村民会议、村民代表会议的应到人数由登记册计算）"),
    as_: str = AsOpt,
) -> None:
    """召集会议 / call the meeting (a village meeting's eligible numbers are counted from the registry)."""
    from daipin.services.matters import commands

    with unit_of_work() as s:
        command = commands.CallMeeting.parse(
            {"type": type, "scheduled_at": scheduled_at, "place": place, "eligible_members": members})
        mt = commands.run(s, parse_actor(as_), matter_id, command, at=now(s))
        typer.echo(f"会议 {mt.id} 定于 {for_people(mt.scheduled_at)} 在 {mt.place} 召开；应到（登记册）：成年村民 "
                   f"{mt.eligible_adults}、户 {mt.eligible_households}、村民代表 {mt.eligible_representatives}"
                   + (f"、领导小组成员 {mt.eligible_members}" if mt.eligible_members else ""))


@matter_app.command("attend")
def attend(
    matter_id: int = typer.Argument(...),
    adults: int = typer.Option(0, "--adults", help="到会18岁以上村民数"),
    households: int = typer.Option(0, "--households", help="到会户代表数"),
    representatives: int = typer.Option(0, "--representatives", help="到会村民代表数"),
    members: int = typer.Option(0, "--members", help="到会领导小组成员数"),
    first_secretary: bool = typer.Option(..., "--first-secretary/--no-first-secretary",
                                         help="第一书记（驻村干部）是否到会"),
    cadre: list[str] = typer.Option(None, "--cadre", help="到会的驻村干部（职务），可重复"),
    attendees: Path = typer.Option(None, "--attendees", help="到会名单 JSON [{key, name?, household?, role?}]"),
    minutes: str = typer.Option("", "--minutes", help="会议记录附件（文件名或摘要）"),
    sheet: str = typer.Option("", "--sheet", help="签到表扫描件（文件名或摘要）"),
    held_at: str = HeldOpt,
    as_: str = AsOpt,
) -> None:
    """登记到会情况 / record attendance."""
    from daipin.services.matters import commands

    people = _read_doc(attendees) if attendees else None
    with unit_of_work() as s:
        command = commands.RecordAttendance.parse(
            {"present_adults": adults, "present_households": households, "present_representatives": representatives,
             "present_members": members, "first_secretary_present": first_secretary, "cadres_present": cadre or [],
             "attendees": people, "minutes_ref": minutes, "attendance_sheet_ref": sheet, "held_at": held_at})
        mt = commands.run(s, parse_actor(as_), matter_id, command, at=now(s))
        typer.echo(f"会议 {mt.id} 到会已登记")


@matter_app.command("vote")
def vote(
    matter_id: int = typer.Argument(...),
    votes_for: int = typer.Option(None, "--for", help="赞成票"),
    against: int = typer.Option(None, "--against", help="反对票"),
    abstain: int = typer.Option(None, "--abstain", help="弃权票"),
    ballots: Path = typer.Option(None, "--ballots", help="按人表决 JSON [{attendee, vote: for|against|abstain}]"),
    held_at: str = HeldOpt,
    as_: str = AsOpt,
) -> None:
    """登记表决 / record the votes."""
    from daipin.services.matters import commands

    b = _read_doc(ballots) if ballots else None
    with unit_of_work() as s:
        command = commands.RecordVotes.parse({"votes_for": votes_for, "against": against, "abstain": abstain,
                                              "ballots": b, "held_at": held_at})
        mt = commands.run(s, parse_actor(as_), matter_id, command, at=now(s))
        typer.echo(f"表决：赞成 {mt.votes_for}，反对 {mt.votes_against}，弃权 {mt.votes_abstain}")


def _simple(step: str, help_text: str) -> None:
    def command(matter_id: int = typer.Argument(...), as_: str = AsOpt) -> None:
        from daipin.services.matters import commands
        from daipin.services.matters import service as wfs

        steps: dict[str, commands.Step] = {
            "decide": commands.Decide(), "submit": commands.SubmitForReview(), "close": commands.CloseNotice(),
            "announce": commands.Announce(), "archive": commands.Archive()}
        with unit_of_work() as s:
            commands.run(s, parse_actor(as_), matter_id, steps[step], at=now(s))
            m = wfs.get_matter(s, parse_actor(as_), matter_id)
            _state(s, m)
            if step == "decide":
                mt = wfs.current_meeting(s, m)
                for r in (mt.outcome_reasons or []) if mt else []:
                    typer.echo(f"  {r['zh']}")
                if mt is not None and mt.quorum_met is False:
                    typer.echo("  会议未达法定人数，不作决定；可重新召集会议 / no quorum: nothing decided, call a new meeting")

    command.__doc__ = help_text
    matter_app.command(step)(command)


_simple("decide", "宣布表决结果（法定人数、过半数）/ declare the outcome: quorum, then majority.")
_simple("submit", "提交审核 / submit for review.")
_simple("close", "结束公示（公示期满且异议均已答复）/ close the notice.")
_simple("announce", "执行结果公告 / announce what was paid.")
_simple("archive", "归档 / archive the matter.")


@matter_app.command("withdraw")
def withdraw(
    matter_id: int = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="撤回理由 reasons"),
    as_: str = AsOpt,
) -> None:
    """撤回事项（执行前，须写明理由；同一资金池方可另行起草）/ withdraw a matter before it executes."""
    from daipin.services.matters import commands
    from daipin.services.matters import service as wfs

    with unit_of_work() as s:
        commands.run(s, parse_actor(as_), matter_id, commands.Withdraw.parse({"reason": reason}), at=now(s))
        _state(s, wfs.get_matter(s, parse_actor(as_), matter_id))


@matter_app.command("review")
def review(
    matter_id: int = typer.Argument(...),
    decision: str = typer.Argument(..., help="approve（通过）| return（退回）"),
    comments: str = typer.Option("", "--comments", help="审核意见（退回时必填）"),
    as_: str = AsOpt,
) -> None:
    """乡镇（或区）审核 / review: approve or return with comments."""
    from daipin.services.matters import commands
    from daipin.services.matters import service as wfs

    with unit_of_work() as s:
        command = commands.Review.parse({"decision": decision, "comments": comments})
        commands.run(s, parse_actor(as_), matter_id, command, at=now(s))
        _state(s, wfs.get_matter(s, parse_actor(as_), matter_id))


@matter_app.command("publish")
def publish(
    matter_id: int = typer.Argument(...),
    days: int = typer.Option(None, "--days", help="公示天数（默认10天；名单全部为防返贫监测对象时5天）/ notice days (10; 5 for a roster of monitoring households alone)"),
    posted_at: str = typer.Option(None, "--posted-at", help=(
        "纸质公示实际张贴时间 ISO 8601，北京时间，仅用于事后补录：须在过去、不早于上一步骤、不超过30天；公示期仍从登记时起算 / "
        "when the paper notice was put up, if recorded later; the window still runs from the recording")),
    as_: str = AsOpt,
) -> None:
    """发布公示 / post the public notice."""
    from daipin.services.matters import commands

    with unit_of_work() as s:
        command = commands.PublishNotice.parse({"window_days": days, "posted_at": posted_at})
        n = commands.run(s, parse_actor(as_), matter_id, command, at=now(s))
        typer.echo(f"公示 {n.id}：{n.window_days} 天，至 {for_people(n.ends_at)} 止")
        typer.echo(_dump(n.content))


@matter_app.command("object")
def object_(
    matter_id: int = typer.Argument(...),
    text: str = typer.Option(..., "--text", help="异议内容"),
    name: str = typer.Option(None, "--name", help="署名（不填为匿名）"),
    contact: str = typer.Option(None, "--contact", help="联系方式（不公开）"),
    as_: str = typer.Option("public:anonymous", "--as", help=AS_HELP),
) -> None:
    """提出异议（公示期内，可匿名）/ object during the notice window."""
    from daipin.services.matters import commands

    with unit_of_work() as s:
        command = commands.FileObjection.parse({"text": text, "name": name, "contact": contact})
        o = commands.run(s, parse_actor(as_), matter_id, command, at=now(s))
        typer.echo(f"异议 {o.id} 已登记 / objection filed")
        typer.echo(f"回执号 receipt: {o.receipt_no}  查询码 check code: {o.check_code}（只显示这一次 / shown once）")


def _on_objection(objection_id: int, fields: dict[str, object], step: str, as_: str) -> None:
    """A step on one objection; its matter is the one it was filed against."""
    from daipin.services.matters import commands
    from daipin.services.matters import service as wfs

    with unit_of_work() as s:
        command = commands.step_of(step).parse({"objection_id": objection_id, **fields})
        matter_id = wfs.get_objection(s, parse_actor(as_), objection_id).matter_id
        commands.run(s, parse_actor(as_), matter_id, command, at=now(s))
        typer.echo(f"异议 {objection_id}：{step} 已登记 / recorded")


@matter_app.command("redact-objection")
def redact_objection(
    objection_id: int = typer.Argument(...),
    part: str = typer.Argument(..., help="text（异议内容）| answer（答复）"),
    reason: str = typer.Option(..., "--reason", help="隐去理由（记入账本）"),
    replacement: str = typer.Option("", "--replacement", help="公开显示为（不填为“已隐去”）"),
    as_: str = AsOpt,
) -> None:
    """隐去异议的公开内容（写明理由）/ redact an objection's public text or answer, with a recorded reason."""
    _on_objection(objection_id, {"part": part, "reason": reason, "replacement": replacement}, "redact_objection",
                  as_)


@matter_app.command("notify-objector")
def notify_objector(
    objection_id: int = typer.Argument(...),
    via: str = typer.Argument(..., help="phone | sms | letter | in_person | portal"),
    as_: str = AsOpt,
) -> None:
    """登记已告知异议人（方式和时间）/ record how and when the objector was told the answer."""
    _on_objection(objection_id, {"via": via}, "notify_objector", as_)


@matter_app.command("merge-objection")
def merge_objection(
    objection_id: int = typer.Argument(...),
    into: int = typer.Option(..., "--into", help="并入的异议编号"),
    as_: str = AsOpt,
) -> None:
    """合并重复异议（随被并入的异议一并答复）/ merge a duplicate objection into another one."""
    _on_objection(objection_id, {"into": into}, "merge_objection", as_)


@matter_app.command("answer")
def answer(
    objection_id: int = typer.Argument(...),
    outcome: str = typer.Argument(..., help="upheld（成立，事项重新办理）| dismissed（不成立）"),
    reasons: str = typer.Option(..., "--reasons", help="调查核实情况和理由"),
    as_: str = AsOpt,
) -> None:
    """答复异议 / answer an objection."""
    from daipin.services.matters import commands
    from daipin.services.matters import service as wfs

    with unit_of_work() as s:
        command = commands.AnswerObjection.parse({"objection_id": objection_id, "outcome": outcome,
                                                  "reasons": reasons})
        # The command line names the objection alone; its matter is the one it was filed against.
        matter_id = wfs.get_objection(s, parse_actor(as_), objection_id).matter_id
        commands.run(s, parse_actor(as_), matter_id, command, at=now(s))
        _state(s, wfs.get_matter(s, parse_actor(as_), matter_id))


@matter_app.command("execute")
def execute(matter_id: int = typer.Argument(...), as_: str = AsOpt) -> None:
    """执行：按批准的文件重新计算并生成支付批次（只支付一次）/ execute and create the payment batch once."""
    from daipin.domain.money import format_yuan
    from daipin.services.matters import commands

    with unit_of_work() as s:
        ex = commands.run(s, parse_actor(as_), matter_id, commands.Execute(), at=now(s))
        if not ex.created:
            typer.echo("事项已执行，未重复支付 / already executed; nothing paid again")
        if ex.run is not None:
            typer.echo(f"run {ex.run.id}  output sha256 {ex.run.output_digest}")
        if ex.batch is not None:
            typer.echo(f"支付批次 payment batch {ex.batch.id}: {format_yuan(ex.batch.total_fen)} 元 / yuan")
        _state(s, ex.matter)


@matter_app.command("pay")
def pay(
    line_id: int = typer.Argument(..., help="支付明细 id"),
    ref: str = typer.Option("", "--ref", help="银行回单号（已支付时必填）"),
    failed: bool = typer.Option(False, "--failed", help="支付失败"),
    reason: str = typer.Option("", "--reason", help="失败原因"),
    as_: str = AsOpt,
) -> None:
    """按回单逐笔登记：已支付（须回单号）或支付失败（须原因）/ record one line paid (receipt) or failed (reason)."""
    from daipin.services.payments import commands
    from daipin.services.payments import service as payments

    with unit_of_work() as s:
        command = commands.RecordPayment.parse({"outcome": "failed" if failed else "paid", "payment_ref": ref,
                                                "reason": reason})
        line = commands.record(s, parse_actor(as_), line_id, command, at=now(s))
        typer.echo(_dump(payments.line_view(line)))


@matter_app.command("show")
def show(matter_id: int = typer.Argument(...), as_: str = AsOpt) -> None:
    """查看事项 / show a matter, its meeting, notice and payments (personal data masked)."""
    from daipin.services.matters import service as wfs
    from daipin.services.payments import service as payments

    with unit_of_work() as s:
        m = wfs.get_matter(s, parse_actor(as_), matter_id)
        out = wfs.summary(s, m)
        out["preview"] = m.preview
        out["events"] = [{"action": e.action, "to": e.to_state, "at": rows.utc(e.at).isoformat(), "actor": e.actor,
                          "ledger": e.ledger_index} for e in wfs.events(s, m)]
        batch = payments.batch_for_matter(s, m.id)
        out["payments"] = payments.batch_view(s, batch) if batch else None
        typer.echo(_dump(out))


@matter_app.command("list")
def list_(
    state: str = typer.Option(None, "--state"),
    kind: str = typer.Option(None, "--kind"),
    region: str = typer.Option(None, "--region"),
    as_: str = AsOpt,
) -> None:
    """列出事项 / list matters in the actor's region."""
    from daipin.domain.vocabulary import MATTER_KIND, MATTER_STATE
    from daipin.services.matters import service as wfs

    with unit_of_work() as s:
        for m in wfs.list_matters(s, parse_actor(as_), state=state, kind=kind, region=region):
            typer.echo(f"{m.id:>6}  {m.region_code:<12}  {MATTER_KIND.zh(m.kind):<10} {MATTER_STATE.zh(m.state):<8} "
                       f"{m.title}")


@matter_app.command("dossier")
def dossier(
    matter_id: int = typer.Argument(...),
    out: Path = typer.Argument(..., help="输出 zip 文件"),
    as_: str = AsOpt,
) -> None:
    """导出档案（全部文件 + 账本证明），可用 daipin matter verify-dossier 离线核验 / export the dossier zip."""
    from daipin.services.dossiers import service as dossier_service

    with unit_of_work() as s:
        manifest = dossier_service.export(s, parse_actor(as_), matter_id, out)
    typer.echo(f"档案已导出 / dossier written: {out} ({len(manifest['files']) + 1} files, "
               f"{len(manifest['ledger_entries'])} ledger entries, checkpoint size {manifest['checkpoint']['size']})")


@matter_app.command("verify-dossier")
def verify_dossier(
    file: Path = typer.Argument(..., help="档案 zip 文件"),
    key: str = typer.Option(None, "--key", help="信任的公钥 <name>+<hash>+<key>; 默认用包内公钥"),
) -> None:
    """离线核验档案（无需数据库）：账本证明、签名检查点、每份文件与账本记录的摘要一致 / verify a dossier offline."""
    from daipin.services.dossiers import service as dossier_service

    report = dossier_service.verify(file, trusted_key=key)
    if report.ok:
        typer.echo(dossier_service.verify_text(report)
                   + ("" if key else " (key taken from the bundle; compare it with the one you trust)"))
        return
    typer.echo("档案核验失败 / dossier verification FAILED:", err=True)
    for p in report.problems or ["证据包没有条目 / the bundle has no entries"]:
        typer.echo(f"  {p}", err=True)
    raise typer.Exit(1)


@matter_app.command("rules")
def rules(
    county: str = typer.Argument(..., help="区代码(6位)"),
    file: Path = typer.Argument(None, help="规则 JSON/YAML；不填则显示当前规则"),
    as_: str = AsOpt,
) -> None:
    """查看或设置本区议事规则（只能严于法定标准）/ show or set the county's stricter rules."""
    from daipin.services.matters import service as wfs

    with unit_of_work() as s:
        if file is None:
            typer.echo(_dump(wfs.county_rules(s, county).to_dict()))
            return
        parsed = wfs.set_county_rules(s, parse_actor(as_), county, _read_doc(file), at=now(s))
        typer.echo(_dump(parsed.to_dict()))


def register(app: typer.Typer) -> None:
    app.add_typer(matter_app, name="matter")
