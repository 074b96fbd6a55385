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


def sign(session: Session, actor: Actor = ACTOR, *, at: datetime = AT, **kw: Any) -> Any:
    """Sign a contract the way it takes effect: directly, or, when it commits quantified poverty funds or
    collective assets (`needs_decision`), by the village's contract matter walked through a villagers' meeting of
    the registry's adults, the township's review and 10 days' notice, and executed (WORKFLOW.md "Decision-gated
    actions"). The matter is drafted at `at` (the registry as it stands counts the meeting); the contract is signed by
    its execution 20 days later."""
    from daipin.domain.contracts import needs_decision
    from daipin.services.contracts import service as contracts

    if not needs_decision(kw["model"], kw["terms"]):
        return contracts.sign_contract(session, actor, at=at, **kw)
    return decide_contracts(session, actor, [kw], at=at)[0]


def decide_contracts(session: Session, actor: Actor, contracts_kw: list[dict[str, Any]], *,
                     at: datetime) -> list[Any]:
    """Walk one contract matter for the contracts given (`sign_contract`'s arguments) from `at`, execute it and
    return the contracts it signed."""

    from daipin.db.models.registry import Contract, Household

    items, village = [], None
    for kw in contracts_kw:
        item = {"code": kw["code"], "model": kw["model"], "project": kw["project_id"],
                "start_date": str(kw["start_date"]), "end_date": str(kw["end_date"]), "terms": kw["terms"]}
        if kw.get("payee_household_id") is not None:
            hh = session.get(Household, kw["payee_household_id"])
            item["payee_household_no"] = hh.household_no if hh else str(kw["payee_household_id"])
            village = village or (hh.village_code if hh else None)
        else:
            item["payee_village_code"] = kw.get("payee_village_code")
            village = village or kw.get("payee_village_code")
        items.append(item)
    walk_matter(session, actor, "contract", str(village), {"kind": "contract", "contracts": items}, at=at)
    codes = [i["code"] for i in items]
    return [session.scalar(select(Contract).where(Contract.code == c)) for c in codes]


def reassign(session: Session, actor: Actor, contract: Any, new_household: Any, *, on: date, at: datetime) -> Any:
    """Give a freed quantified share to a new holder by the village's share-quantification matter, walked from
    `at` and executed."""
    from daipin.services.contracts import service as contracts

    c = contracts.get_contract(session, contract.id if hasattr(contract, "id") else contract)
    doc = {"kind": "share_quantification",
           "reassignments": [{"contract": c.code, "household_no": new_household.household_no, "on": str(on)}]}
    return walk_matter(session, actor, "share_quantification", new_household.village_code, doc, at=at)


def walk_matter(session: Session, actor: Actor, kind: str, village: str, document: dict[str, Any], *,
                at: datetime) -> Any:
    """Draft a village matter of `kind` with `document` at `at`, take it through a villagers' meeting of the
    registry's adults (10 days on), the township's review and 10 days' notice, and execute it."""
    from datetime import timedelta

    from daipin.db.models.registry import Household, Person
    from daipin.services.matters import service as wf

    day = timedelta(days=1)
    if session.scalar(select(func.count()).select_from(Person).join(Household, Person.household_id == Household.id)
                      .where(Household.village_code == village)) == 0:
        # A village decides by its villagers: one who is not poor is registered where a test has none.
        household(session, f"{village}9999", 2016, status="non_poor", village=village)  # born 1985
    m = wf.draft_matter(session, actor, kind=kind, region=village, title="决议事项", document=document, at=at)
    sits = at + 10 * day
    mt = wf.call_meeting(session, actor, m.id, type="villagers_meeting", scheduled_at=sits, place="村委会", at=at)
    wf.record_attendance(session, actor, m.id, present_adults=mt.eligible_adults,
                         present_households=mt.eligible_households, first_secretary_present=True, at=sits)
    wf.record_votes(session, actor, m.id, votes_for=max(mt.eligible_adults, 1), against=0, abstain=0, at=sits)
    wf.decide(session, actor, m.id, at=sits)
    wf.submit_for_review(session, actor, m.id, at=sits)
    wf.review(session, actor, m.id, decision="approve", comments="程序合规", at=sits)
    wf.publish_notice(session, actor, m.id, at=sits)
    wf.close_notice(session, actor, m.id, at=sits + 10 * day)
    wf.execute(session, actor, m.id, at=sits + 10 * day)
    return m


def blacklist(session: Session, entity_id: int, *, reasons: str = "恶意拖欠", at: datetime = AT) -> Any:
    """List an entity the way it takes effect: told the reasons, basis and rights, the objection window over with
    no objection, then in effect (services/credit)."""
    from datetime import timedelta

    from daipin.services.credit import service as credit

    listing = credit.propose_listing(session, ACTOR, entity=entity_id, reasons=reasons,
                                     basis="国办发〔2020〕49号", at=at - timedelta(days=30))
    return credit.take_effect(session, ACTOR, listing.id, at=at)
