"""A stored run is described by its ledger entry, and `verify` holds until the run row is edited."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from daipin.domain.actors import SYSTEM_ACTOR
from daipin.ledger import verify as verifier
from daipin.services.runs import service as runs
from daipin.services.sample import service as sample


@pytest.mark.edits_rows_behind_the_ledger
def test_a_stored_run_verifies_and_an_edited_run_is_named(session: Session) -> None:
    at = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    sample.load_sample(session, SYSTEM_ACTOR, at)
    village = runs.villages(session)[0].code
    run = runs.run_village_allocation(session, SYSTEM_ACTOR, village, 2025, at)
    session.flush()
    report = verifier.verify_log(session)
    assert report.ok, report.problems[:3]

    session.execute(text("UPDATE runs SET output_digest = 'f00d' WHERE id = :id"), {"id": run.id})
    session.expire_all()
    report = verifier.verify_log(session)
    assert not report.ok
    assert report.first_bad is not None and report.first_bad.index == run.ledger_index
