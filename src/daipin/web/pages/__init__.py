"""Page routes, one module per area of the site."""

from __future__ import annotations

from fastapi import APIRouter

from daipin.web.pages import (
    account,
    dashboard,
    documents,
    exports,
    ledger,
    obligations,
    payments,
    province,
    public,
    registry,
    registry_forms,
    registry_import,
    registry_lists,
    supervision,
    training,
    villages,
    workflow,
    yearclose,
)

router = APIRouter(include_in_schema=False)
# documents before registry (/contracts/N.pdf before /contracts/{id}); the registry's forms before its pages
# (/households/new is not a household's id)
for _module in (account, public, dashboard, documents, registry_import, registry_forms, registry_lists, registry,
                villages, workflow, payments, ledger, exports, supervision, training, yearclose, obligations,
                province):
    router.include_router(_module.router)
