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
    training,
    villages,
    workflow,
)

router = APIRouter(include_in_schema=False)
for _module in (account, public, dashboard, registry, villages, workflow, payments, ledger, training):
    router.include_router(_module.router)
