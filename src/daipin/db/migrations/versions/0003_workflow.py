"""decisions, notices, objections, payments

Revision ID: 0003_workflow
Revises: 0002_ledger
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_workflow"
down_revision = "0002_ledger"
branch_labels = None
depends_on = None

# BIGINT on PostgreSQL, INTEGER (a rowid alias for primary keys) on SQLite, as in daipin.db.base.
BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

TABLES = (
    "payment_lines",
    "objections",
    "reviews",
    "payment_batches",
    "notices",
    "meetings",
    "matter_events",
    "matters",
    "workflow_county_rules",
)


def upgrade() -> None:
    op.create_table(
        "workflow_county_rules",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("county_code", name=op.f("pk_workflow_county_rules")),
    )
    op.create_table(
        "matters",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("proposer", sa.String(length=200), nullable=False),
        sa.Column("project_id", BIGINT, nullable=True),
        sa.Column("entity_id", BIGINT, nullable=True),
        sa.Column("funding_source", sa.String(length=200), nullable=False),
        sa.Column("responsible_person", sa.String(length=60), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("document_digest", sa.String(length=64), nullable=False),
        sa.Column("preview", sa.JSON(), nullable=True),
        sa.Column("preview_digest", sa.String(length=64), nullable=True),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("source", sa.JSON(), nullable=True),
        sa.Column("approved_document_digest", sa.String(length=64), nullable=True),
        sa.Column("approved_preview_digest", sa.String(length=64), nullable=True),
        sa.Column("run_id", BIGINT, nullable=True),
        sa.Column("announcement", sa.JSON(), nullable=True),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["entity_id"], ["entities.id"], name=op.f("fk_matters_entity_id_entities")),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_matters_project_id_projects")),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_matters_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matters")),
    )
    op.create_index(op.f("ix_matters_county_code"), "matters", ["county_code"], unique=False)
    op.create_index(op.f("ix_matters_region_code"), "matters", ["region_code"], unique=False)
    op.create_index(op.f("ix_matters_state"), "matters", ["state"], unique=False)
    op.create_table(
        "matter_events",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("matter_id", BIGINT, nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=24), nullable=False),
        sa.Column("to_state", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ledger_index", BIGINT, nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["matter_id"], ["matters.id"], name=op.f("fk_matter_events_matter_id_matters")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matter_events")),
    )
    op.create_index(op.f("ix_matter_events_matter_id"), "matter_events", ["matter_id"], unique=False)
    op.create_table(
        "meetings",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("matter_id", BIGINT, nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("eligible_adults", sa.Integer(), nullable=False),
        sa.Column("eligible_households", sa.Integer(), nullable=False),
        sa.Column("eligible_representatives", sa.Integer(), nullable=False),
        sa.Column("eligible_members", sa.Integer(), nullable=False),
        sa.Column("attendance_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("present_adults", sa.Integer(), nullable=True),
        sa.Column("present_households", sa.Integer(), nullable=True),
        sa.Column("present_representatives", sa.Integer(), nullable=True),
        sa.Column("present_members", sa.Integer(), nullable=True),
        sa.Column("attendees", sa.JSON(), nullable=True),
        sa.Column("first_secretary_present", sa.Boolean(), nullable=True),
        sa.Column("cadres_present", sa.JSON(), nullable=True),
        sa.Column("minutes_ref", sa.String(length=400), nullable=False),
        sa.Column("attendance_sheet_ref", sa.String(length=400), nullable=False),
        sa.Column("votes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("votes_for", sa.Integer(), nullable=True),
        sa.Column("votes_against", sa.Integer(), nullable=True),
        sa.Column("votes_abstain", sa.Integer(), nullable=True),
        sa.Column("ballots", sa.JSON(), nullable=True),
        sa.Column("quorum_met", sa.Boolean(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("outcome_reasons", sa.JSON(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"], name=op.f("fk_meetings_matter_id_matters")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
    )
    op.create_index(op.f("ix_meetings_matter_id"), "meetings", ["matter_id"], unique=False)
    op.create_table(
        "notices",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("matter_id", BIGINT, nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("content_digest", sa.String(length=64), nullable=False),
        sa.Column("checkpoint", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("posted_by", sa.String(length=120), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"], name=op.f("fk_notices_matter_id_matters")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    op.create_index(op.f("ix_notices_county_code"), "notices", ["county_code"], unique=False)
    op.create_index(op.f("ix_notices_matter_id"), "notices", ["matter_id"], unique=False)
    op.create_table(
        "payment_batches",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("matter_id", BIGINT, nullable=False),
        sa.Column("run_id", BIGINT, nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column(
            "total_fen",
            BIGINT,
            nullable=False,
            comment="批次合计（分），等于运行结果的分配合计 / batch total in fen",
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["matter_id"], ["matters.id"], name=op.f("fk_payment_batches_matter_id_matters")
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_payment_batches_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_batches")),
        sa.UniqueConstraint("matter_id", name=op.f("uq_payment_batches_matter_id")),
    )
    op.create_index(op.f("ix_payment_batches_county_code"), "payment_batches", ["county_code"], unique=False)
    op.create_table(
        "reviews",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("matter_id", BIGINT, nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("comments", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(length=120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document_digest", sa.String(length=64), nullable=False),
        sa.Column("preview_digest", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"], name=op.f("fk_reviews_matter_id_matters")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
    )
    op.create_index(op.f("ix_reviews_matter_id"), "reviews", ["matter_id"], unique=False)
    op.create_table(
        "objections",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("notice_id", BIGINT, nullable=False),
        sa.Column("matter_id", BIGINT, nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("objector_name", sa.String(length=60), nullable=True),
        sa.Column("contact", sa.String(length=100), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=120), nullable=True),
        sa.Column("objector_notified", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"], name=op.f("fk_objections_matter_id_matters")),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"], name=op.f("fk_objections_notice_id_notices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objections")),
    )
    op.create_index(op.f("ix_objections_matter_id"), "objections", ["matter_id"], unique=False)
    op.create_index(op.f("ix_objections_notice_id"), "objections", ["notice_id"], unique=False)
    op.create_table(
        "payment_lines",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("batch_id", BIGINT, nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("payee_type", sa.String(length=16), nullable=False),
        sa.Column("payee_ref", sa.String(length=40), nullable=False),
        sa.Column("household_id", BIGINT, nullable=True),
        sa.Column("payee_name", sa.String(length=100), nullable=False),
        sa.Column("amount_fen", BIGINT, nullable=False, comment="应付金额（分） / amount in fen"),
        sa.Column("bank_account_masked", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payment_ref", sa.String(length=100), nullable=False),
        sa.Column("failure_reason", sa.String(length=400), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["payment_batches.id"], name=op.f("fk_payment_lines_batch_id_payment_batches")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_payment_lines_household_id_households")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_lines")),
        sa.UniqueConstraint("batch_id", "payee_type", "payee_ref", name=op.f("uq_payment_lines_batch_id")),
    )
    op.create_index(op.f("ix_payment_lines_batch_id"), "payment_lines", ["batch_id"], unique=False)
    op.create_index(op.f("ix_payment_lines_county_code"), "payment_lines", ["county_code"], unique=False)


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
