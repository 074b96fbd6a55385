"""Fixtures and builders shared by the registry, contract, import and run tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.ledger import LedgerEntry
from daipin.domain.actors import SYSTEM_ACTOR, Actor
from daipin.domain.identity import make_resident_id, make_uscc
from daipin.ledger import store
from daipin.services.registry import service as reg

AT = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
ACTOR: Actor = SYSTEM_ACTOR
VILLAGE = "231002001001"
VILLAGE_B = "231002001002"
TOWN = "231002001"


def person_id(seq: int, sex: str = "M") -> str:
    """A fictitious resident ID with a valid checksum."""
    return make_resident_id("231002", date(1985 + seq // 336 % 30, 1 + seq % 12, 1 + seq // 12 % 28), 99, sex)


@pytest.fixture(name="rs")
def rs_fixture(session: Session, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    """A rolled-back session with a ledger and a small district: 东安区, 兴隆镇, 兴隆村 (poor), 新民村."""
    monkeypatch.setenv("DAIPIN_KEYS_DIR", str(tmp_path / "keys"))
    store.ensure_log(session, county="231002", at=AT)
    reg.create_region(session, ACTOR, code="231002", name="东安区", level="district", at=AT)
    reg.create_region(session, ACTOR, code=TOWN, name="兴隆镇", level="township", at=AT)
    reg.create_region(session, ACTOR, code=VILLAGE, name="兴隆村", level="village", poor_village=True, at=AT)
    reg.create_region(session, ACTOR, code=VILLAGE_B, name="新民村", level="village", at=AT)
    yield session


def ledger_size(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(LedgerEntry)) or 0)


def ledger_bodies(session: Session) -> list[dict[str, Any]]:
    return [json.loads(b) for b in session.scalars(select(LedgerEntry.body).order_by(LedgerEntry.idx))]


def household(session: Session, no: str, seq: int, *, status: str = "poor", village: str = VILLAGE,
              labors: tuple[str, ...] = ("full",), **kw: Any) -> Any:
    members = [{"name": f"成员{seq}{i}", "id_number": person_id(seq * 10 + i, "M" if i % 2 == 0 else "F"),
                "relation": "户主" if i == 0 else ("配偶" if i == 1 else "子"), "labor": labor}
               for i, labor in enumerate(labors)]
    return reg.register_household(session, ACTOR, household_no=no, village_code=village, status=status,
                                  members=members, at=AT, status_since=date(2020, 1, 1),
                                  exit_year=kw.pop("exit_year", 2020 if status == "exited" else None), **kw)


def entity(session: Session, n: int = 1, kind: str = "cooperative") -> Any:
    return reg.register_entity(session, ACTOR, name=f"兴隆种养专业合作社{n}", kind=kind,
                               uscc=make_uscc(f"93231002MA0{n:02d}0000"[:17]), legal_representative="法人代表",
                               county_code="231002", region_code=TOWN, at=AT)


def project(session: Session, n: int = 1, **kw: Any) -> Any:
    e = kw.pop("entity_obj", None) or entity(session, n)
    p, _ = reg.register_project(session, ACTOR, code=f"P-{n:03d}", name=f"项目{n}", category="特色种养业",
                                entity_id=e.id, township_code=TOWN, village_code=VILLAGE,
                                funding=[{"source": "财政扶贫资金", "amount_fen": 100_000_00}],
                                expected_return=kw.pop("expected_return", "0.06"), at=AT, **kw)
    return p
