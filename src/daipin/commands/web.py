"""CLI commands of the web area: `daipin serve`, `daipin demo`, `daipin user add|list|disable`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer

from daipin.config import settings
from daipin.domain.vocabulary import ROLE

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from daipin.domain.actors import Actor
    from daipin.services.auth.service import DemoAccount

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
    from daipin.services.auth import service as auth_service

    with session_scope() as session:
        demo = auth_service.has_demo_accounts(session)
    if demo and not is_loopback(host):
        typer.echo(
            f"拒绝启动：数据库中有演示账户，只能在本机地址上运行（当前 {host}）。"
            f"\nrefusing to start: the database holds demo accounts; bind to 127.0.0.1 only (got {host}).",
            err=True,
        )
        raise typer.Exit(2)


POOL_ENV = "DAIPIN_DB_POOL"
CONCURRENCY_ENV = "DAIPIN_CONCURRENCY"
BASE_URL_ENV = "DAIPIN_BASE_URL"


def server_app() -> Any:
    """The app as `daipin serve` runs it in each worker process (by import string with several workers).

    Each request holds one database connection from the threadpool thread that runs it until it commits,
    so the pool keeps `DAIPIN_DB_POOL` connections open and lets as many more be opened under a burst, up to
    the threadpool's 40 threads: a pool smaller than the concurrency would open and close a PostgreSQL
    connection (a server process) for most requests.
    """

    from daipin.db.session import database_url, make_engine
    from daipin.server import create_app

    url = database_url()
    pool = settings().db_pool
    # No parallel query for page requests on PostgreSQL: starting worker processes costs more (tens of
    # milliseconds) than the index scans these requests make, and the cores are already busy serving other
    # requests. `options` is libpq's; the MySQL drivers take no such argument (and run no parallel query).
    connect_args = {"options": "-c max_parallel_workers_per_gather=0"} if url.startswith("postgresql") else {}
    engine = make_engine(url) if url.startswith("sqlite") else make_engine(
        url, pool_size=pool, max_overflow=max(0, 40 - pool), pool_recycle=3600, connect_args=connect_args)
    return create_app(engine)


def default_workers() -> int:
    """One process per core on PostgreSQL (requests are CPU-bound in Python); one on SQLite (one writer)."""
    import os

    from daipin.db.session import database_url

    if database_url().startswith("sqlite"):
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def run_server(host: str, port: int, *, workers: int = 0, db_pool: int = 10, concurrency: int = 1) -> None:
    import os
    import socket

    from daipin.http.settings import _secret_from_env

    refuse_demo_off_loopback(host)
    workers = workers or default_workers()
    os.environ[POOL_ENV] = str(db_pool)
    os.environ[CONCURRENCY_ENV] = str(max(0, concurrency))
    # The notices' printed links and QR codes point at this server unless a public address is configured.
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    os.environ.setdefault(BASE_URL_ENV, f"http://{f'[{shown}]' if ':' in shown else shown}:{port}")
    settings()  # a bad setting stops the start here, naming its variable, before any worker is made
    _secret_from_env()  # made once here, before the workers start, so that they all read the same key
    _log_setup()
    typer.echo(f"{workers} 个工作进程 / worker processes")
    if hasattr(socket, "SO_REUSEPORT"):
        Supervisor(host, port, workers).run()
    else:  # (no SO_REUSEPORT: uvicorn's own workers on one shared socket, which it also restarts)
        import uvicorn

        uvicorn.run("daipin.commands.web:server_app", factory=True, workers=workers, host=host, port=port,
                    log_config=None, access_log=False)


def _log_setup() -> None:
    from daipin.http.observe import configure_logging

    config = settings()
    configure_logging(config.log_level, config.log_format)


def _reuseport_worker(host: str, port: int) -> None:
    """One worker process with its own listening socket on the shared port (SO_REUSEPORT)."""
    import socket

    import uvicorn

    _log_setup()  # (a spawned process starts with no logging set up)
    app = server_app()  # before listening: the kernel hands a listening socket connections at once
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host.strip("[]"), port))
    sock.listen(2048)
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


class Supervisor:
    """Worker processes that each listen on the port themselves (SO_REUSEPORT), so that the kernel spreads new
    connections over them: with one shared socket the first worker to wake accepts a whole burst, and a few
    long-lived keep-alive connections can all land on one process while the other cores idle.

    The supervisor keeps `workers` of them running: a worker that dies (killed, out of memory) is replaced at
    once, but if workers die more than `max_restarts` times in a minute the server stops rather than loop.
    SIGHUP reloads gracefully (a new worker is started for each old one, then the old one is asked to finish its
    requests and stop); SIGTERM or Ctrl-C stops them all, each finishing the requests it holds. With several
    workers, request metrics are kept in files that /metrics adds up (PROMETHEUS_MULTIPROC_DIR)."""

    def __init__(self, host: str, port: int, workers: int, *, max_restarts: int = 10) -> None:
        self.host, self.port, self.workers, self.max_restarts = host, port, workers, max_restarts
        self.procs: list[Any] = []
        self.restarts: list[float] = []
        self.stopping = False
        self.reload = False

    def _start(self, i: int) -> Any:
        import multiprocessing

        proc = multiprocessing.get_context("spawn").Process(target=_reuseport_worker, args=(self.host, self.port),
                                                            name=f"daipin-worker-{i}")
        proc.start()
        return proc

    def run(self) -> None:
        import logging
        import multiprocessing.connection
        import os
        import shutil
        import signal
        import tempfile
        import time

        log = logging.getLogger("daipin.server")
        metrics_dir = tempfile.mkdtemp(prefix="daipin-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir

        def stop(*_: Any) -> None:
            self.stopping = True

        def hup(*_: Any) -> None:
            self.reload = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, hup)
        try:
            self.procs = [self._start(i) for i in range(self.workers)]
            log.info("started %d workers: %s", self.workers, [p.pid for p in self.procs])
            while not self.stopping:
                multiprocessing.connection.wait([p.sentinel for p in self.procs], timeout=0.5)
                if self.reload:
                    self.reload = False
                    log.info("reloading: new workers first, then the old ones finish their requests")
                    for i, old in enumerate(list(self.procs)):
                        self.procs[i] = self._start(i)
                        time.sleep(1.0)  # the new one listens before the old one stops taking connections
                        old.terminate()
                        old.join(30)
                    continue
                for i, proc in enumerate(self.procs):
                    if proc.is_alive() or self.stopping:
                        continue
                    now = time.monotonic()
                    self.restarts = [t for t in self.restarts if now - t < 60] + [now]
                    if len(self.restarts) > self.max_restarts:
                        log.error("workers died %d times within a minute; stopping", len(self.restarts))
                        self.stopping = True
                        break
                    from prometheus_client import multiprocess

                    multiprocess.mark_process_dead(proc.pid)  # type: ignore[no-untyped-call]
                    self.procs[i] = self._start(i)
                    log.warning("worker %s (pid %s) ended with code %s; replaced by pid %s", i, proc.pid,
                                proc.exitcode, self.procs[i].pid)
        finally:
            for proc in self.procs:
                if proc.is_alive():
                    proc.terminate()
            for proc in self.procs:
                proc.join(30)
            shutil.rmtree(metrics_dir, ignore_errors=True)


def serve(
    host: str = typer.Option("127.0.0.1", help="监听地址 / bind address"),
    port: int = typer.Option(8000, help="端口 / port"),
    workers: int = typer.Option(0, help="工作进程数，0 = PostgreSQL 每核一个、SQLite 一个 / worker processes "
                                        "(0: one per core on PostgreSQL, one on SQLite)"),
    db_pool: int = typer.Option(10, help="每个进程保持的数据库连接数 / database connections kept per process"),
    concurrency: int = typer.Option(1, help="每个进程同时处理的请求数，其余按到达顺序排队；0 = 不限 / requests each "
                                            "process works on at once, the rest queue in arrival order (0: no limit)"),
) -> None:
    """启动网站与接口 / serve the pages and the JSON API (uvicorn)."""
    run_server(host, port, workers=workers, db_pool=db_pool, concurrency=concurrency)


def demo(
    port: int = typer.Option(8000, help="端口 / port"),
    no_serve: bool = typer.Option(False, "--no-serve", help="只准备数据，不启动 / set up only"),
) -> None:
    """演示：建库、密钥、示例区县、演示账户，并在本机启动 / set up the demo database and serve it on 127.0.0.1."""
    from datetime import UTC, datetime

    from daipin.db import migrate
    from daipin.db.session import database_url, get_engine, session_scope

    migrate.upgrade(get_engine())
    from daipin.domain.errors import DaipinError

    at = datetime.now(UTC)
    try:
        with session_scope() as session:
            accounts = setup_demo(session, at)
    except DaipinError as exc:
        typer.echo(f"错误 / error: {exc.text()}", err=True)
        raise typer.Exit(2) from None
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
    from daipin.domain.errors import Conflict
    from daipin.ledger import clock, keys, store
    from daipin.services.auth import service as auth_service
    from daipin.services.sample import service as sample

    # The demo's database is a training one from its creation (its ledger's origin says so): its pages and
    # printed notices are watermarked, and only there may the clock be advanced.
    info = store.ensure_log(session, at=at, origin=clock.training_origin(keys.default_county()))
    if not clock.is_training_origin(info.origin):
        raise Conflict(f"该数据库的账本 {info.origin} 是生产账本，不能装入演示数据；请为演示另建数据库",
                       f"the ledger {info.origin} is a production ledger: demo data is not loaded into it; "
                       "use a new database for the demo", "database", code="production_database")
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
    from daipin.services.sample import walk

    try:
        with session.begin_nested():
            walk.walk_demo_matters(session, _operator(), at)
    except DaipinError as exc:
        # The demo still works without them: each step can be reached from a new draft.
        typer.echo(f"未能预置各步骤的演示事项 / demo matters not set up: {exc}", err=True)
    return auth_service.create_demo_accounts(session, at=at, **places)


def settle_projects(session: Session, at: datetime) -> list[int]:
    """Run the sample year's settlement of every project that has none yet, so dues and arrears exist.

    Without a settlement the dashboard's arrears and each entity's dues would be empty. A project the
    engine cannot settle (no audited profit recorded) is reported and skipped. Returns the new run ids.
    """
    from sqlalchemy import select

    from daipin.db.models.registry import Project, Run
    from daipin.domain.errors import DaipinError
    from daipin.services.runs import service as runs
    from daipin.services.sample import service as sample

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
    from daipin.services.matters import service as wf
    from daipin.services.rosters import service as rosters
    from daipin.services.sample import service as sample

    actor = _operator()
    year = sample.YEAR
    done = []
    codes = session.scalars(select(Region.code).where(Region.level == "village").order_by(Region.code).limit(limit))
    for code in list(codes):
        if rosters.confirmed_roster(session, code, year) is not None:
            continue
        t = at - timedelta(days=40)
        m = rosters.draft_roster(session, actor, village_code=code, year=year, at=t)
        # The representatives are the village's recorded ones: all attend, all but one vote for.
        mt = wf.call_meeting(session, actor, m.id, type="representatives_meeting",
                             scheduled_at=t + timedelta(days=11), place="村委会议室", at=t)
        n = mt.eligible_representatives
        t += timedelta(days=11, hours=1)
        wf.record_attendance(session, actor, m.id, at=t, present_representatives=n, first_secretary_present=True)
        wf.record_votes(session, actor, m.id, at=t, votes_for=n - 1, against=1, abstain=0)
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
    role: str = typer.Option(..., help="district_admin | township_official | village_cadre | entity_user | auditor | discipline"),
    region: str = typer.Option(..., help="区域代码 region code (6/9/12 digits)"),
    entity_id: int | None = typer.Option(None, help="实施主体编号 (entity users)"),
    name: str = typer.Option("", help="显示名称 display name"),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="从标准输入读取密码（一行），用于脚本 / read the password from standard "
                                             "input (one line), for scripts"),
) -> None:
    """新建账户；密码在提示时输入（不回显），或由 --password-stdin 读入，从不写在命令行上 / create an account; the
    password is typed at a prompt (not echoed) or read with --password-stdin, never given on the command line
    (where `ps` and the shell's history would show it)."""
    import sys
    from datetime import UTC, datetime

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("密码 password", hide_input=True, confirmation_prompt=True)

    from daipin.db.session import session_scope
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.domain.errors import DaipinError
    from daipin.services.auth import service as auth_service

    try:
        with session_scope() as session:
            user = auth_service.create_user(session, actor=SYSTEM_ACTOR, username=username, password=password,
                                            role=role, region=region, entity_id=entity_id, display_name=name,
                                            at=datetime.now(UTC))
            typer.echo(f"已创建账户 / created: {user.username} ({ROLE.zh(user.role)}, {user.region_code})")
    except DaipinError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


def user_list() -> None:
    """列出账户 / list accounts."""
    from daipin.db.session import session_scope
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.services.auth import service as auth_service

    with session_scope() as session:
        for u in auth_service.list_users(session, actor=SYSTEM_ACTOR):
            flag = "" if u.active else "  (停用 disabled)"
            typer.echo(f"{u.username:<16} {u.role:<18} {ROLE.zh(u.role):<6} {u.region_code:<12} {u.display_name}{flag}")


def user_disable(username: str = typer.Argument(...)) -> None:
    """停用账户 / disable an account (its sessions end)."""
    from daipin.db.session import session_scope
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.domain.errors import DaipinError
    from daipin.services.auth import service as auth_service

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
