"""The province witnesses each county's checkpoints (LEDGER.md "Witnesses"): it proves the county's latest checkpoint
consistent with the last one it witnessed, cosigns it and records it; a rewritten history is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from daipin.db.models.ledger import LedgerCheckpoint, LedgerEntry, LedgerNode
from daipin.domain.actors import Actor, Role
from daipin.domain.errors import Conflict, Forbidden
from daipin.ledger import keys, note, store
from daipin.ledger.verify import verify_log
from daipin.services.ledger import service

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
HOME, OTHER = "231002", "231005"
PROVINCE = Actor(id="p1", role=Role.PROVINCE, region="23")


def _append(session: Session, county: str, n: int, start: int = 0, word: str = "a") -> None:
    store.append_many(session, [
        {"type": "test.event", "actor": "system:test", "region": f"{county}001001", "subject": f"thing:{start + i}",
         "facts": {"n": start + i, "word": word}, "at": T0 + timedelta(seconds=start + i)} for i in range(n)])
    store.issue_checkpoint(session, county=county)


def test_the_province_witnesses_a_county_checkpoint_after_proving_it_consistent(session: Session) -> None:
    store.ensure_log(session, county=HOME, at=T0)
    store.ensure_log(session, county=OTHER, at=T0)
    _append(session, OTHER, 3)
    first = service.witness_county(session, PROVINCE, OTHER, at=T0)
    assert (first.county, first.size, first.since) == (OTHER, 3, 0)
    _append(session, OTHER, 2, start=3)
    second = service.witness_county(session, PROVINCE, OTHER, at=T0)
    assert (second.size, second.since) == (6, 3)  # 3 + 2, plus the entry recording the first witness
    # The recorded note carries the county's signature and the province's cosignature.
    witness_key = keys.province_witness().verifier()
    log = store.require_log(session, OTHER)
    opened = note.open_note(second.note, log.verifier, witness_key)
    assert len(opened.signatures) == 2
    assert [w.size for w in store.witnesses(session, OTHER)] == [3, 6]
    assert store.witnesses(session, HOME) == []  # the other county's log is not touched
    assert verify_log(session).ok


def test_only_the_province_and_the_operator_witness() -> None:
    from daipin.domain import access

    district = Actor(id="d", role=Role.DISTRICT_ADMIN, region=OTHER)
    assert not access.allowed(district, "ledger.witness", region=OTHER)
    assert access.allowed(PROVINCE, "ledger.witness", region=OTHER)
    assert not access.allowed(Actor(id="q", role=Role.PROVINCE, region="44"), "ledger.witness", region=OTHER)


def test_a_district_user_cannot_witness(session: Session) -> None:
    store.ensure_log(session, county=OTHER, at=T0)
    _append(session, OTHER, 1)
    with pytest.raises(Forbidden):
        service.witness_county(session, Actor(id="d", role=Role.DISTRICT_ADMIN, region=OTHER), OTHER, at=T0)
    assert store.witnesses(session, OTHER) == []


@pytest.mark.edits_rows_behind_the_ledger
def test_a_rewritten_and_re_signed_county_history_is_refused_and_nothing_is_recorded(session: Session) -> None:
    store.ensure_log(session, county=HOME, at=T0)
    store.ensure_log(session, county=OTHER, at=T0)
    _append(session, OTHER, 4)
    service.witness_county(session, PROVINCE, OTHER, at=T0)
    # The county's history is replaced with another one, hashed and signed with the county's own key.
    session.execute(delete(LedgerEntry).where(LedgerEntry.county_code == OTHER))
    session.execute(delete(LedgerNode).where(LedgerNode.county_code == OTHER))
    session.execute(delete(LedgerCheckpoint).where(LedgerCheckpoint.county_code == OTHER, LedgerCheckpoint.size > 0))
    session.info.pop("daipin.ledger.writer", None)
    _append(session, OTHER, 7, word="b")
    before = session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.county_code == OTHER))
    with pytest.raises(Conflict) as exc:
        service.witness_county(session, PROVINCE, OTHER, at=T0)
    assert exc.value.code == "witness_refused" and "rewritten" in exc.value.message_en
    assert [w.size for w in store.witnesses(session, OTHER)] == [4]  # nothing new recorded
    after = session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.county_code == OTHER))
    assert after == before
    assert not verify_log(session, county=OTHER).ok  # and the full check names the contradiction too


def test_the_command_witnesses_every_county_and_fails_on_a_refusal(cli_url: str) -> None:
    from daipin.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["init", "--county", HOME]).exit_code == 0
    assert runner.invoke(app, ["init", "--county", OTHER]).exit_code == 0
    result = runner.invoke(app, ["ledger", "witness", "--all"])
    assert result.exit_code == 0, result.output
    assert f"county {HOME} size 0" in result.output and f"county {OTHER} size 0" in result.output
    result = runner.invoke(app, ["ledger", "witness", "--county", OTHER])
    assert result.exit_code == 0 and f"county {OTHER} size 1" in result.output  # the first witness's entry
    result = runner.invoke(app, ["ledger", "witness", "--county", "231099"])
    assert result.exit_code == 1 and "231099" in result.output
