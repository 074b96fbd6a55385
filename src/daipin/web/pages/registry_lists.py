"""Lists that scale: contracts in the viewer's reach with their total, page numbers, filters (township or village
of the payee, year in force, benefit model, status) and a code search; the household list lives with the other
registry pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from daipin.domain import access, vocabulary
from daipin.domain.actors import Actor
from daipin.domain.errors import InputError
from daipin.http.deps import Auth, read_only
from daipin.services.registry import views as rv
from daipin.web import render
from daipin.web.pages.registry import page_numbers

router = APIRouter()


def _regions(session: Session, actor: Actor) -> list[dict[str, object]]:
    townships = rv.regions_in_reach(session, actor, "contract.read", "township")
    villages = rv.regions_in_reach(session, actor, "contract.read", "village")
    if len(villages) <= 1:
        return []
    return [{**t, "villages": [v for v in villages if v["parent"] == t["code"]],
             "whole": access.allowed(actor, "contract.read", region=t["code"])} for t in townships]


@router.get("/contracts", response_class=HTMLResponse)
async def contract_list(request: Request, q: str = "", model: str = "", status: str = "", region: str = "",
                        year: str = "", offset: int = 0) -> Response:
    def work(session: Session, auth: Auth) -> Response:
        if year and not year.isdigit():
            raise InputError("年度应为四位数字", "year must be four digits", "year")
        page = rv.search_contracts(session, auth.actor, q=q, model=model or None, status=status or None,
                                   region=region or None, year=int(year) if year else None, offset=offset)
        ctx = {"page": page, "q": q, "model": model, "status": status, "region": region, "year": year,
               "pages": page_numbers(page["offset"], page["limit"], page["total"]),
               "models": vocabulary.BENEFIT_MODEL.codes, "statuses": vocabulary.CONTRACT_STATUS.codes}
        if request.headers.get("hx-request") and request.headers.get("hx-target") == "results":
            return render(request, "registry/_contract_rows.html", ctx)
        ctx["regions"] = _regions(session, auth.actor)
        return render(request, "registry/contracts.html", ctx)

    return await read_only(request, work)
