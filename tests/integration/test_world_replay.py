"""The replayed sample world (tests/integration/world_cache.py) is the world a build makes: the same rows in
every table, a ledger that verifies, tokens that log in, sealed personal data that opens; and a database that is
not empty is never replayed into."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from daipin.db.models.registry import Person
from daipin.ledger.verify import verify_log
from tests.integration import world_cache
from tests.integration.api_support import (
    START,
    World,
    app_rolling_back,
    build_world,
    client,
    world_with_executed_allocation,
)


def _contents(session: Session) -> dict[str, int]:
    conn = session.connection()
    names = sorted(set(inspect(conn).get_table_names()) - {"alembic_version"})
    q = session.get_bind().dialect.identifier_preparer.quote_identifier
    return {t: int(conn.execute(text(f"SELECT COUNT(*) FROM {q(t)}")).scalar_one()) for t in names}


def _world_in_savepoint(session: Session, keys: Path, monkeypatch: pytest.MonkeyPatch, *, cache: bool,
                        check: Any, builder: Any = build_world) -> Any:
    monkeypatch.setenv(world_cache.ENV, "1" if cache else "0")
    sp = session.begin_nested()
    try:
        w = builder(session, str(keys))
        return check(w)
    finally:
        sp.rollback()
        session.expire_all()


def _observe(session: Session) -> Any:
    def check(w: World) -> tuple[dict[str, int], int, list[str], str]:
        session.flush()
        report = verify_log(session)
        assert report.ok, report.problems[:3]
        first = session.scalars(select(Person).where(Person.household_id == w.ids["hh_own"])
                                .order_by(Person.id).limit(1)).one()
        # Sealed in the row, open through the model: the key that sealed it is in this world's key folder.
        assert len(first.id_number) == 18 and first.id_number[:6].isdigit()
        app, _ = app_rolling_back(session)
        with client(app) as c:
            for role in w.tokens:
                assert c.get("/api/v1/auth/me", headers=w.headers(role)).status_code == 200, role
        return _contents(session), report.size, sorted(w.ids), first.id_number
    return check


def test_world_replay_equals_a_build(session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # With nothing recorded yet, the first call builds through the services (and records what it wrote) ...
    monkeypatch.setattr(world_cache, "_snapshots", {})
    built = _world_in_savepoint(session, tmp_path / "k1", monkeypatch, cache=True, check=_observe(session))
    assert world_cache._key(session.get_bind().dialect.name) in world_cache._snapshots
    # ... and the next one replays that record.
    replays: list[str] = []
    real = world_cache._replay
    monkeypatch.setattr(world_cache, "_replay", lambda s, k, snap: replays.append(k) or real(s, k, snap))
    replayed = _world_in_savepoint(session, tmp_path / "k3", monkeypatch, cache=True, check=_observe(session))
    assert replays == [str(tmp_path / "k3")]
    assert replayed[0] == built[0]  # every table holds as many rows as after a build
    assert replayed[1] == built[1]  # as many ledger entries, all verifying
    assert replayed[2] == built[2]
    assert replayed[3][:6] == built[3][:6]  # the same household's first member: same place of birth
    assert _key_files(tmp_path / "k3") == _key_files(tmp_path / "k1")  # the same key files (each world's own keys)


def test_the_world_with_an_executed_allocation_replays_as_its_build(session: Session, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from daipin.db.models.workflow import Matter, PaymentLine
    from daipin.services.payments import service as payments

    def check(w: World) -> tuple[Any, ...]:
        observed = _observe(session)(w)
        m = session.get(Matter, w.ids["executed"])
        assert m is not None and m.state == "executed"
        b = payments.batch_for_matter(session, m.id)
        assert b is not None
        lines = [(x.seq, x.payee_name, x.amount_fen, x.status) for x in session.scalars(
            select(PaymentLine).where(PaymentLine.batch_id == b.id).order_by(PaymentLine.seq))]
        assert lines
        return (*observed, w.ids["executed"], b.status, lines)

    # Recorded under its own name beside the plain world's, which the build itself starts from ...
    monkeypatch.setattr(world_cache, "_snapshots", {})
    built = _world_in_savepoint(session, tmp_path / "k1", monkeypatch, cache=True, check=check,
                                builder=world_with_executed_allocation)
    engine = session.get_bind().dialect.name
    assert {world_cache._key(engine), world_cache._key(engine, "executed_allocation")} <= set(world_cache._snapshots)
    # ... and replayed after: the same rows, ledger, matter, batch and lines.
    replays: list[str] = []
    real = world_cache._replay
    monkeypatch.setattr(world_cache, "_replay", lambda s, k, snap: replays.append(k) or real(s, k, snap))
    replayed = _world_in_savepoint(session, tmp_path / "k2", monkeypatch, cache=True, check=check,
                                   builder=world_with_executed_allocation)
    assert replays == [str(tmp_path / "k2")]  # one replay, the allocation's (not the world's, then a build)
    assert replayed[0] == built[0] and replayed[1] == built[1] and replayed[2] == built[2]
    assert replayed[3][:6] == built[3][:6]
    assert replayed[4:] == built[4:]
    assert _key_files(tmp_path / "k2") == _key_files(tmp_path / "k1")


def _key_files(folder: Path) -> list[str]:
    return sorted(re.sub(r"[0-9a-f]{12}", "KID", str(p.relative_to(folder))) for p in folder.rglob("*"))


def test_a_database_with_rows_or_a_key_folder_with_files_is_never_replayed_into(
        session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.ledger import store
    from daipin.services.registry import service as reg

    _world_in_savepoint(session, tmp_path / "k0", monkeypatch, cache=True, check=lambda w: None)  # a snapshot
    assert world_cache._key(session.get_bind().dialect.name) in world_cache._snapshots
    built: list[str] = []

    def fake_build(s: Session, keys: str) -> World:
        built.append(keys)
        return World()

    monkeypatch.setattr(world_cache, "_replay", lambda *a: pytest.fail("replayed"))
    (tmp_path / "k1").mkdir()
    (tmp_path / "k1" / "signer.key").write_text("x")
    world_cache.build(session, str(tmp_path / "k1"), fake_build, World)
    assert built == [str(tmp_path / "k1")]

    monkeypatch.setenv("DAIPIN_KEYS_DIR", str(tmp_path / "k2"))
    sp = session.begin_nested()
    store.ensure_log(session, at=START - timedelta(days=90))
    reg.create_region(session, SYSTEM_ACTOR, code="231099", name="试验区", level="district",
                      at=START - timedelta(days=90))
    session.flush()
    assert not world_cache._database_is_empty(session)
    world_cache.build(session, str(tmp_path / "k3"), fake_build, World)
    assert built[-1] == str(tmp_path / "k3")
    sp.rollback()
    assert world_cache._database_is_empty(session)
