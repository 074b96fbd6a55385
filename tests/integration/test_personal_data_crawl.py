"""The crawl: ID numbers, phones and bank numbers planted in every free-text field a person types on a matter's
path, the matter walked to its notice and archive, then every public page and JSON, the printed notice, its QR
target, every ledger entry, the ledger bundle and the dossier searched: none of the planted values in clear."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.ledger import LedgerEntry
from daipin.db.models.workflow import Objection, PaymentLine
from daipin.domain.errors import InputError
from daipin.http.deps import ANON_COOKIE, anon_csrf
from daipin.ledger import bundle as ledger_bundle
from daipin.services.dossiers import service as dossier
from daipin.services.matters import commands
from daipin.services.matters import service as wf
from daipin.services.payments import service as payments
from tests.integration.api_support import Clock, app_on_session
from tests.integration.registry_support import rs_fixture  # noqa: F401
from tests.integration.test_workflow import (
    AUDITOR,
    CADRE,
    DAY,
    PUBLIC,
    T0,
    TOWNSHIP,
    confirm_roster,
    draft_allocation,
    seed,
)

# What a person might type, each in its own field: resident IDs (with X), an old ID, mobiles and landlines with
# and without separators, bank numbers with and without spaces.
PLANTED = {
    "id18": "110105198807160537", "id18x": "11010519880716053X", "id15": "110105880716053",
    "mobile": "15987654321", "mobile_spaced": "159 8765 4322", "mobile_dashed": "159-8765-4323",
    "landline": "0451-86661234", "bank": "6217000010012345678", "bank_spaced": "6217 0000 1001 2345 679",
}


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _in_clear(text: str) -> list[str]:
    """The planted values found in `text` as typed, or as their bare digits in the text's digits."""
    digits = _digits(text)
    return [k for k, v in PLANTED.items() if v in text or _digits(v) in digits]


def _planted(*keys: str) -> str:
    return "，".join(f"号码{PLANTED[k]}" for k in keys)


ALL = tuple(PLANTED)


def _refused(field: str, call: Any) -> None:
    """An official's field that enters the ledger and the dossier as written: a planted number is refused,
    naming the field, and nothing is written."""
    with pytest.raises(InputError) as exc:
        call()
    assert exc.value.field == field, (field, exc.value.field)


def _body_text(body: Any) -> str:
    """A ledger entry's body as text, its Chinese unescaped."""
    raw = body.decode("utf-8") if isinstance(body, bytes) else body if isinstance(body, str) else json.dumps(body)
    return json.dumps(json.loads(raw), ensure_ascii=False)


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def test_no_planted_personal_number_reaches_a_public_surface_the_ledger_or_the_dossier(
        session: Session, tmp_path: Path) -> None:
    ctx = seed(session)
    confirm_roster(session)
    start = T0 + 20 * DAY
    planted = _planted(*ALL)
    # The draft's fields: each refused with a planted number, then drafted clean.
    for field in ("title", "justification", "funding_source", "responsible_person", "proposer"):
        kw: dict[str, Any] = {field: f"说明{planted}"}
        _refused(field, lambda kw=kw: wf.draft_matter(
            session, CADRE, kind="village_allocation", region="231002001001", document=draft_allocation_doc(),
            year=2024, at=start, **{"title": "2024年光伏收益分配", **kw}))
    m = draft_allocation(session, start, ctx=ctx, justification="按章程分配")
    for field in ("title", "justification", "funding_source", "responsible_person"):
        _refused(field, lambda field=field: commands.run(session, CADRE, m.id, commands.UpdateDraft.parse(
            {field: f"改为{planted}"}), at=start + timedelta(hours=1)))

    # The meeting: its place, minutes and attendance sheet references, the cadres present.
    sits = start + DAY + 10 * DAY
    _refused("place", lambda: wf.call_meeting(session, CADRE, m.id, type="村民代表会议", scheduled_at=sits,
                                              place=f"村委会，联系{planted}",
                                              at=start + DAY))
    wf.call_meeting(session, CADRE, m.id, type="村民代表会议", scheduled_at=sits, place="村委会会议室", at=start + DAY)
    for field in ("minutes_ref", "attendance_sheet_ref"):
        _refused(field, lambda field=field: wf.record_attendance(
            session, CADRE, m.id, present_representatives=20, first_secretary_present=True,
            at=sits, **{field: f"扫描件 {planted}"}))
    for field in ("name", "role"):  # the attendance list is kept in the meeting's row, and so in the dossier
        _refused(f"attendees[3].{field}", lambda field=field: wf.record_attendance(
            session, CADRE, m.id, present_representatives=20, first_secretary_present=True, at=sits,
            attendees=[{"key": f"代表{i}", field: f"某某 {PLANTED['mobile_spaced']}" if i == 3 else "某某"}
                       for i in range(20)]))
    _refused("cadres_present", lambda: wf.record_attendance(
        session, CADRE, m.id, present_representatives=20, first_secretary_present=True,
        cadres_present=[f"第一书记 {PLANTED['mobile']}"], at=sits))
    wf.record_attendance(session, CADRE, m.id, present_representatives=20, first_secretary_present=True,
                         cadres_present=["第一书记"], minutes_ref="sha256:minutes", attendance_sheet_ref="scan-001.pdf",
                         at=sits)
    wf.record_votes(session, CADRE, m.id, votes_for=15, against=5, abstain=0, at=sits)
    wf.decide(session, CADRE, m.id, at=sits + timedelta(hours=2))
    t = sits + DAY
    wf.submit_for_review(session, CADRE, m.id, at=t)
    # Review comments.
    _refused("comments", lambda: wf.review(session, TOWNSHIP, m.id, decision="approve",
                                           comments=f"已核 {planted}", at=t + timedelta(hours=3)))
    wf.review(session, TOWNSHIP, m.id, decision="approve", comments="程序合规", at=t + timedelta(hours=3))
    t += DAY
    n = wf.publish_notice(session, CADRE, m.id, at=t)

    # Objections from the public through the page and the API, named and anonymous, with numbers everywhere.
    app, clock = app_on_session(session, Clock(t + DAY))
    from fastapi.testclient import TestClient

    browser = TestClient(app, raise_server_exceptions=False)
    browser.cookies.set(ANON_COOKIE, "crawl-cookie")
    token = anon_csrf("test-secret", "crawl-cookie")
    page = browser.post(f"/public/notices/{n.id}/objections", data={
        "csrf_token": token, "text": f"名单有误，我的身份证 {PLANTED['id18']}，电话 {PLANTED['mobile_spaced']}，"
                                     f"卡号 {PLANTED['bank_spaced']}",
        "name": f"张某{PLANTED['id15']}", "contact": f"{PLANTED['mobile']} / {PLANTED['landline']}"})
    assert page.status_code == 200 and "objection-receipt" in page.text
    receipt = re.search(r'id="receipt-no">([^<]+)<', page.text)
    code = re.search(r'id="check-code">([^<]+)<', page.text)
    assert receipt and code
    api = browser.post(f"/api/v1/public/notices/{n.id}/objections", headers={"X-CSRF-Token": token}, json={
        "text": f"重复：身份证{PLANTED['id18x']}，手机{PLANTED['mobile_dashed']}，账户{PLANTED['bank']}"})
    assert api.status_code == 201, api.text
    filed = api.json()
    assert filed["receipt_no"] and filed["check_code"]
    first = session.scalar(select(Objection).where(Objection.receipt_no == receipt.group(1)))
    second = session.get(Objection, filed["id"])
    assert first is not None and second is not None
    # The official merges the duplicate, answers (the answer also holds numbers), redacts and notifies.
    wf.merge_objection(session, TOWNSHIP, second.id, into=first.id, at=t + 2 * DAY)
    wf.answer_objection(session, TOWNSHIP, first.id, outcome="dismissed", at=t + 2 * DAY,
                        reasons=f"已电话 {PLANTED['mobile']} 联系，核对身份证 {PLANTED['id18']} 与账户 "
                                f"{PLANTED['bank_spaced']}，名单无误")
    assert second.status == "dismissed" and second.answer == first.answer  # each still answered
    _refused("reason", lambda: wf.redact_objection(session, TOWNSHIP, first.id, part="text",
                                                   reason=f"含 {PLANTED['mobile']}", at=t + 2 * DAY))
    wf.redact_objection(session, TOWNSHIP, first.id, part="text", reason="含个人信息", at=t + 2 * DAY,
                        replacement=f"对名单有异议（{PLANTED['landline']}）")
    wf.notify_objector(session, TOWNSHIP, first.id, via="phone", at=t + 3 * DAY)
    wf.close_notice(session, CADRE, m.id, at=t + 10 * DAY)
    wf.execute(session, TOWNSHIP, m.id, at=t + 11 * DAY)
    line = session.scalars(select(PaymentLine).order_by(PaymentLine.id)).first()
    assert line is not None
    _refused("reason", lambda: payments.mark_paid(session, TOWNSHIP, line.id, failed=True,
                                                  reason=f"账户 {PLANTED['bank']} 已销户", at=t + 11 * DAY))
    for ln in session.scalars(select(PaymentLine).where(PaymentLine.batch_id == line.batch_id)):
        payments.mark_paid(session, TOWNSHIP, ln.id, payment_ref=f"HD-{ln.id}", at=t + 11 * DAY)
    wf.announce_result(session, CADRE, m.id, at=t + 12 * DAY)
    wf.archive(session, CADRE, m.id, at=t + 12 * DAY + timedelta(hours=1))
    session.flush()

    # The official in charge sees the named objector's contact; the public never does.
    assert first.contact == f"{PLANTED['mobile']} / {PLANTED['landline']}"

    # Crawl.
    clock.at = t + 13 * DAY
    seen: list[tuple[str, str]] = []
    c = TestClient(app, raise_server_exceptions=False)
    for path in ("/public", f"/public?region={m.region_code}", f"/public/notices/{n.id}",
                 f"/public/notices/{n.id}?filed={first.id}", "/public/objections/check"):
        r = c.get(path)
        assert r.status_code == 200, path
        seen.append((path, r.text))
    for path in ("/api/v1/public/notices", f"/api/v1/public/notices?region={m.region_code}",
                 f"/api/v1/public/notices/{n.id}", "/api/v1/public/regions"):
        r = c.get(path)
        assert r.status_code == 200, path
        seen.append((path, r.text))
    public = c.get(f"/api/v1/public/notices/{n.id}").json()
    assert len(public["answered_objections"]) == 2
    pdf = c.get(f"/public/notices/{n.id}.pdf")
    assert pdf.status_code == 200
    pdf_text = _pdf_text(pdf.content)
    seen.append(("notice.pdf", pdf_text))
    qr_target = wf_notice_url(pdf_text, n.id)
    seen.append(("QR target", c.get(qr_target).text))
    # The objector checks the status and the answer on the portal and through the API.
    browser.cookies.set(ANON_COOKIE, "crawl-cookie")
    checked = browser.post("/public/objections/check", data={"csrf_token": token, "receipt_no": receipt.group(1),
                                                              "check_code": code.group(1)})
    assert checked.status_code == 200 and "check-answer" in checked.text, checked.text
    seen.append(("/public/objections/check (found)", checked.text))
    checked_api = browser.post("/api/v1/public/objections/check", headers={"X-CSRF-Token": token},
                               json={"receipt_no": filed["receipt_no"], "check_code": filed["check_code"]})
    assert checked_api.status_code == 200 and checked_api.json()["status"] == "dismissed", checked_api.text
    seen.append(("/api/v1/public/objections/check", checked_api.text))
    wrong = browser.post("/api/v1/public/objections/check", headers={"X-CSRF-Token": token},
                         json={"receipt_no": filed["receipt_no"], "check_code": "WRONG123"})
    assert wrong.status_code == 404
    # Every ledger entry, the bundle, the dossier.
    for idx, body in session.execute(select(LedgerEntry.idx, LedgerEntry.body).order_by(LedgerEntry.idx)):
        seen.append((f"ledger entry {idx}", _body_text(body)))
    seen.append(("ledger bundle", json.dumps(ledger_bundle.export_bundle(session), ensure_ascii=False)))
    out = tmp_path / "dossier.zip"
    dossier.export(session, AUDITOR, m.id, out)
    with zipfile.ZipFile(out) as z:
        for name in z.namelist():
            seen.append((f"dossier {name}", z.read(name).decode("utf-8", errors="replace")))

    leaks = [(where, keys) for where, text in seen if (keys := _in_clear(text))]
    assert not leaks, leaks
    # What the public reads is there, masked.
    notice_page = dict(seen)[f"/public/notices/{n.id}"]
    assert "159****4322" in notice_page or "159****4323" in notice_page
    assert "对名单有异议（045*****1234）" in notice_page  # the redacted form, itself masked


def draft_allocation_doc() -> dict[str, Any]:
    from tests.integration.test_workflow import allocation_doc

    return allocation_doc()


def wf_notice_url(pdf_text: str, notice_id: int) -> str:
    """The page the printed notice's QR code and link point to (the PDF prints the same address)."""
    found = re.search(r"https?://\S+/public/notices/(\d+)", pdf_text)
    assert found and int(found.group(1)) == notice_id, pdf_text[-400:]
    return f"/public/notices/{found.group(1)}"


def test_an_objection_is_kept_as_salted_digests_in_the_row_state_and_the_ledger(session: Session) -> None:
    ctx = seed(session)
    confirm_roster(session)
    m = draft_allocation(session, T0 + 20 * DAY, ctx=ctx)
    from tests.integration.test_workflow import through_meeting, through_review

    t = through_review(session, m.id, through_meeting(session, m.id, T0 + 21 * DAY))
    wf.publish_notice(session, CADRE, m.id, at=t)
    o = wf.file_objection(session, PUBLIC, m.id, text="身份证110105198807160537有误", at=t + DAY)
    wf.answer_objection(session, TOWNSHIP, o.id, outcome="dismissed", reasons="电话15987654321已核实", at=t + DAY)
    from daipin.services.shared import rows, trace

    state = rows.workflow_row_state(session, o)
    assert state["text"] == trace.pii(session, o.text) and state["answer"] == trace.pii(session, o.answer or "")
    assert state["public_text"] == "身份证1101**********0537有误"
    text = "\n".join(_body_text(b) for b in session.scalars(select(LedgerEntry.body)))
    assert "110105198807160537" not in text and "15987654321" not in text and "已核实" not in text


def test_at_the_check_a_wrong_code_and_an_unknown_receipt_are_refused_alike(session: Session) -> None:
    from daipin.domain.errors import NotFound

    with pytest.raises(NotFound) as exc:
        wf.check_objection(session, "YY240101-00001", "ABCDEFGH")
    assert exc.value.field == "check_code"


# ---------------------------------------------------------------- the registry's, contracts' and exports' free text


def _xlsx_text(path: Path) -> str:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    return "\n".join(" ".join("" if v is None else str(v) for v in row) for ws in wb.worksheets
                     for row in ws.iter_rows(values_only=True))


def test_no_planted_number_in_registry_contract_or_plan_text_reaches_the_ledger_a_public_surface_or_an_export(
        rs: Session, tmp_path: Path) -> None:
    from datetime import date

    from daipin.services.contracts import service as contracts
    from daipin.services.dynamic import service as dynamic
    from daipin.services.imports import exports
    from daipin.services.registry import service as reg
    from daipin.services.runs import service as runs
    from daipin.services.villages import service as villages
    from tests.integration.registry_support import ACTOR, AT, TOWN, VILLAGE, entity, household, project

    planted = _planted(*ALL)
    one = {k: f"{PLANTED[k]}" for k in ALL}

    def refused_each(field: str, call: Any) -> None:
        """Each planted number alone, and all together, in the field: refused naming it."""
        for value in (planted, *(f"某某 {v}" for v in one.values())):
            _refused(field, lambda value=value: call(value))

    # Regions, households and people.
    refused_each("name", lambda v: reg.create_region(rs, ACTOR, code="231002001003", name=v, level="village", at=AT))
    refused_each("poverty_cause", lambda v: household(rs, "H-9", 9, poverty_cause=v))
    refused_each("members[0].name", lambda v: reg.register_household(
        rs, ACTOR, household_no="H-9", village_code=VILLAGE, status="poor", at=AT,
        members=[{"name": v, "id_number": "231002198501010019", "relation": "户主", "labor": "full"}]))
    hh = household(rs, "H-1", 1, poverty_cause="因病")
    # Entities: name, legal representative, insurance, credit.
    from daipin.domain.identity import make_uscc

    uscc = make_uscc("93231002MA0770000")
    refused_each("name", lambda v: reg.register_entity(rs, ACTOR, name=v, kind="cooperative", uscc=uscc,
                                                       legal_representative="某某", county_code="231002", at=AT))
    refused_each("legal_representative", lambda v: reg.register_entity(
        rs, ACTOR, name="兴隆合作社", kind="cooperative", uscc=uscc, legal_representative=v, county_code="231002",
        at=AT))
    e = entity(rs)
    insure = {"insurer": "某保险公司", "policy_no": "BD-2025-01", "valid_from": date(2025, 1, 1),
              "valid_to": date(2025, 12, 31), "at": AT}
    refused_each("insurer", lambda v: reg.add_insurance_policy(rs, ACTOR, e.id, **{**insure, "insurer": v}))
    refused_each("coverage", lambda v: reg.add_insurance_policy(rs, ACTOR, e.id, **insure, coverage=v))
    refused_each("reason", lambda v: reg.set_credit_status(rs, ACTOR, e.id, "warned", date(2025, 5, 1), v, AT))
    reg.set_credit_status(rs, ACTOR, e.id, "warned", date(2025, 5, 1), "逾期未兑现分红", AT)
    # Projects, profit, assets, valuations.
    refused_each("name", lambda v: reg.register_project(rs, ACTOR, code="P-X", name=v, category="特色种养业",
                                                        entity_id=e.id, township_code=TOWN, at=AT))
    p = project(rs, entity_obj=e)
    refused_each("audit_ref", lambda v: reg.record_profit(rs, ACTOR, p.id, period_start=date(2024, 1, 1),
                                                          period_end=date(2024, 12, 31), profit_fen=1, at=AT,
                                                          audit_ref=v))
    refused_each("name", lambda v: reg.register_asset(rs, ACTOR, code="A-X", name=v, kind="operating",
                                                      value_fen=100, owner_region_code=VILLAGE, at=AT))
    a = reg.register_asset(rs, ACTOR, code="A-1", name="光伏板", kind="operating", value_fen=100,
                           owner_region_code=VILLAGE, at=AT)
    for field in ("valuer", "report_ref"):
        refused_each(field, lambda v, field=field: reg.add_valuation(
            rs, ACTOR, a.id, **{"valuer": "某评估所", "report_ref": "评估2025-1", field: v},
            valued_on=date(2025, 1, 1), value_fen=100, at=AT))
    # Contributions, status changes, moves.
    refused_each("reason", lambda v: reg.record_contribution(rs, ACTOR, household_id=hh.id, year=2025, points="2",
                                                             reason=v, at=AT))
    reg.record_contribution(rs, ACTOR, household_id=hh.id, year=2025, points="2", reason="村道保洁", at=AT)
    refused_each("reason", lambda v: dynamic.change_household_status(rs, ACTOR, hh.id, "monitored",
                                                                     date(2025, 5, 1), v, AT))
    refused_each("destination", lambda v: dynamic.record_move(rs, ACTOR, hh.id, date(2025, 5, 1), AT,
                                                              destination=v))
    # Contracts: terms text, amendment and termination reasons, a reassignment's decision reference.
    order = {"buyer": "某某公司", "product": "木耳", "quantity": "100", "price_rule": "market_with_floor",
             "floor_price_fen": 500, "delivery_schedule": ["9月"]}
    sign = {"code": "C-1", "model": "order_purchase", "project_id": p.id, "start_date": date(2025, 1, 1),
            "end_date": date(2026, 12, 31), "payee_household_id": hh.id, "at": AT,
            "acknowledge_warning": True}  # the entity carries the credit warning planted above
    for term in ("buyer", "product"):
        refused_each(f"terms.{term}", lambda v, term=term: contracts.sign_contract(
            rs, ACTOR, terms={**order, term: v}, **sign))
    refused_each("terms.delivery_schedule[0]", lambda v: contracts.sign_contract(
        rs, ACTOR, terms={**order, "delivery_schedule": [v]}, **sign))
    trust = {"asset_kind": "land", "unit": "mu", "units": "3", "annual_fen_per_unit": 45000, "duties": ["购买保险"]}
    refused_each("terms.duties[0]", lambda v: contracts.sign_contract(
        rs, ACTOR, terms={**trust, "duties": [v]}, **{**sign, "model": "trusteeship"}))
    c = contracts.sign_contract(rs, ACTOR, terms=order, **sign)
    refused_each("reason", lambda v: contracts.amend_contract(rs, ACTOR, c.id, reason=v, at=AT,
                                                              terms={**order, "quantity": "120"}))
    refused_each("terms.buyer", lambda v: contracts.amend_contract(rs, ACTOR, c.id, reason="调整", at=AT,
                                                                   terms={**order, "buyer": v}))
    contracts.amend_contract(rs, ACTOR, c.id, reason="调整收购量", at=AT, terms={**order, "quantity": "120"})
    refused_each("reason", lambda v: contracts.terminate_contract(rs, ACTOR, c.id, on=date(2026, 6, 30), reason=v,
                                                                  at=AT))
    contracts.terminate_contract(rs, ACTOR, c.id, on=date(2026, 6, 30), reason="双方协商终止", at=AT)
    # The village's representatives: a term's end reason.
    member = reg.members(rs, hh.id)[0]
    rep = villages.add_representative(rs, ACTOR, VILLAGE, person_id=member.id, from_date=date(2024, 1, 1), at=AT)
    refused_each("reason", lambda v: villages.end_representative(rs, ACTOR, VILLAGE, rep.id, to_date=date(2025, 1, 1),
                                                                 reason=v, at=AT))
    villages.end_representative(rs, ACTOR, VILLAGE, rep.id, to_date=date(2025, 1, 1), reason="换届", at=AT)
    # An allocation plan's bucket names.
    refused_each("buckets[0].name", lambda v: runs.save_allocation_plan(
        rs, ACTOR, village_code=VILLAGE, year=2025, pool_fen=100, at=AT,
        buckets=[{"name": v, "rule": "equal", "share": "1"}]))

    # Crawl: every ledger entry, the bundle, the exports, the public pages and JSON.
    seen: list[tuple[str, str]] = []
    for idx, body in rs.execute(select(LedgerEntry.idx, LedgerEntry.body).order_by(LedgerEntry.idx)):
        seen.append((f"ledger entry {idx}", _body_text(body)))
    seen.append(("ledger bundle", json.dumps(ledger_bundle.export_bundle(rs), ensure_ascii=False)))
    for name, export in (("households", exports.export_households), ("entities", exports.export_entities),
                         ("projects", exports.export_projects), ("contracts", exports.export_contracts)):
        out = tmp_path / f"{name}.xlsx"
        export(rs, out)
        seen.append((f"export {name}", _xlsx_text(out)))
    app, _ = app_on_session(rs, Clock(AT))
    from fastapi.testclient import TestClient

    c_ = TestClient(app, raise_server_exceptions=False)
    for path in ("/public", f"/public?region={VILLAGE}", "/api/v1/public/notices", "/api/v1/public/regions"):
        r = c_.get(path)
        assert r.status_code == 200, path
        seen.append((path, r.text))
    leaks = [(where, keys) for where, text in seen if (keys := _in_clear(text))]
    assert not leaks, leaks
    # What was accepted is there, as written.
    ledger_text = "\n".join(text for where, text in seen if where.startswith("ledger entry"))
    assert "逾期未兑现分红" in ledger_text and "村道保洁" in ledger_text and "双方协商终止" in ledger_text


@pytest.mark.edits_rows_behind_the_ledger
def test_exports_mask_a_number_typed_into_free_text_by_an_older_path(rs: Session, tmp_path: Path) -> None:
    from daipin.services.imports import exports
    from tests.integration.registry_support import household

    hh = household(rs, "H-1", 1, poverty_cause="因病")
    hh.poverty_cause = f"因病，联系 {PLANTED['mobile']}"  # as a row written before the rule, or by a bulk path
    rs.flush()
    out = tmp_path / "households.xlsx"
    exports.export_households(rs, out)
    text = _xlsx_text(out)
    assert PLANTED["mobile"] not in text and "因病，联系 159****4321" in text
