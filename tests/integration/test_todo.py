"""待我处理 for each role: the steps waiting for it, the notices it may close and when, the payments pending or
failed, the objections it answers with their deadlines, and a later feature's section through the seam."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.workflow import PaymentBatch, PaymentLine
from daipin.domain.actors import SYSTEM_ACTOR
from daipin.services.dashboard import views as dashboard
from daipin.services.matters import service as wfs
from daipin.services.payments import commands as payment_commands
from tests.integration.api_support import (
    OWN_VILLAGE,
    START,
    World,
    app_on_session,
    build_world,
    client,
    executed_allocation,
)
from tests.integration.test_contract_page import section


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    w = build_world(session, str(tmp_path / "keys"))
    wfs.file_objection(session, SYSTEM_ACTOR, w.ids["matter_in_notice"], text="名单漏了我家", at=START, name="村民")
    m = executed_allocation(session, OWN_VILLAGE)
    batch = session.scalar(select(PaymentBatch).where(PaymentBatch.matter_id == m.id))
    assert batch is not None
    line = session.scalar(select(PaymentLine).where(PaymentLine.batch_id == batch.id).order_by(PaymentLine.id))
    assert line is not None
    payment_commands.record(session, SYSTEM_ACTOR, line.id,
                            payment_commands.RecordPayment(outcome="failed", reason="账户已销户"), at=START,
                            matter_id=m.id)
    w.ids["executed"] = m.id
    session.flush()
    return w


def _todo(app: Any, w: World, role: str) -> str:
    c = client(app)
    c.cookies.set("daipin_session", w.tokens[role])
    page = c.get("/")
    assert page.status_code == 200
    return page.text


def test_the_village_cadre_sees_its_steps_its_notice_and_the_objection_with_its_deadline(
        session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    html = _todo(app, world, "village_cadre")
    steps = section(html, "waiting")
    assert "2026年度收益扶贫对象确认" in steps and "召集会议" in steps
    notices = section(html, "todo-notices")
    assert "后结束公示" in notices and "北京时间" in notices
    objections = section(html, "todo-objections")
    assert f"#{world.ids['matter_in_notice']}" not in objections or "异议" in objections
    assert "答复期限" in objections and "北京时间" in objections
    assert "名单漏了我家" not in html  # the objection's text stays on the matter page
    # Once the window has run, the notice is held only by the objection still to answer.
    from daipin.domain.actors import Actor, Role

    cadre = Actor(id="village-cadre", role=Role.VILLAGE_CADRE, region=OWN_VILLAGE)
    later = dashboard.todo(session, cadre, now=START + timedelta(days=12))
    [notice] = [n for n in later["notices"] if n["id"] == world.ids["matter_in_notice"]]
    assert notice["ended"] and not notice["can_close"] and notice["open_objections"] == 1
    [objection] = later["objections"]
    assert objection["overdue"] and objection["matter"] == world.ids["matter_in_notice"]
    assert not dashboard.todo(session, cadre, now=START)["objections"][0]["overdue"]


def test_the_township_sees_the_payments_pending_and_failed_and_nothing_of_another_township(
        session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    html = _todo(app, world, "township_official")
    payments = section(html, "todo-payments")
    assert "支付失败 1 笔" in payments and "待支付" in payments and "元" in payments
    # The review of the village's matters is the township's: the village's own steps are not listed for it.
    assert "召集会议" not in section(html, "waiting") if 'id="waiting"' in html else True
    # The district administrator of the county sees the same payments; a village cadre sees its village's.
    assert "支付失败 1 笔" in section(_todo(app, world, "district_admin"), "todo-payments")
    assert "支付失败 1 笔" in section(_todo(app, world, "village_cadre"), "todo-payments")


def test_an_auditor_is_given_no_step_to_take(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    html = _todo(app, world, "auditor")
    assert 'id="waiting"' not in html and 'id="todo-notices"' not in html and 'id="todo-objections"' not in html


def test_a_later_feature_adds_its_section_through_the_seam(session: Session, world: World) -> None:
    app, _ = app_on_session(session)

    def overdue(_session: Session, actor: Any, now: Any) -> list[dict[str, Any]]:
        if actor.role.value != "township_official":
            return []
        return [{"title": "整改通知 #7", "url": "/matters", "detail": "兴隆村", "due": now - timedelta(days=3)}]

    dashboard.register_todo("overdue_rectifications", "逾期未整改", overdue)
    try:
        html = _todo(app, world, "township_official")
        assert "逾期未整改" in html and "整改通知 #7" in section(html, "todo-overdue_rectifications")
        assert "逾期未整改" not in _todo(app, world, "village_cadre")
    finally:
        dashboard.TODO_SOURCES.pop("overdue_rectifications", None)
