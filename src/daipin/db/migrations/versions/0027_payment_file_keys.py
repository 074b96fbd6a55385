"""payment lines' references to their bank files checked once per statement on PostgreSQL

A line names the file it was sent in (`sent_file_id`) and the return that settled it (`return_file_id`). As foreign
keys, PostgreSQL checked each of a bank file's 100,000 lines against `payment_files` one by one (a row trigger and a
lookup per line: a third of marking the lines sent or paid). On PostgreSQL the two keys are replaced by statement
triggers that check the same thing for all the rows a statement wrote at once:

- after an INSERT or UPDATE of `payment_lines`, every file the new rows name must exist; those files are locked
  against removal (`FOR KEY SHARE`, as a foreign key locks them) until the transaction ends;
- after a DELETE of `payment_files`, or an UPDATE that changes a file's id, no line may still name a file gone.

A violation raises `foreign_key_violation` (SQLSTATE 23503), as the keys did. SQLite and MariaDB keep the foreign
keys (nothing changes there).

Revision ID: 0027_payment_file_keys
Revises: 0026_payment_speed
"""

from __future__ import annotations

from alembic import op

revision = "0027_payment_file_keys"
down_revision = "0026_payment_speed"
branch_labels = None
depends_on = None

KEYS = (("fk_payment_lines_sent_file_id_payment_files", "sent_file_id"),
        ("fk_payment_lines_return_file_id_payment_files", "return_file_id"))

LINES_CHECK = """
CREATE FUNCTION payment_lines_files_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing bigint;
BEGIN
    PERFORM 1 FROM payment_files
     WHERE id IN (SELECT sent_file_id FROM new_lines UNION SELECT return_file_id FROM new_lines)
       FOR KEY SHARE;
    SELECT f.id INTO missing
      FROM (SELECT sent_file_id AS id FROM new_lines UNION SELECT return_file_id FROM new_lines) AS f
     WHERE f.id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM payment_files p WHERE p.id = f.id)
     LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'payment_lines name payment file %, which does not exist', missing
              USING ERRCODE = 'foreign_key_violation', TABLE = 'payment_lines';
    END IF;
    RETURN NULL;
END
$$
"""

FILES_KEPT = """
CREATE FUNCTION payment_files_still_named() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    named bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT o.id INTO named FROM old_files AS o
         WHERE EXISTS (SELECT 1 FROM payment_lines p WHERE p.sent_file_id = o.id OR p.return_file_id = o.id)
         LIMIT 1;
    ELSE
        SELECT o.id INTO named FROM old_files AS o
         WHERE NOT EXISTS (SELECT 1 FROM new_files n WHERE n.id = o.id)
           AND EXISTS (SELECT 1 FROM payment_lines p WHERE p.sent_file_id = o.id OR p.return_file_id = o.id)
         LIMIT 1;
    END IF;
    IF named IS NOT NULL THEN
        RAISE EXCEPTION 'payment file % is still named by payment_lines', named
              USING ERRCODE = 'foreign_key_violation', TABLE = 'payment_files';
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _column in KEYS:
        op.execute(f"ALTER TABLE payment_lines DROP CONSTRAINT {name}")
    op.execute(LINES_CHECK)
    op.execute(FILES_KEPT)
    op.execute("CREATE TRIGGER payment_lines_files_inserted AFTER INSERT ON payment_lines "
               "REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION payment_lines_files_exist()")
    op.execute("CREATE TRIGGER payment_lines_files_updated AFTER UPDATE ON payment_lines "
               "REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION payment_lines_files_exist()")
    op.execute("CREATE TRIGGER payment_files_deleted AFTER DELETE ON payment_files "
               "REFERENCING OLD TABLE AS old_files FOR EACH STATEMENT EXECUTE FUNCTION payment_files_still_named()")
    op.execute("CREATE TRIGGER payment_files_updated AFTER UPDATE ON payment_files "
               "REFERENCING OLD TABLE AS old_files NEW TABLE AS new_files FOR EACH STATEMENT "
               "EXECUTE FUNCTION payment_files_still_named()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER payment_files_updated ON payment_files")
    op.execute("DROP TRIGGER payment_files_deleted ON payment_files")
    op.execute("DROP TRIGGER payment_lines_files_updated ON payment_lines")
    op.execute("DROP TRIGGER payment_lines_files_inserted ON payment_lines")
    op.execute("DROP FUNCTION payment_files_still_named()")
    op.execute("DROP FUNCTION payment_lines_files_exist()")
    for name, column in KEYS:
        op.execute(f"ALTER TABLE payment_lines ADD CONSTRAINT {name} FOREIGN KEY ({column}) "
                   "REFERENCES payment_files (id)")
