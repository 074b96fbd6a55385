"""An attacker with the database: every edit, insertion and rewrite behind the ledger is caught (LEDGER.md "Trust
anchor and coverage"), on SQLite and PostgreSQL.

Each test tampers as someone holding the database but not the signing key would, then checks that
`daipin ledger verify` (or the one offline command for a dossier) fails and names what was done.
"""

from __future__ import annotations

import json
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from daipin.db import sealing
from daipin.db.models.auth import User
from daipin.db.models.ledger import LedgerCheckpoint, LedgerEntry, LedgerLog, LedgerNode
from daipin.db.models.registry import ContractVersion, Household
from daipin.db.models.workflow import MatterEvent, PaymentBatch, PaymentLine, Review
from daipin.domain.actors import SYSTEM_ACTOR
from daipin.domain.canonical import canonical_json
from daipin.ledger import keys, merkle, note, store
from daipin.ledger.verify import Report, verify_log
from daipin.services.auth import service as auth
from daipin.services.contracts import service as contracts
from daipin.services.dossiers import service as dossier
from daipin.services.dynamic import service as dynamic
from daipin.services.imports import service as imports
from daipin.services.matters import service as matters
from daipin.services.registry import service as reg
from daipin.services.shared import rows
from tests.integration.registry_support import ACTOR, AT, VILLAGE, household, project, rs_fixture  # noqa: F401
from tests.integration.test_dossier import AUDITOR, archived_matter, rewrite, verify_offline
from tests.integration.test_import import _csv, _good_rows
from tests.integration.test_workflow import (
    CADRE,
    DAY,
    T0,
    confirm_roster,
    draft_allocation,
    seed,
    through_meeting,
    through_review,
)

pytestmark = pytest.mark.edits_rows_behind_the_ledger

LAND = {"contribution_kind": "land_rights", "contribution_value_fen": 800000, "shares": "8000", "profit_share": "0.01"}


def _verify(session: Session, **kw: Any) -> Report:
    session.flush()
    session.expire_all()  # rows as stored
    return verify_log(session, **kw)


def _text(report: Report) -> str:
    return "\n".join(f"{p.reason_zh} / {p.reason_en}" for p in report.problems)


def test_a_contract_versions_terms_edited_behind_the_ledger_are_caught(rs: Session) -> None:
    p = project(rs)
    hh = household(rs, "H-1", 1)
    c = contracts.sign_contract(rs, ACTOR, code="C-1", model="shareholding", project_id=p.id,
                                start_date=date(2025, 1, 1), end_date=date(2027, 12, 31), terms=LAND, at=AT,
                                payee_household_id=hh.id)
    assert _verify(rs).ok
    v = rs.scalars(select(ContractVersion).where(ContractVersion.contract_id == c.id)).one()
    rs.execute(update(ContractVersion).where(ContractVersion.id == v.id)
               .values(terms={**LAND, "profit_share": "0.05"}))  # what a settlement of the version would pay
    report = _verify(rs)
    assert not report.ok
    assert f"contract_versions#{v.id}" in _text(report)


def test_a_household_inserted_behind_the_ledger_is_caught(rs: Session) -> None:
    household(rs, "H-1", 1)
    assert _verify(rs).ok
    rs.add(Household(household_no="H-999", village_code=VILLAGE, county_code="231002", status="poor", labor="full",
                     life_state="alive"))
    rs.flush()
    hid = rs.scalar(select(Household.id).where(Household.household_no == "H-999"))
    report = _verify(rs)
    assert not report.ok
    assert f"households#{hid}" in _text(report) and "inserted behind the ledger" in _text(report)


def test_a_household_of_an_import_batch_a_later_entry_touched_is_still_checked(rs: Session, tmp_path: Path) -> None:
    assert imports.import_households(rs, ACTOR, _csv(tmp_path / "a.csv", _good_rows()), AT).households_new == 3
    batch = rs.scalar(select(LedgerEntry.idx).where(LedgerEntry.type == "household.import"))
    dynamic.change_household_status(rs, ACTOR, reg.household_by_no(rs, "H-101").id, "monitored", date(2025, 6, 1),
                                    "返贫风险", AT)
    assert _verify(rs).ok
    other = reg.household_by_no(rs, "H-102").id
    # The tamperer holds the data key (or copies another row's sealed value): a sealed account the ledger never saw.
    county = rs.scalar(select(Household.county_code).where(Household.id == other))
    [[forged], _index] = sealing.seal_many(rs.connection(), "households", "bank_account", ["6217000099998888"],
                                           [county])
    rs.execute(update(Household).where(Household.id == other).values(bank_account=forged))
    report = _verify(rs)
    assert not report.ok and report.first_bad is not None and report.first_bad.index == batch, _text(report)


def test_a_payment_line_inserted_behind_the_ledger_is_caught(session: Session) -> None:
    matter_id = archived_matter(session)
    batch = session.scalars(select(PaymentBatch).where(PaymentBatch.matter_id == matter_id)).one()
    line = session.scalars(select(PaymentLine).where(PaymentLine.batch_id == batch.id)).first()
    assert line is not None and _verify(session).ok
    session.add(PaymentLine(batch_id=batch.id, county_code=line.county_code, payee_type="village", payee_ref="X-1",
                            payee_name="某村", amount_fen=6_000_000, status="pending"))
    session.flush()
    new_id = session.scalar(select(PaymentLine.id).where(PaymentLine.payee_ref == "X-1"))
    report = _verify(session)
    assert not report.ok and f"payment_lines#{new_id}" in _text(report)


def test_a_matter_event_edited_behind_the_ledger_is_caught(session: Session) -> None:
    matter_id = archived_matter(session)
    ev = session.scalars(select(MatterEvent).where(MatterEvent.matter_id == matter_id,
                                                   MatterEvent.action == "approve")).one()
    assert _verify(session).ok
    session.execute(update(MatterEvent).where(MatterEvent.id == ev.id).values(actor="district_admin:1"))
    report = _verify(session)
    assert not report.ok and f"matter_events#{ev.id}" in _text(report)
    assert report.first_bad is not None and report.first_bad.index == ev.ledger_index


def test_an_account_whose_role_is_raised_behind_the_ledger_is_caught(session: Session) -> None:
    user = auth.create_user(session, actor=SYSTEM_ACTOR, username="cadre", password="Xinglong-village-7788",
                            role="village_cadre", region="231002001001", at=AT, display_name="测试")
    assert _verify(session).ok
    session.execute(update(User).where(User.id == user.id).values(role="district_admin", region_code="231002"))
    report = _verify(session)
    assert not report.ok and f"users#{user.id}" in _text(report)


def test_an_account_disabled_and_its_password_changed_are_stated_by_entries(session: Session) -> None:
    user = auth.create_user(session, actor=SYSTEM_ACTOR, username="cadre", password="Xinglong-village-7788",
                            role="village_cadre", region="231002001001", at=AT, display_name="测试")
    auth.change_password(session, user_id=user.id, old_password="Xinglong-village-7788",
                         new_password="Another-long-phrase-42", at=AT + timedelta(days=1))
    auth.set_active(session, actor=SYSTEM_ACTOR, username="cadre", active=False, at=AT + timedelta(days=2))
    types = session.scalars(select(LedgerEntry.type).where(LedgerEntry.subject == f"user:{user.id}")
                            .order_by(LedgerEntry.idx)).all()
    assert types == ["user.create", "user.password_changed", "user.disabled"]
    bodies = b"".join(session.scalars(select(LedgerEntry.body).where(LedgerEntry.subject == f"user:{user.id}")))
    assert user.password_hash.encode() not in bodies and b'"cadre"' not in bodies
    assert _verify(session).ok


def _resign_everything(session: Session, attacker: note.Signer) -> None:
    """Recompute every leaf, node and checkpoint from the bodies as they now stand and sign with `attacker`."""
    log = store.require_log(session)
    hasher = log.hasher
    frontier = merkle.Frontier(hasher)
    sizes = set(session.scalars(select(LedgerCheckpoint.size)))
    roots = {0: hasher.empty_root}
    session.execute(delete(LedgerNode))
    for idx, body in session.execute(select(LedgerEntry.idx, LedgerEntry.body).order_by(LedgerEntry.idx)).all():
        leaf = hasher.leaf(bytes(body))
        session.execute(update(LedgerEntry).where(LedgerEntry.idx == idx).values(leaf_hash=leaf))
        for lv, i, h in frontier.append(leaf):
            session.add(LedgerNode(county_code=log.county_code, level=lv, idx=i, hash=h))
        if frontier.size in sizes:
            roots[frontier.size] = frontier.root()
    for size in sizes:
        signed = note.sign_checkpoint(note.Checkpoint(log.origin, size, roots[size]), attacker)
        session.execute(update(LedgerCheckpoint).where(LedgerCheckpoint.size == size)
                        .values(root=roots[size], note=signed))
    session.execute(update(LedgerLog).values(verifier_key=str(attacker.verifier())))
    session.flush()
    session.info.pop("daipin.ledger.log", None)


def test_checkpoints_re_signed_with_another_key_are_caught_by_the_published_key(session: Session) -> None:
    archived_matter(session)
    assert _verify(session).ok
    log = store.require_log(session)
    _resign_everything(session, note.Signer.generate(log.verifier.name))
    report = _verify(session)
    assert not report.ok
    assert keys.load_verifier().key_id in _text(report)  # the mismatch names the published key


def _approved_and_posted(session: Session) -> int:
    """A matter reviewed, approved and then posted; each step committed (so signed) before the next."""
    ctx = seed(session)
    confirm_roster(session)
    m = draft_allocation(session, T0 + 20 * DAY, ctx=ctx)
    t = through_meeting(session, m.id, T0 + 21 * DAY)
    t = through_review(session, m.id, t)
    store.issue_checkpoint(session)  # what the commit of the review signs
    matters.publish_notice(session, CADRE, m.id, at=t)
    store.issue_checkpoint(session)
    return m.id


def test_an_approver_rewritten_with_the_tree_recomputed_and_re_signed_contradicts_key_and_witness(
        session: Session, tmp_path: Path) -> None:
    matter_id = _approved_and_posted(session)
    published = keys.published_key()
    review_entry = session.scalar(select(LedgerEntry.idx).where(LedgerEntry.type == "matter.approve",
                                                                LedgerEntry.subject == f"matter:{matter_id}"))
    witnessed = [w for w in store.witnesses(session) if w.size > (review_entry or 0)]
    assert witnessed and _verify(session).ok  # the notice's checkpoint was recorded as seen outside
    r = session.scalars(select(Review).where(Review.matter_id == matter_id)).one()
    session.execute(update(Review).where(Review.id == r.id).values(reviewer="另一审核人"))
    session.expire_all()
    fact = rows.workflow_row_fact(session, session.get(Review, r.id))
    for idx, body in session.execute(select(LedgerEntry.idx, LedgerEntry.body)).all():
        data = json.loads(body)
        refs = data["facts"].get("rows") or []
        if any(ref.get("table") == "reviews" and ref.get("id") == str(r.id) for ref in refs):
            data["facts"]["rows"] = [fact if ref.get("table") == "reviews" else ref for ref in refs]
            data["actor"] = "township_reviewer:99"
            session.execute(update(LedgerEntry).where(LedgerEntry.idx == idx)
                            .values(body=canonical_json(data)))
    attacker = note.Signer.generate(store.require_log(session).verifier.name)
    _resign_everything(session, attacker)

    by_published = _verify(session)
    assert not by_published.ok and "published key" in _text(by_published)
    # Even trusting the attacker's key (say the published file was replaced too), the witnesses contradict it.
    by_attacker = _verify(session, trusted_key=str(attacker.verifier()))
    assert not by_attacker.ok and "witnessed" in _text(by_attacker) and "rewritten" in _text(by_attacker)
    # And with the witness rows deleted, the notice's printed checkpoint handed in again still does.
    session.execute(text("DELETE FROM ledger_witness"))
    assert _verify(session, trusted_key=str(attacker.verifier())).ok
    store.record_witness(session, witnessed[0].note, "file:notice-photo.txt", AT)
    assert not _verify(session, trusted_key=str(attacker.verifier())).ok

    out = tmp_path / "dossier.zip"
    dossier.export(session, AUDITOR, matter_id, out)
    assert not dossier.verify(out, trusted_key=published).ok


def test_a_dossier_with_payments_altered_fails_the_one_command(session: Session, tmp_path: Path) -> None:
    matter_id = archived_matter(session)
    good = tmp_path / "dossier.zip"
    dossier.export(session, AUDITOR, matter_id, good)
    assert verify_offline(good).returncode == 0

    def raise_amount(docs: dict[str, Any]) -> None:
        docs["dossier/payments.json"]["lines"][0]["amount_fen"] += 6_000_000

    bad = tmp_path / "altered.zip"
    rewrite(good, bad, raise_amount)
    run = verify_offline(bad)
    assert run.returncode == 1, run.stdout
    assert "payments.json" in run.stderr

    extra = tmp_path / "extra.zip"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(extra, "w") as dst:
        for n in src.namelist():
            dst.writestr(n, src.read(n))
        dst.writestr("dossier/notes.txt", "未经核验的附件")
    run = verify_offline(extra)
    assert run.returncode == 1 and "dossier/notes.txt" in run.stderr


def test_a_rotated_key_verifies_later_checkpoints_and_a_forged_rotation_does_not(rs: Session) -> None:
    household(rs, "H-1", 1)
    store.issue_checkpoint(rs)
    old = keys.load_signer()
    new = note.Signer.generate(old.name)
    idx = store.rotate_key(rs, new, actor="operator:cli", at=AT)
    keys.install_rotated(new)
    household(rs, "H-2", 2)
    store.issue_checkpoint(rs)
    assert keys.published_key() == str(new.verifier()) and keys.anchor_key() == str(old.verifier())
    report = _verify(rs)
    assert report.ok, _text(report)
    # A rotation the old key did not sign: the chain from the anchor breaks at that entry.
    body = json.loads(rs.scalar(select(LedgerEntry.body).where(LedgerEntry.idx == idx)))
    body["facts"]["signature"] = "AAAA"
    rs.execute(update(LedgerEntry).where(LedgerEntry.idx == idx).values(body=canonical_json(body)))
    report = _verify(rs)
    assert not report.ok and any(p.index == idx and "rotation" in p.reason_en for p in report.problems)
