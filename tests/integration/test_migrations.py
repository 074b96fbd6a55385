"""The migrations build the schema the models describe, on every backend."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from daipin.db import migrate
from daipin.db.base import Base


def check_schema(engine: Engine) -> None:
    """`alembic check`: the models against the database, type by type and key by key, on every engine (on seekdb
    through `daipin.db.mysql.normalize_show_create`, which makes its `SHOW CREATE TABLE` readable)."""
    migrate.check(engine)  # raises when the models differ from the migrations


def test_migrations_reach_head_and_match_the_models(db_engine: Engine) -> None:
    check_schema(db_engine)
    tables = set(inspect(db_engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_serials_paid_before_0020_stay_unique_after_it(fresh_db_url: str) -> None:
    """Migration 0020 moves a serial's uniqueness from an index on the lines to `payment_receipts`: the serials
    of lines paid before it come along, and the database refuses them again afterwards."""
    from datetime import UTC, datetime

    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm import Session

    from daipin.db.models.registry import Run
    from daipin.db.models.workflow import Matter, PaymentBatch
    from daipin.db.session import make_engine

    engine = make_engine(fresh_db_url)
    try:
        migrate.downgrade(engine, "0015_supervision")
        at = datetime(2026, 3, 1, tzinfo=UTC)
        with Session(engine) as s, s.begin():  # the rows a line belongs to, as they stood before 0020
            m = Matter(kind="village_allocation", state="executed", round=1, county_code="231002",
                       region_code="231002001001", title="2025年度村集体收益分配", year=2025, document={},
                       document_digest="x", warnings=[], created_at=at, created_by="system:0", updated_at=at)
            r = Run(kind="village_allocation", subject="231002001001", year=2025, input_json={}, output_json={},
                    input_digest="x", output_digest="x", actor="system:0", at=at, county_code="231002")
            s.add_all([m, r])
            s.flush()
            b = PaymentBatch(matter_id=m.id, pool_key="p", run_id=r.id, county_code="231002", total_fen=300,
                             status="pending", created_at=at, created_by="system:0")
            s.add(b)
            s.flush()
            batch = b.id
        with engine.begin() as c:
            for i, ref in ((1, "YH001"), (2, ""), (3, "YH003")):
                c.execute(text("INSERT INTO payment_lines (id, batch_id, county_code, payee_type, payee_ref, "
                               "payee_name, amount_fen, bank_account_masked, status, payment_ref, failure_reason) "
                               "VALUES (:i, :b, '231002', 'household', :p, '某某', 100, '', :s, :r, '')"),
                          {"b": batch, "i": i, "p": f"h{i}", "s": "paid" if ref else "pending", "r": ref})
        migrate.upgrade(engine)
        check_schema(engine)
        with engine.connect() as c:
            held = c.execute(text("SELECT county_code, payment_ref, line_id FROM payment_receipts "
                                  "ORDER BY line_id")).all()
            assert [tuple(r) for r in held] == [("231002", "YH001", 1), ("231002", "YH003", 3)]
        for values in ("('231002', 'YH003', 2)",  # a serial settles one line
                       "('231002', 'YH009', 3)"):  # and a line has one serial
            with pytest.raises(IntegrityError), engine.begin() as c:
                c.execute(text(f"INSERT INTO payment_receipts (county_code, payment_ref, line_id) VALUES {values}"))
        with engine.connect() as c:
            if c.dialect.name == "postgresql":
                opts = c.execute(text("SELECT reloptions FROM pg_class WHERE relname = 'payment_lines'")).scalar()
                assert "fillfactor=20" in opts  # 0020 made it 30, 0026 20: room for a line's sent and paid versions
                lz4 = c.execute(text("SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                                     "WHERE name = 'default_toast_compression'")).scalar()
                comp = c.execute(text("SELECT attcompression FROM pg_attribute WHERE attrelid = "
                                      "'ledger_entry'::regclass AND attname = 'body'")).scalar()
                assert (comp or "").strip("\x00") == ("l" if lz4 else "")  # 0025: large ledger bodies compressed with lz4 where it exists
    finally:
        engine.dispose()
