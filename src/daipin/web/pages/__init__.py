"""Page routes, one module per area of the site."""

from __future__ import annotations

from fastapi import APIRouter

from daipin.web.pages import (
    account,
    dashboard,
    ledger,
    payments,
    public,
    registry,
    registry_forms,
    registry_import,
    registry_lists,
    villages,
    workflow,
)

router = APIRouter(include_in_schema=False)
# The registry's forms before its pages: /households/new is not a household's id.
for _module in (account, public, dashboard, registry_import, registry_forms, registry_lists, registry, villages,
                workflow, payments, ledger):
    router.include_router(_module.router)
