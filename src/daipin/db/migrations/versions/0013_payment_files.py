"""payment files: lines sent to the bank, answered, requeued or written off; the files' digests

`payment_files` keeps each agent-payment file sent to the bank and each return file read back (digest and
counts only: the files themselves hold full account numbers). `payment_lines` gains its number in the batch
(序号), its attempt and the failed line it retries, the digest of the account it was sent to, when it was sent,
answered and written off, and why. Its payee key now includes the attempt (a retry is a new line for the same
payee), and a bank serial number settles one line only. The new columns stay NULL on older lines, whose
recorded row state is what it was.

Revision ID: 0013_payment_files
Revises: 0011_ledger_trust
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_payment_files"
down_revision = "0011_ledger_trust"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "payment_files",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("batch_id", _ID, sa.ForeignKey("payment_batches.id", name=op.f("fk_payment_files_batch_id_payment_batches")),
                  nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("total_fen", _ID, nullable=False),
        sa.Column("paid_count", sa.Integer(), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("with_id_number", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_files")),
    )
    op.create_index(op.f("ix_payment_files_batch_id"), "payment_files", ["batch_id"])
    with op.batch_alter_table("payment_lines") as b:
        b.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        b.add_column(sa.Column("attempt", sa.Integer(), nullable=True))
        b.add_column(sa.Column("retry_of", _ID, nullable=True))
        b.add_column(sa.Column("account_digest", sa.String(length=64), nullable=True))
        b.add_column(sa.Column("sent_file_id", _ID, nullable=True))
        b.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("return_file_id", _ID, nullable=True))
        b.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("written_off_at", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("write_off_reason", sa.String(length=400), nullable=True))
        b.add_column(sa.Column("write_off_ref", sa.String(length=200), nullable=True))
        b.drop_constraint("uq_payment_lines_batch_id", type_="unique")
        b.create_unique_constraint("uq_payment_lines_payee_attempt", ["batch_id", "payee_type", "payee_ref", "attempt"])
        b.create_unique_constraint("uq_payment_lines_batch_seq", ["batch_id", "seq"])
        b.create_unique_constraint(op.f("uq_payment_lines_retry_of"), ["retry_of"])
        b.create_foreign_key(op.f("fk_payment_lines_retry_of_payment_lines"), "payment_lines", ["retry_of"], ["id"])
        b.create_foreign_key(op.f("fk_payment_lines_sent_file_id_payment_files"), "payment_files", ["sent_file_id"],
                             ["id"])
        b.create_foreign_key(op.f("fk_payment_lines_return_file_id_payment_files"), "payment_files",
                             ["return_file_id"], ["id"])
    op.create_index("uq_payment_lines_county_ref", "payment_lines", ["county_code", "payment_ref"], unique=True,
                    postgresql_where=sa.text("payment_ref <> ''"), sqlite_where=sa.text("payment_ref <> ''"))


def downgrade() -> None:
    op.drop_index("uq_payment_lines_county_ref", table_name="payment_lines")
    with op.batch_alter_table("payment_lines") as b:
        b.drop_constraint(op.f("fk_payment_lines_return_file_id_payment_files"), type_="foreignkey")
        b.drop_constraint(op.f("fk_payment_lines_sent_file_id_payment_files"), type_="foreignkey")
        b.drop_constraint(op.f("fk_payment_lines_retry_of_payment_lines"), type_="foreignkey")
        b.drop_constraint(op.f("uq_payment_lines_retry_of"), type_="unique")
        b.drop_constraint("uq_payment_lines_batch_seq", type_="unique")
        b.drop_constraint("uq_payment_lines_payee_attempt", type_="unique")
        for col in ("write_off_ref", "write_off_reason", "written_off_at", "failed_at", "return_file_id", "sent_at",
                    "sent_file_id", "account_digest", "retry_of", "attempt", "seq"):
            b.drop_column(col)
        b.create_unique_constraint("uq_payment_lines_batch_id", ["batch_id", "payee_type", "payee_ref"])
    # Dropping a table drops its indexes on every engine; its indexes are not dropped first, as MySQL and
    # MariaDB refuse to drop an index a foreign key of the table still needs (error 1553).
    op.drop_table("payment_files")
