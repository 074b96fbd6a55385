"""Every paper prints: the notice with its meeting, tally, review, 落款, complaint numbers and signed note (which
can be checked again from the paper), and each document of a matter, read back from the PDF."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Household, Person
from daipin.db.models.workflow import Notice
from daipin.domain.actors import SYSTEM_ACTOR
from daipin.domain.errors import InputError
from tests.integration.api_support import (
    FOREIGN_VILLAGE,
    World,
    app_rolling_back,
    build_world,
    client,
    executed_allocation,
)

OWN_VILLAGE = "231002001001"
OWN_TOWNSHIP = "231002001"
# Not inside a longer word: a hex digest or a base64 token may hold a run of 18 digits by chance.
ID_RE = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
PHONE_RE = re.compile(r"(?<![0-9A-Za-z])1[3-9][0-9]{9}(?![0-9A-Za-z])")
VILLAGE_PHONE, TOWNSHIP_PHONE = "0452-2345678", "0452-2876543"


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return build_world(session, str(tmp_path / "keys"))


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    assert data.startswith(b"%PDF")
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def rendered_png(data: bytes, tmp_path: Any) -> bytes:
    """The first page rendered by poppler (when installed): a real rasteriser reads the file."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils (pdftoppm) is not installed: scripts/ensure-system-packages")
    import uuid

    name = uuid.uuid4().hex[:8]
    src = tmp_path / f"{name}.pdf"
    src.write_bytes(data)
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(src), str(tmp_path / name)],
                   check=True, timeout=60)
    png = next(tmp_path.glob(f"{name}*.png")).read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 2000
    return png


def secrets_of(session: Session) -> list[str]:
    out: list[str] = []
    for id_number, health in session.execute(select(Person.id_number, Person.health_note)):
        out += [id_number] + ([health] if health else [])
    for phone, bank in session.execute(select(Household.phone, Household.bank_account)):
        out += [v for v in (phone, bank) if v]
    return out


def assert_no_personal_data(text: str, secrets: list[str], where: str) -> None:
    digits = re.sub(r"[\s,]", "", text)
    assert not ID_RE.search(text), f"{where}: an ID number"
    assert not PHONE_RE.search(text), f"{where}: a mobile phone number"
    for s in secrets:
        assert s not in text and s not in digits, f"{where}: personal data {s[:3]}…"


def set_phones(session: Session) -> None:
    from daipin.services.matters import service as wfs

    wfs.set_county_rules(session, SYSTEM_ACTOR, "231002", {"complaint_phones": {
        OWN_VILLAGE: VILLAGE_PHONE, OWN_TOWNSHIP: TOWNSHIP_PHONE}}, at=_at())


def _at() -> Any:
    from tests.integration.api_support import START

    return START - timedelta_days(40)


def timedelta_days(n: int) -> Any:
    from datetime import timedelta

    return timedelta(days=n)


def test_complaint_numbers_are_office_lines_of_the_county(session: Session, world: World) -> None:
    from daipin.services.matters import service as wfs

    with pytest.raises(InputError) as mobile:
        wfs.set_county_rules(session, SYSTEM_ACTOR, "231002", {"complaint_phones": {OWN_VILLAGE: "13912345678"}},
                             at=_at())
    assert mobile.value.field == f"complaint_phones.{OWN_VILLAGE}"
    with pytest.raises(InputError) as foreign:
        wfs.set_county_rules(session, SYSTEM_ACTOR, "231002", {"complaint_phones": {"231005001": "0452-2345678"}},
                             at=_at())
    assert foreign.value.field == "complaint_phones.231005001"
    set_phones(session)
    assert wfs.county_rules(session, "231002").complaint_phone(OWN_VILLAGE) == VILLAGE_PHONE


def test_the_notice_tells_the_meeting_tally_review_issuer_and_numbers(session: Session, world: World,
                                                                       tmp_path: Any) -> None:
    from daipin.ledger import store
    from daipin.services.ledger import views as ledger_views

    set_phones(session)
    m = executed_allocation(session, OWN_VILLAGE)
    notice = session.scalar(select(Notice).where(Notice.matter_id == m.id))
    assert notice is not None
    app, _ = app_rolling_back(session)
    c = client(app)
    page = c.get(f"/public/notices/{notice.id}").text
    pdf = c.get(f"/public/notices/{notice.id}.pdf").content
    text = pdf_text(pdf)
    rendered_png(pdf, tmp_path)
    mt = notice.content["meeting"]
    n = mt["eligible"]["representatives"]
    tally = f"赞成 {n - 1} 票，反对 1 票，弃权 0 票，通过"
    assert tally in text
    assert f"村民代表应到 {n} 人、实到 {n} 人" in text
    assert "北京时间" in text and "村委会" in text
    assert "审核通过" in text and "同意" in text and "人民政府" in text
    issuer = notice.content["issuer"]
    assert issuer["name"].endswith("村民委员会") and re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", issuer["date"])
    assert issuer["name"] in text and issuer["date"] in text
    assert VILLAGE_PHONE in text and TOWNSHIP_PHONE in text and "电话来源" in text and "complaint_phones" in text
    for where in (page,):
        assert VILLAGE_PHONE in where and TOWNSHIP_PHONE in where and issuer["date"] in where
        assert f"{n - 1}" in where and 'id="notice-tally"' in where and 'id="notice-review"' in where
    # One way to write the root: base64, as in the signed note, on the notice, its PDF, the ledger page and API.
    root = notice.content["ledger_checkpoint"]["root"]
    assert root in notice.checkpoint.split("\n")[2] and root in page and root in text.replace("\n", "")
    status = ledger_views.status(session, SYSTEM_ACTOR)
    latest = store.latest_checkpoint(session)
    assert latest is not None and status["root"] == latest.note.split("\n")[2]
    # The signed note printed whole: its lines read back from the paper and verify, signature and root.
    for line in notice.checkpoint.rstrip("\n").split("\n"):
        if line:
            assert line in text, line
    typed = "\n\n".join(line.replace("\u2014", "--") for line in notice.checkpoint.split("\n"))  # retyped loosely
    checked = ledger_views.check_note(session, typed)
    assert checked["ok"] and checked["size"] == notice.content["ledger_checkpoint"]["size"]
    wrong = notice.checkpoint.replace(root, root[:-6] + ("A" if root[-6] != "A" else "B") + root[-5:])
    with pytest.raises(InputError) as bad:
        ledger_views.check_note(session, wrong)
    assert bad.value.field == "note"
    assert_no_personal_data(text, secrets_of(session), "notice pdf")


def test_daipin_ledger_check_note_reads_a_note_off_paper(cli_db: str, tmp_path: Any) -> None:
    from tests.integration.api_support import cli

    printed = cli("ledger", "checkpoint").output
    assert printed.count("\n") >= 4
    typed = tmp_path / "typed.txt"
    # As typed from the paper: the blank line lost, the em dash typed as "--", spaces around lines.
    typed.write_text("\n".join("  " + ln.replace("\u2014", "--") + " " for ln in printed.split("\n") if ln),
                     encoding="utf-8")
    out = cli("ledger", "check-note", str(typed)).output
    assert "检查点核验通过" in out
    lines = printed.split("\n")
    lines[1] = str(int(lines[1]) + 1000)  # a size the signature does not cover
    typed.write_text("\n".join(lines), encoding="utf-8")
    assert "无法核验" in cli("ledger", "check-note", str(typed), code=2).output


def archived_in_world(session: Session) -> Any:
    """The sample village's allocation walked to its archive, every line paid."""
    from datetime import timedelta

    from daipin.services.matters import service as wfs
    from daipin.services.payments import service as payments
    from tests.integration.api_support import START

    m = executed_allocation(session, OWN_VILLAGE)
    batch = payments.batch_for_matter(session, m.id)
    t = START - timedelta(days=5)
    for ln in payments.lines(session, batch):
        payments.mark_paid(session, SYSTEM_ACTOR, ln.id, payment_ref=f"HD-{ln.id}", at=t)
    wfs.announce_result(session, SYSTEM_ACTOR, m.id, at=t + timedelta(hours=1))
    wfs.archive(session, SYSTEM_ACTOR, m.id, at=t + timedelta(hours=2))
    return m


def test_every_paper_of_an_archived_matter_prints_and_reads_back(session: Session, world: World,
                                                                 tmp_path: Any) -> None:
    from daipin.db.models.workflow import Meeting
    from daipin.domain.localtime import for_people
    from daipin.domain.money import format_yuan
    from daipin.reports.payment_pdf import capitals
    from daipin.services.matters import service as wfs

    m = archived_in_world(session)
    meeting = session.scalar(select(Meeting).where(Meeting.matter_id == m.id))
    assert meeting is not None
    benef = wfs.beneficiaries(session, m)
    total = sum(b["amount_fen"] for b in benef)
    app, _ = app_rolling_back(session)
    c = client(app)
    headers = world.headers("village_cadre")
    page = c.get(f"/matters/{m.id}", headers=headers).text
    keys = ["meeting-notice", "sign-in", "minutes", "review", "announcement", "dossier"]
    for key in keys:
        assert f'id="paper-{key}"' in page, key
    assert f'id="dossier-pdf-link" href="/matters/{m.id}/papers/dossier.pdf"' in page  # beside dossier.zip
    secrets = secrets_of(session)
    texts: dict[str, str] = {}
    for key in keys:
        r = c.get(f"/matters/{m.id}/papers/{key}.pdf", headers=headers)
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", (key, r.text[:200])
        texts[key] = pdf_text(r.content)
        rendered_png(r.content, tmp_path)
        assert_no_personal_data(texts[key], secrets, key)
        assert m.title in texts[key] and "北京时间" in texts[key], key
    village = "村民委员会"
    scheduled = for_people(meeting.scheduled_at)
    # 召开会议通知: when and where, by whom, dated.
    assert "关于召开村民代表会议的通知" in texts["meeting-notice"] and scheduled in texts["meeting-notice"]
    assert village in texts["meeting-notice"] and re.search(r"\d{4}年\d{1,2}月\d{1,2}日", texts["meeting-notice"])
    # 签到表: every serving representative by name, nothing but names and household numbers.
    reps = meeting.eligible_representatives
    assert reps > 0 and texts["sign-in"].count("村民代表") >= reps
    # 会议记录: the tally and the amounts in 元 and 大写.
    tally = f"赞成 {reps - 1} 票，反对 1 票，弃权 0 票"
    assert tally in texts["minutes"] and "通过" in texts["minutes"]
    assert format_yuan(total) in texts["minutes"] and capitals(total) in texts["minutes"].replace("\n", "")
    for b in benef[:3]:
        assert b["name"] in texts["minutes"]
    # 乡镇审核意见表: the opinion and the township's seal.
    assert "审核通过：同意" in texts["review"] and "人民政府（盖章）" in texts["review"] and tally in texts["review"]
    # 执行结果公告: paid in 元 and 大写.
    assert f"合计 {format_yuan(total)} 元" in texts["announcement"]
    assert capitals(total) in texts["announcement"].replace("\n", "")
    # 事项档案: every step with its ledger entry, the note, the payment.
    assert "办理过程" in texts["dossier"] and "归档" in texts["dossier"] and "—" in texts["dossier"]
    assert capitals(total) in texts["dossier"].replace("\n", "")
    # Another village's cadre is told the matter does not exist; a paper the state lacks is not found.
    other = c.get(f"/matters/{world.ids['matter_foreign']}/papers/minutes.pdf", headers=headers)
    assert other.status_code == 404
    assert c.get(f"/matters/{world.ids['matter_own']}/papers/minutes.pdf", headers=headers).status_code == 404
    assert c.get(f"/matters/{m.id}/papers/nothing.pdf", headers=headers).status_code == 404


def test_a_matter_shows_only_the_papers_its_state_has(session: Session, world: World) -> None:
    app, _ = app_rolling_back(session)
    c = client(app)
    headers = world.headers("village_cadre")
    draft = c.get(f"/matters/{world.ids['matter_own']}", headers=headers).text
    assert 'id="paper-' not in draft
    in_notice = c.get(f"/matters/{world.ids['matter_in_notice']}", headers=headers).text
    for key in ("meeting-notice", "sign-in", "minutes", "review", "notice"):
        assert f'id="paper-{key}"' in in_notice, key
    assert 'id="paper-announcement"' not in in_notice and 'id="paper-dossier"' not in in_notice


def test_a_contract_prints_with_its_terms_in_yuan_and_capitals(session: Session, world: World, tmp_path: Any) -> None:
    from daipin.db.models.registry import Contract

    c = session.get(Contract, world.ids["contract_own"])
    assert c is not None
    app, _ = app_rolling_back(session)
    cl = client(app)
    headers = world.headers("village_cadre")
    assert f'href="/contracts/{c.id}.pdf"' in cl.get(f"/contracts/{c.id}", headers=headers).text
    r = cl.get(f"/contracts/{c.id}.pdf", headers=headers)
    assert r.status_code == 200, r.text[:300]
    text = pdf_text(r.content)
    rendered_png(r.content, tmp_path)
    assert "利益联结协议" in text and c.code in text and "甲方" in text and "乙方" in text
    money = [v for k, v in c.terms.items() if k.endswith("_fen") and isinstance(v, int) and v > 0]
    from daipin.domain.money import format_yuan
    from daipin.reports.payment_pdf import capitals

    for v in money:
        assert format_yuan(v) in text and capitals(v) in text.replace("\n", "")
    assert_no_personal_data(text, secrets_of(session), "contract pdf")
    foreign = world.ids["contract_foreign"]
    assert cl.get(f"/contracts/{foreign}.pdf", headers=headers).status_code == 404


def test_the_annual_report_adds_up_pools_paid_and_households(session: Session, world: World, tmp_path: Any) -> None:
    from openpyxl import load_workbook

    from daipin.db.models.workflow import PaymentBatch, PaymentLine
    from daipin.domain.money import format_yuan
    from daipin.reports.payment_pdf import capitals
    from daipin.services.documents import annual
    from daipin.services.payments import service as payments
    from daipin.services.sample import service as sample
    from tests.integration.api_support import START

    m = executed_allocation(session, OWN_VILLAGE)
    batch = payments.batch_for_matter(session, m.id)
    assert batch is not None
    lines = [ln for ln in payments.lines(session, batch) if ln.payee_type == "household"]
    assert len(lines) >= 3
    paid = lines[:-1]  # the last is left unpaid: it counts in the pool, not in what was paid or who was reached
    for ln in paid:
        payments.mark_paid(session, SYSTEM_ACTOR, ln.id, payment_ref=f"HD-{ln.id}", at=START)
    paid_fen = sum(ln.amount_fen for ln in paid)
    households = len({ln.household_id for ln in paid})
    district = annual.annual(session, SYSTEM_ACTOR, "231002", sample.YEAR)
    t = district["totals"]
    assert t["paid_household_fen"] == paid_fen and t["households"] == households
    assert t["per_household_fen"] == (2 * paid_fen + households) // (2 * households)
    pools = session.scalars(select(PaymentBatch).where(PaymentBatch.id == batch.id)).all()
    assert t["pool_fen"] >= sum(b.total_fen for b in pools) > 0
    township_row = next(r for r in district["rows"] if r["code"] == OWN_TOWNSHIP)
    assert township_row["paid_fen"] == paid_fen and township_row["households"] == households
    assert sum(r["pool_fen"] for r in district["rows"]) == t["pool_fen"]
    village = annual.annual(session, SYSTEM_ACTOR, OWN_VILLAGE, sample.YEAR)
    assert village["totals"]["paid_fen"] == paid_fen and village["rows"][0]["name"] == m.title
    assert district["findings"] == [] and "暂无" in district["findings_note"]
    unpaid = session.scalar(select(PaymentLine.amount_fen).where(PaymentLine.id == lines[-1].id))
    assert unpaid and t["paid_fen"] == paid_fen  # no other line of the year was paid

    app, _ = app_rolling_back(session)
    c = client(app)
    headers = world.headers("district_admin")
    page = c.get(f"/reports/annual?region=231002&year={sample.YEAR}", headers=headers)
    assert page.status_code == 200 and 'id="chart-pools"' in page.text and format_yuan(paid_fen) in page.text
    pdf = c.get(f"/reports/annual.pdf?region=231002&year={sample.YEAR}", headers=headers)
    text = pdf_text(pdf.content)
    rendered_png(pdf.content, tmp_path)
    assert "年度报告" in text and format_yuan(t["pool_fen"]) in text and capitals(t["paid_fen"]) in text.replace("\n", "")
    assert f"{households} 户" in text and "暂无监督检查发现" in text
    assert_no_personal_data(text, secrets_of(session), "annual pdf")
    xlsx = c.get(f"/reports/annual.xlsx?region=231002&year={sample.YEAR}", headers=headers)
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert wb.sheetnames == ["汇总", "分区域", "督查发现"]
    total_row = [cell.value for cell in wb["汇总"][3]]
    assert total_row[0] == "合计" and total_row[2] == format_yuan(t["paid_fen"], grouping=False)
    assert total_row[4] == households
    # A village cadre reads its own village's report, not the district's or another village's.
    cadre = world.headers("village_cadre")
    assert c.get(f"/reports/annual?region={OWN_VILLAGE}&year={sample.YEAR}", headers=cadre).status_code == 200
    assert c.get(f"/reports/annual?region=231002&year={sample.YEAR}", headers=cadre).status_code == 404
    assert c.get(f"/reports/annual.pdf?region={FOREIGN_VILLAGE}&year={sample.YEAR}", headers=cadre).status_code == 404


def test_the_public_check_page_verifies_a_note_typed_off_the_notice(session: Session, world: World) -> None:
    notice = session.get(Notice, world.ids["notice_open"])
    assert notice is not None and notice.checkpoint
    app, _ = app_rolling_back(session)
    c = client(app)
    form = c.get("/public/checkpoint").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    typed = "\n".join(" " + ln.replace("\u2014", "--") for ln in notice.checkpoint.split("\n") if ln)
    ok = c.post("/public/checkpoint", data={"csrf_token": token.group(1), "note": typed})
    assert ok.status_code == 200 and 'id="checkpoint-ok"' in ok.text
    assert notice.content["ledger_checkpoint"]["root"] in ok.text
    root = notice.content["ledger_checkpoint"]["root"]
    bad = c.post("/public/checkpoint", data={"csrf_token": token.group(1),
                                             "note": typed.replace(root, root[::-1])})
    assert bad.status_code == 422 and 'id="checkpoint-ok"' not in bad.text
