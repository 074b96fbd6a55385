"""CLI commands of the web area: `daipin serve`, `daipin demo`, `daipin user add|list|disable`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from daipin.domain.actors import Actor
    from daipin.services.auth import DemoAccount

user_app = typer.Typer(help="账户管理 accounts", no_args_is_help=True)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach."""
    import ipaddress

    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def refuse_demo_off_loopback(host: str) -> None:
    """Demo accounts share a published password: never expose them beyond this machine."""
    from daipin.db.session import session_scope
    from daipin.services import auth as auth_service

    with session_scope() as session:
        demo = auth_service.has_demo_accounts(session)
    if demo and not is_loopback(host):
        typer.echo(
            f"拒绝启动：数据库中有演示账户，只能在本机地址上运行（当前 {host}）。"
            f"\nrefusing to start: the database holds demo accounts; bind to 127.0.0.1 only (got {host}).",
            err=True,
        )
        raise typer.Exit(2)


def run_server(host: str, port: int) -> None:
    import uvicorn

    from daipin.api import create_app

    refuse_demo_off_loopback(host)
    uvicorn.run(create_app(), host=host, port=port, log_level="info", access_log=False)


def serve(
    host: str = typer.Option("127.0.0.1", help="监听地址 / bind address"),
    port: int = typer.Option(8000, help="端口 / port"),
) -> None:
    """启动网站与接口 / serve the pages and the JSON API (uvicorn)."""
    run_server(host, port)


def demo(
    port: int = typer.Option(8000, help="端口 / port"),
    no_serve: bool = typer.Option(False, "--no-serve", help="只准备数据，不启动 / set up only"),
) -> None:
    """演示：建库、密钥、示例区县、演示账户，并在本机启动 / set up the demo database and serve it on 127.0.0.1."""
    from datetime import UTC, datetime

    from daipin.db import migrate
    from daipin.db.session import database_url, get_engine, session_scope

    migrate.upgrade(get_engine())
    at = datetime.now(UTC)
    with session_scope() as session:
        accounts = setup_demo(session, at)
    from sqlalchemy.engine import make_url

    typer.echo(f"演示数据库 / demo database: {make_url(database_url()).render_as_string(hide_password=True)}")
    typer.echo(f"\n  打开 / open:  http://127.0.0.1:{port}/\n")
    typer.echo("  演示账户 / demo accounts (用户名 / 密码):")
    for acc in accounts:
        typer.echo(f"    {acc.username:<10} / {acc.password:<12} {acc.label}  {acc.region}")
    typer.echo("  公示公告（无需登录）/ public portal: " + f"http://127.0.0.1:{port}/public\n")
    if not no_serve:
        run_server("127.0.0.1", port)


def setup_demo(session: Session, at: datetime, *, roster_villages: int = 3) -> list[DemoAccount]:
    """Ledger, sample district, confirmed rosters for its first villages, the sample year's settlements,
    demo accounts. Returns the accounts."""
    from daipin.ledger import store
    from daipin.services import auth as auth_service
    from daipin.services import sample

    store.ensure_log(session, at=at)
    if not sample.is_loaded(session):
        sample.load_sample(session, _operator(), at)
    places = sample_places(session)
    from daipin.domain.errors import DaipinError

    try:
        with session.begin_nested():
            confirm_rosters(session, at, limit=roster_villages)
    except DaipinError as exc:
        # The demo still works without them: the roster matter can be walked by hand first.
        typer.echo(f"未能预先确认收益扶贫对象名单 / rosters not pre-confirmed: {exc}", err=True)
    settle_projects(session, at)
    return auth_service.create_demo_accounts(session, at=at, **places)


def settle_projects(session: Session, at: datetime) -> list[int]:
    """Run the sample year's settlement of every project that has none yet, so dues and arrears exist.

    Without a settlement the dashboard's arrears and each entity's dues would be empty. A project the
    engine cannot settle (no audited profit recorded) is reported and skipped. Returns the new run ids.
    """
    from sqlalchemy import select

    from daipin.db.models.registry import Project, Run
    from daipin.domain.errors import DaipinError
    from daipin.services import runs, sample

    year = sample.YEAR
    settled = set(session.scalars(select(Run.subject).where(Run.kind == "settlement", Run.year == year)))
    done = []
    for project in session.scalars(select(Project).order_by(Project.code)).all():
        if project.code in settled:
            continue
        try:
            with session.begin_nested():
                done.append(runs.run_settlement(session, _operator(), project.id, year, at).id)
        except DaipinError as exc:
            typer.echo(f"项目 {project.code} 未能结算 / not settled: {exc}", err=True)
    return done


def _operator() -> Actor:
    from daipin.domain.actors import SYSTEM_ACTOR

    return SYSTEM_ACTOR


def confirm_rosters(session: Session, at: datetime, *, limit: int = 3) -> list[int]:
    """Take the sample year's beneficiary roster of the first villages through meeting, review and notice.

    Village allocations may only pay a confirmed roster, so a demo needs one to start from. The
    steps are dated in the past (meeting called 40 days ago) so the windows have run their course.
    """
    from datetime import timedelta

    from sqlalchemy import select

    from daipin.db.models.registry import Region
    from daipin.services import rosters, sample
    from daipin.services import workflow as wf

    actor = _operator()
    year = sample.YEAR
    done = []
    codes = session.scalars(select(Region.code).where(Region.level == "village").order_by(Region.code).limit(limit))
    for code in list(codes):
        if rosters.confirmed_roster(session, code, year) is not None:
            continue
        t = at - timedelta(days=40)
        m = rosters.draft_roster(session, actor, village_code=code, year=year, at=t)
        wf.call_meeting(session, actor, m.id, type="representatives_meeting", scheduled_at=t + timedelta(days=11),
                        place="村委会议室", at=t, eligible_representatives=30)
        t += timedelta(days=11, hours=1)
        wf.record_attendance(session, actor, m.id, at=t, present_representatives=25, first_secretary_present=True)
        wf.record_votes(session, actor, m.id, at=t, votes_for=23, against=1, abstain=1)
        wf.decide(session, actor, m.id, at=t)
        wf.submit_for_review(session, actor, m.id, at=t)
        t += timedelta(hours=2)
        wf.review(session, actor, m.id, decision="approve", comments="名单与系统登记一致", at=t)
        wf.publish_notice(session, actor, m.id, at=t)
        t += timedelta(days=11)
        wf.close_notice(session, actor, m.id, at=t)
        wf.execute(session, actor, m.id, at=t)
        done.append(m.id)
    return done


def sample_places(session: Session) -> dict[str, Any]:
    """The county, first township and village, and first entity of the loaded district."""
    from sqlalchemy import select

    from daipin.db.models import registry as m

    village = session.scalar(select(m.Region).where(m.Region.level == "village").order_by(m.Region.code).limit(1))
    entity = session.scalar(select(m.Entity).order_by(m.Entity.id).limit(1))
    if village is None:
        from daipin.domain.errors import NotFound

        raise NotFound("示例区县尚未载入", "the sample district is not loaded", "sample")
    code = village.code
    return {"county": code[:6], "township": code[:9], "village": code, "entity_id": entity.id if entity else None}


def user_add(
    username: str = typer.Argument(..., help="用户名"),
    role: str = typer.Option(..., help="district_admin | township_official | village_cadre | entity_user | auditor"),
    region: str = typer.Option(..., help="区域代码 region code (6/9/12 digits)"),
    entity_id: int | None = typer.Option(None, help="实施主体编号 (entity users)"),
    name: str = typer.Option("", help="显示名称 display name"),
    password: str = typer.Option(..., prompt="密码 password", hide_input=True, confirmation_prompt=True),
) -> None:
    """新建账户 / create an account."""
    from datetime import UTC, datetime

    from daipin.db.session import session_scope
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.domain.errors import DaipinError
    from daipin.services import auth as auth_service

    try:
        with session_scope() as session:
            user = auth_service.create_user(session, actor=SYSTEM_ACTOR, username=username, password=password,
                                            role=role, region=region, entity_id=entity_id, display_name=name,
                                            at=datetime.now(UTC))
            typer.echo(f"已创建账户 / created: {user.username} ({user.role}, {user.region_code})")
    except DaipinError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


def user_list() -> None:
    """列出账户 / list accounts."""
    from daipin.db.session import session_scope
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.services import auth as auth_service

    with session_scope() as session:
        for u in auth_service.list_users(session, actor=SYSTEM_ACTOR):
            flag = "" if u.active else "  (停用 disabled)"
            typer.echo(f"{u.username:<16} {u.role:<18} {u.region_code:<12} {u.display_name}{flag}")


def user_disable(username: str = typer.Argument(...)) -> None:
    """停用账户 / disable an account (its sessions end)."""
    from daipin.db.session import session_scope
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.domain.errors import DaipinError
    from daipin.services import auth as auth_service

    try:
        with session_scope() as session:
            auth_service.set_active(session, actor=SYSTEM_ACTOR, username=username, active=False)
    except DaipinError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"已停用 / disabled: {username}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the top-level app."""
    app.command("serve")(serve)
    app.command("demo")(demo)
    user_app.command("add")(user_add)
    user_app.command("list")(user_list)
    user_app.command("disable")(user_disable)
    app.add_typer(user_app, name="user")
