"""Page routes, one module per area of the site."""

from __future__ import annotations

from fastapi import APIRouter

from daipin.web.pages import (
    account,
    dashboard,
    documents,
    ledger,
    payments,
    public,
    registry,
    villages,
    workflow,
)

router = APIRouter(include_in_schema=False)
for _module in (account, public, dashboard, documents, registry, villages, workflow, payments, ledger):
    router.include_router(_module.router)
