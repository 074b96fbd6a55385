"""registry, contracts and runs

Revision ID: 0001_registry
Revises: None
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_registry"
down_revision = None
branch_labels = None
depends_on = None

# BIGINT on PostgreSQL, INTEGER (a rowid alias for primary keys) on SQLite, as in daipin.db.base.
BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "allocation_plans",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("pool_fen", BIGINT, nullable=False, comment="可分配收益（分） / income pool in fen"),
        sa.Column("buckets", sa.JSON(), nullable=False),
        sa.Column(
            "cap_per_household_fen",
            BIGINT,
            nullable=True,
            comment="每户上限（分） / per-household cap in fen",
        ),
        sa.Column("eligible_statuses", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocation_plans")),
        sa.UniqueConstraint("village_code", "year", name=op.f("uq_allocation_plans_village_code")),
    )
    op.create_index(
        op.f("ix_allocation_plans_county_code"), "allocation_plans", ["county_code"], unique=False
    )
    op.create_table(
        "entities",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("legal_representative", sa.String(length=60), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("credit_status", sa.String(length=16), nullable=False),
        sa.Column("credit_since", sa.Date(), nullable=True),
        sa.Column("credit_reason", sa.String(length=400), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entities")),
        sa.UniqueConstraint("uscc", name=op.f("uq_entities_uscc")),
    )
    op.create_index(op.f("ix_entities_county_code"), "entities", ["county_code"], unique=False)
    op.create_table(
        "households",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("household_no", sa.String(length=40), nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_since", sa.Date(), nullable=True),
        sa.Column("exit_year", sa.Integer(), nullable=True),
        sa.Column("poverty_cause", sa.String(length=100), nullable=True),
        sa.Column("labor", sa.String(length=8), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("bank_account", sa.String(length=40), nullable=True),
        sa.Column("life_state", sa.String(length=16), nullable=False),
        sa.Column("life_state_date", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_households")),
        sa.UniqueConstraint("household_no", name=op.f("uq_households_household_no")),
    )
    op.create_index(
        "ix_households_household_no_pattern",
        "households",
        ["household_no"],
        unique=False,
        postgresql_ops={"household_no": "text_pattern_ops"},
    )
    op.create_index("ix_households_village_code_household_no", "households", ["village_code", "household_no"],
                    unique=False)
    op.create_table(
        "regions",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("parent_code", sa.String(length=12), nullable=True),
        sa.Column("poor_village", sa.Boolean(), nullable=False),
        sa.Column("key_village", sa.Boolean(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regions")),
        sa.UniqueConstraint("code", name=op.f("uq_regions_code")),
    )
    op.create_index(op.f("ix_regions_county_code"), "regions", ["county_code"], unique=False)
    op.create_index(op.f("ix_regions_parent_code"), "regions", ["parent_code"], unique=False)
    op.create_table(
        "runs",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("subject", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("input_json", sa.JSON(), nullable=False),
        sa.Column("output_json", sa.JSON(), nullable=False),
        sa.Column("input_digest", sa.String(length=64), nullable=False),
        sa.Column("output_digest", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ledger_index", BIGINT, nullable=True),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    op.create_index(op.f("ix_runs_county_code"), "runs", ["county_code"], unique=False)
    op.create_index(op.f("ix_runs_subject"), "runs", ["subject"], unique=False)
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=400), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )
    op.create_table(
        "contribution_records",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("household_id", BIGINT, nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("points", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_contribution_records_household_id_households")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contribution_records")),
    )
    op.create_index(
        op.f("ix_contribution_records_household_id"), "contribution_records", ["household_id"], unique=False
    )
    op.create_index(
        op.f("ix_contribution_records_village_code"), "contribution_records", ["village_code"], unique=False
    )
    op.create_table(
        "household_status_history",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("household_id", BIGINT, nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_household_status_history_household_id_households"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_status_history")),
    )
    op.create_index(
        op.f("ix_household_status_history_household_id"),
        "household_status_history",
        ["household_id"],
        unique=False,
    )
    op.create_table(
        "insurance_policies",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("entity_id", BIGINT, nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("insurer", sa.String(length=200), nullable=False),
        sa.Column("policy_no", sa.String(length=64), nullable=False),
        sa.Column("coverage", sa.String(length=200), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entity_id"], ["entities.id"], name=op.f("fk_insurance_policies_entity_id_entities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insurance_policies")),
    )
    op.create_index(
        op.f("ix_insurance_policies_entity_id"), "insurance_policies", ["entity_id"], unique=False
    )
    op.create_table(
        "people",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("household_id", BIGINT, nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("name_initials", sa.String(length=60), server_default="", nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("labor", sa.String(length=8), nullable=False),
        sa.Column("life_state", sa.String(length=16), nullable=False),
        sa.Column("life_state_date", sa.Date(), nullable=True),
        sa.Column("health_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_people_household_id_households")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
    )
    op.create_index(op.f("ix_people_household_id"), "people", ["household_id"], unique=False)
    op.create_index(
        "ix_people_name_pattern", "people", ["name"], unique=False, postgresql_ops={"name": "text_pattern_ops"}
    )
    op.create_index(
        "ix_people_name_initials",
        "people",
        ["name_initials"],
        unique=False,
        postgresql_ops={"name_initials": "text_pattern_ops"},
    )
    op.create_index(
        "uq_people_id_number",
        "people",
        ["id_number"],
        unique=True,
        postgresql_ops={"id_number": "text_pattern_ops"},
    )
    op.create_table(
        "projects",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("entity_id", BIGINT, nullable=False),
        sa.Column("township_code", sa.String(length=12), nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=True),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("expected_return", sa.String(length=24), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("start_year", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["entity_id"], ["entities.id"], name=op.f("fk_projects_entity_id_entities")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("code", name=op.f("uq_projects_code")),
    )
    op.create_index(op.f("ix_projects_county_code"), "projects", ["county_code"], unique=False)
    op.create_index(op.f("ix_projects_entity_id"), "projects", ["entity_id"], unique=False)
    op.create_index(op.f("ix_projects_village_code"), "projects", ["village_code"], unique=False)
    op.create_table(
        "assets",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("project_id", BIGINT, nullable=True),
        sa.Column("value_fen", BIGINT, nullable=False, comment="资产原值（分） / book value in fen"),
        sa.Column("owner_region_code", sa.String(length=12), nullable=True),
        sa.Column("owner_entity_id", BIGINT, nullable=True),
        sa.Column("operator_entity_id", BIGINT, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_entity_id"], ["entities.id"], name=op.f("fk_assets_operator_entity_id_entities")
        ),
        sa.ForeignKeyConstraint(
            ["owner_entity_id"], ["entities.id"], name=op.f("fk_assets_owner_entity_id_entities")
        ),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_assets_project_id_projects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assets")),
        sa.UniqueConstraint("code", name=op.f("uq_assets_code")),
    )
    op.create_index(op.f("ix_assets_county_code"), "assets", ["county_code"], unique=False)
    op.create_index(op.f("ix_assets_project_id"), "assets", ["project_id"], unique=False)
    op.create_table(
        "contracts",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("model", sa.String(length=24), nullable=False),
        sa.Column("project_id", BIGINT, nullable=False),
        sa.Column("entity_id", BIGINT, nullable=False),
        sa.Column("payee_household_id", BIGINT, nullable=True),
        sa.Column("payee_village_code", sa.String(length=12), nullable=True),
        sa.Column("person_id", BIGINT, nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(["entity_id"], ["entities.id"], name=op.f("fk_contracts_entity_id_entities")),
        sa.ForeignKeyConstraint(
            ["payee_household_id"], ["households.id"], name=op.f("fk_contracts_payee_household_id_households")
        ),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_contracts_person_id_people")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_contracts_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("code", name=op.f("uq_contracts_code")),
    )
    op.create_index(op.f("ix_contracts_county_code"), "contracts", ["county_code"], unique=False)
    op.create_index(op.f("ix_contracts_entity_id"), "contracts", ["entity_id"], unique=False)
    op.create_index(
        op.f("ix_contracts_payee_household_id"), "contracts", ["payee_household_id"], unique=False
    )
    op.create_index(op.f("ix_contracts_project_id"), "contracts", ["project_id"], unique=False)
    op.create_table(
        "funding_sources",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("project_id", BIGINT, nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("amount_fen", BIGINT, nullable=False, comment="资金金额（分） / amount in fen"),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_funding_sources_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funding_sources")),
    )
    op.create_index(op.f("ix_funding_sources_project_id"), "funding_sources", ["project_id"], unique=False)
    op.create_table(
        "profit_records",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("project_id", BIGINT, nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column(
            "profit_fen",
            BIGINT,
            nullable=False,
            comment="经审计利润（分），可为负 / audited profit in fen, may be negative",
        ),
        sa.Column(
            "cash_available_fen",
            BIGINT,
            nullable=True,
            comment="可用于兑付的现金（分） / cash available in fen",
        ),
        sa.Column("audit_ref", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_profit_records_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profit_records")),
        sa.UniqueConstraint(
            "project_id", "period_start", "period_end", name=op.f("uq_profit_records_project_id")
        ),
    )
    op.create_index(op.f("ix_profit_records_project_id"), "profit_records", ["project_id"], unique=False)
    op.create_table(
        "asset_valuations",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("asset_id", BIGINT, nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("valuer", sa.String(length=200), nullable=False),
        sa.Column("valued_on", sa.Date(), nullable=False),
        sa.Column("value_fen", BIGINT, nullable=False, comment="评估价值（分） / appraised value in fen"),
        sa.Column("report_ref", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_asset_valuations_asset_id_assets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_valuations")),
    )
    op.create_index(op.f("ix_asset_valuations_asset_id"), "asset_valuations", ["asset_id"], unique=False)
    op.create_table(
        "contract_versions",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("contract_id", BIGINT, nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("payee_household_id", BIGINT, nullable=True),
        sa.Column("payee_village_code", sa.String(length=12), nullable=True),
        sa.Column("reason", sa.String(length=400), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_contract_versions_contract_id_contracts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_versions")),
        sa.UniqueConstraint("contract_id", "version", name=op.f("uq_contract_versions_contract_id")),
    )
    op.create_index(
        op.f("ix_contract_versions_contract_id"), "contract_versions", ["contract_id"], unique=False
    )
    op.create_table(
        "work_records",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("contract_id", BIGINT, nullable=True),
        sa.Column("household_id", BIGINT, nullable=False),
        sa.Column("person_id", BIGINT, nullable=True),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("post", sa.String(length=40), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("days", sa.String(length=16), nullable=False),
        sa.Column("daily_wage_fen", BIGINT, nullable=True, comment="日工资（分） / daily wage in fen"),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_work_records_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_work_records_household_id_households")
        ),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_work_records_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_records")),
    )
    op.create_index(op.f("ix_work_records_contract_id"), "work_records", ["contract_id"], unique=False)
    op.create_index(op.f("ix_work_records_county_code"), "work_records", ["county_code"], unique=False)
    op.create_index(op.f("ix_work_records_household_id"), "work_records", ["household_id"], unique=False)
    op.create_index(op.f("ix_work_records_village_code"), "work_records", ["village_code"], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes on every engine; its indexes are not dropped first, as MySQL and
    # MariaDB refuse to drop an index a foreign key of the table still needs (error 1553).
    op.drop_table("work_records")
    op.drop_table("contract_versions")
    op.drop_table("asset_valuations")
    op.drop_table("profit_records")
    op.drop_table("funding_sources")
    op.drop_table("contracts")
    op.drop_table("assets")
    op.drop_table("projects")
    op.drop_table("people")
    op.drop_table("insurance_policies")
    op.drop_table("household_status_history")
    op.drop_table("contribution_records")
    op.drop_table("settings")
    op.drop_table("runs")
    op.drop_table("regions")
    op.drop_table("households")
    op.drop_table("entities")
    op.drop_table("allocation_plans")
