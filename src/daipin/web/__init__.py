"""Server-rendered pages (Jinja2 + htmx + ECharts, Chinese first) and their shared rendering helpers."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from daipin.domain import access
from daipin.domain.actors import Role
from daipin.domain.localtime import beijing_date, for_people
from daipin.domain.money import format_yuan
from daipin.domain.vocabulary import ROLE
from daipin.web.fields import error_text, field_label, page_message
from daipin.web.i18n import LANG_COOKIE, LOCALES, label, pick_locale, translations

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def fen(value: Any) -> str:
    """Whole fen as yuan, written as everywhere else (`format_yuan`); nothing for no amount."""
    if value is None or value == "":
        return ""
    return format_yuan(int(value))


def percent(value: Any) -> str:
    """A rate written as a decimal ("0.012") as its exact percentage ("1.2%")."""
    from decimal import Decimal, InvalidOperation

    try:
        d = Decimal(str(value)) * 100
    except InvalidOperation:
        return ""
    return f"{format(d.normalize(), 'f')}%"


def fen_upper(value: Any) -> str:
    """大写 amount, for notices."""
    import cn2an

    return str(cn2an.an2cn(format_yuan(int(value or 0), grouping=False), "rmb"))


def _page_gettext(catalog: Any) -> Callable[..., Markup]:
    """The templates' `_()`: what Jinja2's newstyle gettext gives in an autoescaped template (every template here
    is .html), the message as trusted markup formatted with its escaped variables, without its per-call work
    (a context call, a Markup, a `%`): a list page calls it for every cell's label, hundreds of times. A message
    without variables is worked out once (its `%%` read as `%`, as `%` with no variables gives it)."""
    plain: dict[str, Markup] = {}
    gettext = catalog.gettext

    def _(message: str, **variables: Any) -> Markup:
        if variables:
            return Markup(gettext(message)) % variables
        text = plain.get(message)
        if text is None:
            text = plain[message] = Markup(gettext(message)) % {}
        return text

    return _


@cache
def environment(locale: str) -> Environment:
    """The Jinja2 environment of one locale; each template is compiled once and kept."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    catalog = translations(locale)
    env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    env.globals["_"] = _page_gettext(catalog)
    env.filters["fen"] = fen
    env.filters["fen_upper"] = fen_upper
    env.filters["percent"] = percent
    # Every time a person reads is Beijing time with its zone named, through this one filter: {{ at|bjt }}
    # (`… 北京时间`, `… Beijing time` on English pages); {{ at|bjt(date_only=True) }} for its day in Beijing.
    env.filters["bjt"] = partial(for_people, lang=locale)
    env.filters["label"] = lambda code, group: label(locale, code, group)
    # A refused field by its label in the page's language, never its machine name (the API keeps that).
    env.filters["field_label"] = lambda field: field_label(field, locale)
    env.filters["error_text"] = lambda error: error_text(error, locale)
    # Kept for templates that index it by role: the vocabulary's names in the page's language.
    env.globals["ROLE_LABELS"] = ROLE.labels("en" if locale == "en" else "zh")
    env.globals["Role"] = Role
    # Links and forms are shown by the access policy the services enforce: may(actor, "ledger.verify", ...).
    env.globals["may"] = lambda actor, *actions: any(access.may(actor, a) for a in actions)
    env.globals["LOCALES"] = LOCALES
    return env


def locale_of(request: Request) -> str:
    cached = getattr(request.state, "locale", None)
    if cached:
        return str(cached)
    loc = pick_locale(request.cookies.get(LANG_COOKIE), request.query_params.get("lang"))
    request.state.locale = loc
    return loc


def _base_context(request: Request) -> dict[str, Any]:
    from daipin.http.deps import PUBLIC_ACTOR, TRAINING, csrf_token_for, database_kind

    auth = getattr(request.state, "auth", None)
    settings = request.app.state.settings
    actor = auth.actor if auth is not None else PUBLIC_ACTOR
    if auth is None:
        from daipin.http.deps import Auth

        auth = Auth(actor=PUBLIC_ACTOR)
    return {
        "request": request,
        "actor": actor,
        "auth": auth,
        "user": auth.user,
        "csrf_token": csrf_token_for(request, auth, settings),
        "locale": locale_of(request),
        "today": beijing_date(now) if (now := getattr(request.state, "now", None)) else settings.today(),
        "now": now or settings.now(),
        # A training database's every page says so (演示/培训数据).
        "training": database_kind(request) == TRAINING,
    }


def render_text(request: Request, name: str, context: dict[str, Any] | None = None) -> str:
    """The page as text: the template rendered straight from its environment (Starlette's TemplateResponse
    adds context processors and a `url_for` the templates do not use)."""
    ctx = _base_context(request)
    if context:
        ctx.update(context)
    return environment(locale_of(request)).get_template(name).render(ctx)


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(render_text(request, name, context), status_code=status_code, headers=headers)


def render_error(request: Request, status: int, message_zh: str, message_en: str, field: str | None,
                 headers: dict[str, str] | None = None) -> Response:
    if status == 401 and request.method == "GET" and not request.headers.get("hx-request"):
        from urllib.parse import quote

        from fastapi.responses import RedirectResponse

        nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(nxt)}", status_code=303)
    message = page_message(message_en if locale_of(request) == "en" else message_zh, field, locale_of(request))
    if request.headers.get("hx-request"):
        # htmx swaps this fragment into the page's error slot.
        return render(request, "_error_fragment.html", {"status": status, "message": message, "field": field},
                      status_code=status, headers=headers)
    return render(request, "error.html", {"status": status, "message": message, "field": field},
                  status_code=status, headers=headers)
