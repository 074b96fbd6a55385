"""A person serves one term at a time in a village's representatives list: processes recording overlapping terms of
one person at once take the village's row lock in turn, so one wins and the others are refused. On PostgreSQL,
in separate processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from daipin.db.models.registry import Household, Person, VillageRepresentative
from daipin.domain.actors import SYSTEM_ACTOR
from daipin.services.sample import service as sample
from tests.conftest import create_database, drop_database
from tests.integration.api_support import START

VILLAGE = "231002001002"

RACER = """
import json, sys, time
from daipin import bootstrap
bootstrap.configure()
from daipin.db.session import make_engine, reset_engine, session_scope
from daipin.domain.actors import SYSTEM_ACTOR
from daipin.domain.errors import DaipinError
from datetime import date, datetime
url, arg, start = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3])
reset_engine(make_engine(url))
while time.time() < start:
    time.sleep(0.001)
try:
    from daipin.services.villages import service as villages
    with session_scope() as s:
        villages.add_representative(s, SYSTEM_ACTOR, arg["village"], person_id=arg["person"],
                                    from_date=date.fromisoformat(arg["from"]), at=datetime.fromisoformat(arg["at"]))
    print("ok")
except DaipinError as exc:
    print("refused:" + exc.code)
"""


@pytest.fixture
def pg_village(tmp_path: Path) -> Any:
    """A committed PostgreSQL database holding the sample district, and an adult of one village who is no
    representative."""
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
            sample.load_sample(s, SYSTEM_ACTOR, at, households_per_village=sample.MIN_HOUSEHOLDS)
            serving = select(VillageRepresentative.person_id)
            person = s.scalar(select(Person.id).join(Household, Person.household_id == Household.id)
                              .where(Household.village_code == VILLAGE, Person.life_state == "alive",
                                     Household.life_state == "alive", Person.birth_date < date(1990, 1, 1),
                                     Person.id.not_in(serving)).order_by(Person.id).limit(1))
            assert person is not None
        yield {"url": url, "keys": keys, "person": person}
    finally:
        reset_engine(None)
        engine.dispose()
        drop_database(url)


def test_of_four_processes_recording_overlapping_terms_of_one_person_one_wins(pg_village: dict[str, Any]) -> None:
    from daipin.db.session import session_scope
    from daipin.ledger.verify import verify_log

    env = {**os.environ, "DAIPIN_DATABASE_URL": pg_village["url"], "DAIPIN_KEYS_DIR": pg_village["keys"]}
    start = time.time() + 3  # every process is up and waiting before any begins
    procs = []
    for i in range(4):
        arg = {"village": VILLAGE, "person": pg_village["person"], "from": f"2024-0{i + 1}-01",
               "at": (START + timedelta(hours=1)).isoformat()}
        procs.append(subprocess.Popen([sys.executable, "-c", RACER, pg_village["url"], json.dumps(arg), str(start)],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outs.append(out.strip().splitlines()[-1])
    assert sorted(outs) == ["ok"] + ["refused:representative_overlap"] * 3
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(VillageRepresentative).where(
            VillageRepresentative.person_id == pg_village["person"])) == 1
        assert verify_log(s).ok
