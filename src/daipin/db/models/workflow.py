"""Models of the decision path: matters, meetings, reviews, notices, objections, payment batches.

Every row carries `county_code`; money is integer fen (`*_fen`, BIGINT). Times are stored in UTC.
A matter's `round` counts how often it went back to draft (returned or reopened): meetings,
reviews and notices of earlier rounds stay in the dossier, the current round decides.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from daipin.db.base import Base, BigInt


class CountyWorkflowRules(Base):
    """A county's stricter quorum, meeting-notice and notice-window settings (`domain.workflow.CountyRules`)."""

    __tablename__ = "workflow_county_rules"

    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(120))


class Matter(Base):
    """A matter to decide (议题): its kind, state, the engine document it will run and its preview."""

    __tablename__ = "matters"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(24), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)  # village, township or county
    title: Mapped[str] = mapped_column(String(200))
    year: Mapped[int | None] = mapped_column(Integer)
    proposer: Mapped[str] = mapped_column(String(200), default="")
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id"))
    funding_source: Mapped[str] = mapped_column(String(200), default="")
    responsible_person: Mapped[str] = mapped_column(String(60), default="")
    justification: Mapped[str] = mapped_column(Text, default="")
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    document_digest: Mapped[str] = mapped_column(String(64))
    preview: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    preview_digest: Mapped[str | None] = mapped_column(String(64))
    warnings: Mapped[list[Any]] = mapped_column(JSON)
    source: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # how to rebuild the document at execution
    approved_document_digest: Mapped[str | None] = mapped_column(String(64))
    approved_preview_digest: Mapped[str | None] = mapped_column(String(64))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    announcement: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    announced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The pool this matter decides while it is live (`workflow.pool_key`); cleared when the vote fails or the
    # matter is withdrawn. Unique: the database itself refuses a second live matter for one pool.
    pool_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MatterEvent(Base):
    """One step on a matter's path with the ledger entry that records it."""

    __tablename__ = "matter_events"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ledger_index: Mapped[int] = mapped_column(BigInt)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class Meeting(Base):
    """A 村民会议 / 村民代表会议 / leading-group meeting: notice, attendance, votes and outcome."""

    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    county_code: Mapped[str] = mapped_column(String(6))
    type: Mapped[str] = mapped_column(String(32))
    called_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    scheduled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    place: Mapped[str] = mapped_column(String(200))
    eligible_adults: Mapped[int] = mapped_column(Integer, default=0)
    eligible_households: Mapped[int] = mapped_column(Integer, default=0)
    eligible_representatives: Mapped[int] = mapped_column(Integer, default=0)
    eligible_members: Mapped[int] = mapped_column(Integer, default=0)
    attendance_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    present_adults: Mapped[int | None] = mapped_column(Integer)
    present_households: Mapped[int | None] = mapped_column(Integer)
    present_representatives: Mapped[int | None] = mapped_column(Integer)
    present_members: Mapped[int | None] = mapped_column(Integer)
    attendees: Mapped[list[Any] | None] = mapped_column(JSON)  # [{key, name?, household?, role?}]
    first_secretary_present: Mapped[bool | None] = mapped_column(Boolean)
    cadres_present: Mapped[list[Any] | None] = mapped_column(JSON)  # 驻村工作队 / 第一书记, as posts or names
    minutes_ref: Mapped[str] = mapped_column(String(400), default="")
    attendance_sheet_ref: Mapped[str] = mapped_column(String(400), default="")
    votes_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    votes_for: Mapped[int | None] = mapped_column(Integer)
    votes_against: Mapped[int | None] = mapped_column(Integer)
    votes_abstain: Mapped[int | None] = mapped_column(Integer)
    ballots: Mapped[list[Any] | None] = mapped_column(JSON)  # [{attendee, vote}] when voted by name
    quorum_met: Mapped[bool | None] = mapped_column(Boolean)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    outcome_reasons: Mapped[list[Any] | None] = mapped_column(JSON)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Review(Base):
    """A township (or district) review: approve or return with written comments."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    county_code: Mapped[str] = mapped_column(String(6))
    decision: Mapped[str] = mapped_column(String(16))  # approve | return
    comments: Mapped[str] = mapped_column(Text, default="")
    reviewer: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    document_digest: Mapped[str] = mapped_column(String(64))
    preview_digest: Mapped[str | None] = mapped_column(String(64))


class Notice(Base):
    """A public notice (公示) with its objection window; `content` is exactly what is posted."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    region_code: Mapped[str] = mapped_column(String(12))
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    window_days: Mapped[int] = mapped_column(Integer)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_digest: Mapped[str] = mapped_column(String(64))
    checkpoint: Mapped[str] = mapped_column(Text, default="")  # the signed tree head current at posting
    status: Mapped[str] = mapped_column(String(16))  # open | closed | withdrawn
    posted_by: Mapped[str] = mapped_column(String(120))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Objection(Base):
    """An objection filed during a notice window, named or anonymous, and its answer.

    `objector_name` and `contact` are personal data: never posted, never in the ledger in clear.
    `client_digest` and `address_digest` (salted digests of the anonymous cookie and of the address an objection
    from the public came from, never the values) count a client's objections for throttling.
    """

    __tablename__ = "objections"
    __allow_unmapped__ = True
    __table_args__ = (
        Index("ix_objections_notice_client", "notice_id", "client_digest", "filed_at"),
        Index("ix_objections_address_filed", "address_digest", "filed_at"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    anonymous: Mapped[bool] = mapped_column(Boolean)
    objector_name: Mapped[str | None] = mapped_column(String(60))
    contact: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # open | upheld | dismissed
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_by: Mapped[str | None] = mapped_column(String(120))
    objector_notified: Mapped[bool] = mapped_column(Boolean, default=False)
    client_digest: Mapped[str | None] = mapped_column(String(64))
    address_digest: Mapped[str | None] = mapped_column(String(64))
    # Objections filed since 0008 (NULL before: those keep the row state they were recorded with). `text` and
    # `answer` are personal data: the ledger and the dossier hold their salted digests, the public their masked
    # or redacted form (`public_text`, `public_answer`). The objector checks the status by `receipt_no` and a
    # check code, of which only the salted digest (`check_digest`) is kept.
    private_text: Mapped[bool | None] = mapped_column(Boolean)
    receipt_no: Mapped[str | None] = mapped_column(String(24), unique=True)
    check_digest: Mapped[str | None] = mapped_column(String(64))
    public_text: Mapped[str | None] = mapped_column(Text)
    public_answer: Mapped[str | None] = mapped_column(Text)
    redaction_reason: Mapped[str | None] = mapped_column(Text)
    redacted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    redacted_by: Mapped[str | None] = mapped_column(String(120))
    notified_via: Mapped[str | None] = mapped_column(String(16))
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The check code of an objection just filed, to be shown to the objector once; never stored (only its digest).
    check_code: str | None = None
    merged_into: Mapped[int | None] = mapped_column(BigInt, ForeignKey("objections.id"))


class PaymentBatch(Base):
    """The payments an executed matter makes; one per matter, so executing twice pays once."""

    __tablename__ = "payment_batches"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"), unique=True)
    # The pool paid (the executed matter's pool key, or `matter:<id>` for a matter that decides no pool):
    # unique, so two matters can never pay the same pool.
    pool_key: Mapped[str] = mapped_column(String(80), unique=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    total_fen: Mapped[int] = mapped_column(BigInt, comment="批次合计（分），等于运行结果的分配合计 / batch total in fen")
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | partly_paid | paid | settled
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(120))


class PaymentFile(Base):
    """A file exchanged with the bank for a batch: the agent-payment file sent (`out`) or its return (`in`).

    Only the file's SHA-256 digest and its counts are kept (the file itself holds full account numbers); the
    same digest is on the ledger entry that recorded it."""

    __tablename__ = "payment_files"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payment_batches.id"), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    direction: Mapped[str] = mapped_column(String(8))  # out | in
    format: Mapped[str] = mapped_column(String(8))  # xlsx | csv
    sha256: Mapped[str] = mapped_column(String(64))
    line_count: Mapped[int] = mapped_column(Integer)
    total_fen: Mapped[int] = mapped_column(BigInt)
    paid_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    with_id_number: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(120))


class PaymentLine(Base):
    """One payee's amount in a batch; the line keeps the account only masked (the registry holds it in full).

    States: pending → sent → paid | failed; a failed line is requeued (a new line, `retry_of` naming it, with the
    corrected account) or written off with a reason and the decision that allowed it. Columns added by migration
    0013 are NULL on lines recorded before (their row state is what it was)."""

    __tablename__ = "payment_lines"
    __table_args__ = (
        UniqueConstraint("batch_id", "payee_type", "payee_ref", "attempt", name="uq_payment_lines_payee_attempt"),
        UniqueConstraint("batch_id", "seq", name="uq_payment_lines_batch_seq"),
        # Room in each page for a line's later versions, so that marking lines sent, paid or failed (columns no
        # index covers: a serial's uniqueness is `payment_receipts`') rewrites them in place (migrations 0020, 0026).
        {"postgresql_with": {"fillfactor": 20}},
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    # Looked up by the unique keys that lead with it (no index of its own: migration 0020).
    batch_id: Mapped[int] = mapped_column(ForeignKey("payment_batches.id"))
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    payee_type: Mapped[str] = mapped_column(String(16))  # household | village
    payee_ref: Mapped[str] = mapped_column(String(40))  # household_no or village code, as in the engine document
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    payee_name: Mapped[str] = mapped_column(String(100), default="")
    amount_fen: Mapped[int] = mapped_column(BigInt, comment="应付金额（分） / amount in fen")
    bank_account_masked: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | paid | failed | requeued | written_off
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    payment_ref: Mapped[str] = mapped_column(String(100), default="")
    failure_reason: Mapped[str] = mapped_column(String(400), default="")
    # Since 0013 (NULL on older lines):
    seq: Mapped[int | None] = mapped_column(Integer)  # 序号 in the batch and in its bank files
    attempt: Mapped[int | None] = mapped_column(Integer)  # 1, then 2 for the line that retries a failed one...
    retry_of: Mapped[int | None] = mapped_column(BigInt, ForeignKey("payment_lines.id"), unique=True)
    account_digest: Mapped[str | None] = mapped_column(String(64))  # salted digest of the account paid to
    sent_file_id: Mapped[int | None] = mapped_column(BigInt, ForeignKey("payment_files.id"))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    return_file_id: Mapped[int | None] = mapped_column(BigInt, ForeignKey("payment_files.id"))
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    written_off_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    write_off_reason: Mapped[str | None] = mapped_column(String(400))
    write_off_ref: Mapped[str | None] = mapped_column(String(200))  # the decision (文号) that allowed it


class PaymentReceipt(Base):
    """A bank's receipt or serial number (回单号/流水号) and the one line it settles: a serial settles one line only
    in its county (the primary key), and a line has one serial (the unique `line_id`). Written with the line's
    `payment_ref` by the same step (a slip or a return file), and kept apart from `payment_lines` so that settling
    a line changes no column an index of that table covers (migration 0020). The line's ledger row states the
    serial; this table only holds it unique."""

    __tablename__ = "payment_receipts"

    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    payment_ref: Mapped[str] = mapped_column(String(100), primary_key=True)
    line_id: Mapped[int] = mapped_column(BigInt, unique=True)
