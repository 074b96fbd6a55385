"""How a row enters the ledger: its canonical state (personal data as salted digests) and the `row` facts an
entry carries, for the registry's tables and the workflow's, and the checks `daipin ledger verify` reads them
with (registered by the composition root, `daipin.bootstrap`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Run
from daipin.db.models.workflow import (
    CountyWorkflowRules,
    Matter,
    MatterEvent,
    Meeting,
    Notice,
    Objection,
    PaymentBatch,
    PaymentFile,
    PaymentLine,
    Review,
)
from daipin.domain.privacy import mask_reference
from daipin.services.shared import trace

# Columns whose values are personal data: digested with the salt before they enter a row digest.
PII_COLUMNS = {("people", "name"), ("people", "id_number"), ("people", "health_note"), ("households", "phone"),
               ("households", "bank_account"), ("users", "password_hash"),
               ("entities", "bank_account")}

# Columns added to a registry table later, NULL on the rows recorded before: left out of the state while NULL, so
# those rows keep the digests their entries recorded (an entity's account, migration 0028).
LATER_COLUMNS = {("entities", "bank_account")}

# Columns added to a registry table after rows of it may have been recorded, whose entries then stated the row
# without them (migration 0025: a policy's asset, kind and insured sum). The row's earlier form leaves them out
# while NULL, and `daipin ledger verify` accepts a row in either form (`register_row_check(..., earlier=...)`); its
# current form states them, NULL included.
ADDED_COLUMNS = {("insurance_policies", "asset_id"), ("insurance_policies", "kind"),
                 ("insurance_policies", "insured_sum_fen")}

# Sign-in bookkeeping of an account changes at every login without a decision about it: kept out of its state
# (the account's role, region, entity, password and whether it is active are in).
UNRECORDED_COLUMNS = {("users", "failed_logins"), ("users", "locked_until"), ("users", "last_login_at")}

# A row's pointer to the ledger entry that describes it is set after that entry is written,
# so it cannot be inside the entry's digest of the row.
BACK_POINTERS = {"ledger_index"}


def row_state(session: Session, obj: Any, *, earlier: bool = False,
              pii: Callable[[str], str] | None = None) -> dict[str, Any]:
    """A row's canonical state: every column, times as UTC ISO text, personal data as salted digests (`earlier`:
    in the form before ADDED_COLUMNS were added; `pii`: the digest, when many rows are read at once)."""
    table = obj.__table__
    out: dict[str, Any] = {}
    for col in table.columns:
        if col.key in BACK_POINTERS or (table.name, col.key) in UNRECORDED_COLUMNS:
            continue
        value = getattr(obj, col.key)
        if value is None and ((table.name, col.key) in LATER_COLUMNS
                              or (earlier and (table.name, col.key) in ADDED_COLUMNS)):
            continue
        if isinstance(value, datetime):
            # SQLite gives back naive UTC, PostgreSQL an aware time: digest both the same way.
            if value.tzinfo is not None:
                value = value.astimezone(UTC).replace(tzinfo=None)
            value = value.isoformat()
        elif isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        if value is not None and (table.name, col.key) in PII_COLUMNS:
            value = pii(str(value)) if pii is not None else trace.pii(session, str(value))
        out[col.key] = value
    return out


def row_fact(session: Session, obj: Any) -> dict[str, Any]:
    """`{"table", "id", "digest"}` for a ledger body, so a later edit of the row can be detected."""
    from daipin.ledger import store

    session.flush()
    return store.row_fact(obj.__table__.name, obj.id, row_state(session, obj))


def utc(at: datetime) -> datetime:
    """Times are kept in UTC; a naive time is read as UTC (SQLite returns them naive)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


# ---------------------------------------------------------------- rows behind ledger entries
#
# Every entry that changes a row of these tables carries `row_fact` of the row as it stands
# after the change, so `daipin ledger verify` names the entry when a row is later edited
# without one, and the dossier's documents (these same states) can be checked offline.

ROW_MODELS: dict[str, type[Any]] = {
    model.__tablename__: model
    for model in (Matter, MatterEvent, Meeting, Review, Notice, Objection, PaymentBatch, PaymentLine, PaymentFile,
                  CountyWorkflowRules)
}
# Personal data: only its salted digest enters a row state (and so the dossier and the ledger).
WORKFLOW_PII_COLUMNS = frozenset({("objections", "objector_name"), ("objections", "contact")})
# Where a public objection came from (salted digests, for throttling): not part of what was objected, so kept out
# of the row state, the ledger and the dossier (and objections recorded before these columns keep their digests).
WORKFLOW_UNRECORDED_COLUMNS = frozenset({("objections", "client_digest"), ("objections", "address_digest")})
# What a person wrote in an objection and the official's answer: personal data of objections filed since these
# columns were added (`private_text` set), which enter the row state (the ledger's row facts, the dossier) as
# salted digests; the public sees `public_text` / `public_answer`, masked or redacted.
WORKFLOW_PRIVATE_TEXT_COLUMNS = frozenset({("objections", "text"), ("objections", "answer")})
# A payment line's bank reference (it may hold an account number typed in the wrong field): the row state keeps it
# masked to its last four characters with a salted digest of the whole beside it (`payment_ref_digest`), so the
# ledger's row digest still covers every character, and the dossier, made of these states, never shows it in clear.
WORKFLOW_MASKED_COLUMNS = frozenset({("payment_lines", "payment_ref")})
# Columns added to objections by migration 0008: NULL on objections recorded before, which keep the row state
# (and so the digests) they were recorded with; a set one is part of the state.
WORKFLOW_LATER_COLUMNS = frozenset(("objections", c) for c in (
    "private_text", "receipt_no", "check_digest", "public_text", "public_answer", "redaction_reason", "redacted_at",
    "redacted_by", "notified_via", "notified_at", "merged_into")) | frozenset(("payment_lines", c) for c in (
    # Added to payment lines by migration 0013, likewise NULL on older lines.
    "seq", "attempt", "retry_of", "account_digest", "sent_file_id", "sent_at", "return_file_id", "failed_at",
    "written_off_at", "write_off_reason", "write_off_ref"))


def _plain(value: Any) -> Any:
    """JSON-native form of a column value; times as UTC ISO text whatever the backend returned."""
    if isinstance(value, datetime):
        return utc(value).isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def workflow_row_state(session: Session, obj: Any, *, earlier: bool = False,
                       pii: Callable[[str], str] | None = None) -> dict[str, Any]:
    """A workflow row's canonical state: every column, JSON-native, personal data as salted digests (`earlier`:
    in the form before `WORKFLOW_MASKED_COLUMNS` were masked, which entries written then digested)."""
    table = obj.__table__.name
    digest = pii if pii is not None else (lambda v: trace.pii(session, v))
    out: dict[str, Any] = {}
    for col in obj.__table__.columns:
        if (table, col.key) in WORKFLOW_UNRECORDED_COLUMNS:
            continue
        value = getattr(obj, col.key)
        if value and not earlier and (table, col.key) in WORKFLOW_MASKED_COLUMNS:
            out[col.key] = mask_reference(str(value))
            out[f"{col.key}_digest"] = digest(str(value))
            continue
        if value is None and (table, col.key) in WORKFLOW_LATER_COLUMNS:
            continue
        private = (table, col.key) in WORKFLOW_PRIVATE_TEXT_COLUMNS and getattr(obj, "private_text", None)
        if value is not None and ((table, col.key) in WORKFLOW_PII_COLUMNS or private):
            value = digest(str(value))
        out[col.key] = _plain(value)
    return out


def workflow_row_fact(session: Session, obj: Any) -> dict[str, str]:
    """`{"table", "id", "digest"}` of the row as it stands now, for a ledger body."""
    return workflow_row_facts(session, [obj])[0]


def workflow_row_facts(session: Session, objs: Sequence[Any]) -> list[dict[str, str]]:
    """`row_fact` of several rows, flushing once."""
    from daipin.ledger import store

    session.flush()
    out = []
    for obj in objs:
        if isinstance(obj, Run):
            out.append(row_fact(session, obj))  # the registry checks its runs table with its own state
            continue
        pk = obj.__mapper__.primary_key[0].key
        out.append(store.row_fact(obj.__table__.name, getattr(obj, pk), workflow_row_state(session, obj)))
    return out


def _ids(model: Any) -> Any:
    """Every row id of `model`'s table as the database holds it now (the ledger checks each is stated)."""
    from sqlalchemy import select

    pk = model.__mapper__.primary_key[0]

    def ids(session: Session) -> Any:
        return session.execute(select(pk)).scalars()

    return ids


def _many(model: Any, to_state: Callable[..., dict[str, Any]]) -> Callable[[Session, Sequence[str]], dict[str, Any]]:
    """The states of many rows of `model` by id, read 500 to a query (`ledger verify` checks every row an entry
    states: one query per row was most of its time), personal data digested with the salt read once."""
    from daipin.ledger import store

    table = model.__table__
    key = model.__mapper__.primary_key[0]
    as_key = int if key.type.python_type is int else str
    columns = [(c, c.key) for c in table.columns]

    def many(session: Session, ids: Sequence[str]) -> dict[str, Any]:
        # Rows as the database holds them, read as plain rows (the columns' types still open sealed values), not as
        # ORM objects: nothing joins the session's identity map, and a million rows cost no more memory than a
        # part of them.
        pii = store.pii_digester(session)
        wanted = {as_key(i): i for i in ids}
        keys = list(wanted)
        out: dict[str, Any] = {}
        for i in range(0, len(keys), 500):
            for row in session.execute(select(table).where(key.in_(keys[i:i + 500]))):
                m = row._mapping
                view = SimpleNamespace(__table__=table, **{name: m[c] for c, name in columns})
                out[wanted[m[key]]] = to_state(session, view, pii=pii)
        return out

    return many


def register_ledger_checks() -> None:
    """Tell the ledger how to read the current state of every registry, workflow and account row it records, and
    that each of these tables is covered whole: a row no entry states is caught like an edited one."""
    from daipin.db.models import registry as models
    from daipin.db.models.auth import User
    from daipin.db.models.obligations import FundRepayment, RetainedDividend, WagePayment
    from daipin.ledger import store

    for model in (models.Region, models.Household, models.HouseholdStatus, models.Person, models.Entity,
                  models.InsurancePolicy, models.Project, models.FundingSource, models.ProfitRecord, models.Asset,
                  models.AssetValuation, models.Contract, models.ContractVersion, models.WorkRecord,
                  models.ContributionRecord, models.AllocationPlan, models.Run, models.VillageRepresentative, User,
                  WagePayment, FundRepayment, RetainedDividend):
        def state(session: Session, id: str, model: Any = model, earlier: bool = False) -> dict[str, Any] | None:
            obj = session.get(model, int(id))
            return None if obj is None else row_state(session, obj, earlier=earlier)

        added = any(t == model.__tablename__ for t, _ in ADDED_COLUMNS)
        store.register_row_check(model.__tablename__, state, _ids(model),
                                 earlier=partial(state, earlier=True) if added else None,
                                 many=_many(model, row_state))

    for table, wmodel in ROW_MODELS.items():
        key_is_int = wmodel.__mapper__.primary_key[0].type.python_type is int

        def wstate(session: Session, id: str, model: Any = wmodel, key_is_int: bool = key_is_int,
                   earlier: bool = False) -> dict[str, Any] | None:
            obj = session.get(model, int(id) if key_is_int else id)
            return None if obj is None else workflow_row_state(session, obj, earlier=earlier)

        masked = any(t == table for t, _ in WORKFLOW_MASKED_COLUMNS)
        store.register_row_check(table, wstate, _ids(wmodel),
                                 earlier=partial(wstate, earlier=True) if masked else None,
                                 many=_many(wmodel, workflow_row_state))
