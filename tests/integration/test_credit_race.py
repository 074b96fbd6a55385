"""Of four processes proposing to list one entity at once on PostgreSQL, one opens the listing and three are
refused by name: the database's unique live key holds the rule, not only the check before the insert."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from daipin.db.models.ledger import LedgerEntry
from daipin.db.models.registry import Entity
from daipin.db.models.supervision import CreditListing
from daipin.domain.actors import SYSTEM_ACTOR
from daipin.services.sample import service as sample
from tests.conftest import create_database, drop_database
from tests.integration.api_support import START

RACER = """
import sys, time
from datetime import datetime
from daipin import bootstrap
bootstrap.configure()
from daipin.db.session import make_engine, reset_engine, session_scope
from daipin.domain.actors import SYSTEM_ACTOR
from daipin.domain.errors import DaipinError
url, entity, at, start, name = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5]
reset_engine(make_engine(url))
while time.time() < start:
    time.sleep(0.001)
try:
    with session_scope() as s:
        from daipin.services.credit import service as credit
        credit.propose_listing(s, SYSTEM_ACTOR, entity=entity, reasons="拖欠分红 " + name,
                               basis="国办发〔2020〕49号", at=datetime.fromisoformat(at))
    print("ok")
except DaipinError as exc:
    print("refused:" + exc.code)
"""


@pytest.fixture
def pg_sample(tmp_path: Path) -> Iterator[dict[str, Any]]:
    from daipin.db.session import make_engine, reset_engine, session_scope
    from daipin.ledger import store

    url = create_database("postgresql", str(tmp_path))
    keys = str(tmp_path / "keys")
    os.environ["DAIPIN_KEYS_DIR"] = keys
    engine = make_engine(url)
    reset_engine(engine)
    try:
        with session_scope() as s:
            at = START - timedelta(days=60)
            store.ensure_log(s, at=at)
            sample.load_sample(s, SYSTEM_ACTOR, at)
            entity = s.scalar(select(Entity.id).order_by(Entity.id))
        yield {"url": url, "keys": keys, "entity": entity}
    finally:
        reset_engine(None)
        engine.dispose()
        drop_database(url)


def test_of_four_processes_listing_one_entity_at_once_one_opens_the_listing(pg_sample: dict[str, Any]) -> None:
    from daipin.db.session import session_scope
    from daipin.ledger.verify import verify_log

    env = {**os.environ, "DAIPIN_DATABASE_URL": pg_sample["url"], "DAIPIN_KEYS_DIR": pg_sample["keys"]}
    start = time.time() + 3  # every process is up and waiting before any begins
    at = (START + timedelta(hours=1)).isoformat()
    procs = [subprocess.Popen([sys.executable, "-c", RACER, pg_sample["url"], str(pg_sample["entity"]), at,
                               str(start), str(i)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(4)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outs.append(out.strip().splitlines()[-1])
    assert sorted(outs) == ["ok"] + ["refused:listing_live"] * 3
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(CreditListing)
                        .where(CreditListing.entity_id == pg_sample["entity"])) == 1
        assert s.scalar(select(func.count()).select_from(LedgerEntry)
                        .where(LedgerEntry.type == "credit.listing_notified")) == 1
        assert verify_log(s).ok
