"""All models, imported so that `Base.metadata` knows every table (Alembic, tests)."""

from daipin.db.models import auth, keys, ledger, obligations, registry, supervision, workflow, yearclose  # noqa: F401
