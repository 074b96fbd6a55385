"""Pages show codes by the vocabulary's names: an idle asset reads 闲置 (Idle in English), never `idle`, and a
blacklisted entity reads the same word on every page, export and message that shows it."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from daipin.db.models.registry import Asset, Entity
from daipin.domain.actors import SYSTEM_ACTOR
from daipin.domain.errors import Conflict
from daipin.domain.vocabulary import CREDIT_STATUS, label
from daipin.services.registry import service as reg
from tests.integration.api_support import START, World, app_on_session, build_world, client

BLACKLISTED = label("credit_status", "blacklisted")


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return build_world(session, str(tmp_path / "keys"))


def as_role(app: Any, w: World, role: str) -> Any:
    c = client(app)
    c.cookies.set("daipin_session", w.tokens[role])
    return c


def text_of(html: str) -> str:
    """What a person reads on the page: its text, without scripts, styles, tags and attributes."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def idle_asset(session: Session, world: World) -> Asset:
    asset = reg.register_asset(session, SYSTEM_ACTOR, code="ZC-IDLE-1", name="闲置冷库", kind="operating",
                               value_fen=12_345_600, at=START, project_id=world.ids["project_own"], status="idle",
                               owner_region_code="231002001001")
    session.flush()
    return asset


def test_an_idle_asset_reads_as_idle_in_words_on_every_page_never_as_its_code(session: Session,
                                                                               world: World) -> None:
    asset = idle_asset(session, world)
    app, _ = app_on_session(session)
    for role in ("district_admin", "township_official", "village_cadre", "auditor"):
        c = as_role(app, world, role)
        for url in (f"/assets/{asset.id}", f"/projects/{world.ids['project_own']}"):
            page = c.get(url)
            assert page.status_code == 200, (role, url, page.status_code)
            shown = text_of(page.text)
            assert "闲置冷库" in shown, (role, url)
            assert "闲置" in shown.replace("闲置冷库", ""), (role, url)
            assert not re.search(r"\bidle\b", shown), (role, url, shown)
        english = text_of(c.get(f"/assets/{asset.id}?lang=en").text)
        assert re.search(r"\bIdle\b", english) and "Operating asset" in english and "闲置 " not in english
    body = as_role(app, world, "district_admin").get(f"/api/v1/assets/{asset.id}").json()["asset"]
    assert (body["status"], body["status_label"], body["kind_label"]) == ("idle", "闲置", "经营性资产")


def _one_word(shown: str) -> None:
    """The blacklist is named by the vocabulary's word wherever it is named (黑名单 never stands alone)."""
    assert BLACKLISTED in shown
    assert shown.count("黑名单") == shown.count(BLACKLISTED), shown


def test_a_blacklisted_entity_reads_the_same_word_on_every_page_export_and_message(
        session: Session, world: World, tmp_path: Path) -> None:
    entity_id = world.ids["entity_own"]
    entity = session.get(Entity, entity_id)
    assert entity is not None
    # Asked by the word an older record wrote (黑名单): it is read as the code, and that direct path is refused (a
    # listing follows due process); listed by the credit listing, it is shown by the one word.
    with pytest.raises(Conflict) as direct:
        reg.set_credit_status(session, SYSTEM_ACTOR, entity_id, "黑名单", since=date(2026, 1, 5), reason="拖欠租金",
                              at=START)
    assert direct.value.code == "listing_required"
    from daipin.services.credit import service as credit

    listing = credit.propose_listing(session, SYSTEM_ACTOR, entity=entity_id, reasons="拖欠租金",
                                     basis="国办发〔2020〕49号", at=START - timedelta(days=30))
    credit.take_effect(session, SYSTEM_ACTOR, listing.id, at=START)
    session.flush()
    assert entity.credit_status == "blacklisted"
    app, _ = app_on_session(session)
    admin = as_role(app, world, "district_admin")
    listed = admin.get("/entities")
    row = re.search(rf'<tr><td[^>]*><a href="/entities/{entity_id}">.*?</tr>', listed.text, re.S)
    assert listed.status_code == 200 and row is not None
    _one_word(text_of(row.group(0)))
    page = admin.get(f"/entities/{entity_id}")
    credit = re.search(r'<dd id="credit">(.*?)</dd>', page.text, re.S)
    assert page.status_code == 200 and credit is not None
    _one_word(text_of(credit.group(1)))
    _one_word(text_of(page.text))
    # The entity's own users read the same word on their entity's page.
    _one_word(text_of(as_role(app, world, "entity_user").get(f"/entities/{entity_id}").text))
    english = text_of(admin.get(f"/entities/{entity_id}?lang=en").text)
    assert "Blacklisted" in english and "黑名单" not in english
    # The API names it by the same word.
    api = admin.get(f"/api/v1/entities/{entity_id}").json()["entity"]
    assert (api["credit_status"], api["credit"]) == ("blacklisted", BLACKLISTED)
    assert {e["credit"] for e in admin.get("/api/v1/entities").json() if e["id"] == entity_id} == {BLACKLISTED}
    # The spreadsheet export, and the refusal to sign a new contract with the entity.
    from openpyxl import load_workbook

    from daipin.services.imports import exports

    out = tmp_path / "entities.xlsx"
    exports.export_entities(session, out)
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    header = next(r for r in rows if "信用状态" in r)  # (under the export's title row)
    column = header.index("信用状态")
    assert {r[column] for r in rows if r[0] == entity.name} == {BLACKLISTED}
    from daipin.services.contracts import service as contracts

    with pytest.raises(Conflict) as refused:
        contracts.sign_contract(session, SYSTEM_ACTOR, code="XY-BLACK-1", model="asset_lease",
                                project_id=world.ids["project_own"], start_date=date(2026, 1, 1),
                                end_date=date(2026, 12, 31), terms={"annual_rent_fen": 100_000}, at=START,
                                payee_village_code="231002001001")
    _one_word(refused.value.message_zh)
    assert CREDIT_STATUS.read(BLACKLISTED) == "blacklisted"


def test_the_supervision_thresholds_are_named_in_the_page_s_language(session: Session, world: World) -> None:
    """Each threshold a county may set reads by its name on the supervision (findings) page and the thresholds form: Chinese on a
    Chinese page, English on an English one (the catalog's own translation), never the other language."""
    from daipin.domain.supervision import THRESHOLD_LABELS
    from daipin.web.i18n import gettext

    app, _ = app_on_session(session)
    admin = as_role(app, world, "district_admin")
    for path in ("/supervision", "/supervision/thresholds"):
        chinese, english = (text_of(admin.get(f"{path}?lang={lang}").text) for lang in ("zh_CN", "en"))
        for zh in THRESHOLD_LABELS.values():
            en = gettext("en", zh)
            assert en != zh, f"no English for {zh}"
            assert zh in chinese and en not in chinese, (path, zh)
            assert en in english and zh not in english, (path, en)
