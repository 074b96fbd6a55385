"""The lists people export from the pages and the API (matters, a year's payment batches, an entity's dues, the
dashboard's figures, the household search): .xlsx or .csv as asked, a title row with the region and the day,
money a number of yuan with two decimals under a 元 header, the header row frozen and printed on every page, a
landscape A4 page scaled to its width; any other format refused."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from tests.integration.api_support import (
    OWN_VILLAGE,
    World,
    app_rolling_back,
    client,
    world_with_executed_allocation,
)

T, E = "township_official", "entity_user"


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return world_with_executed_allocation(session, str(tmp_path / "keys"))


def _layout(ws: Any) -> None:
    assert ws.freeze_panes == "A3" and ws.print_title_rows == "$1:$2"
    assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == "9"
    assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert all((ws.column_dimensions[c].width or 0) >= 6 for c in "AB")


def test_each_list_downloads_as_xlsx_with_numbers_and_a_print_layout_and_as_csv(session: Session,
                                                                                world: World) -> None:
    app, clock = app_rolling_back(session)
    c = client(app)
    h = world.headers(T)
    for prefix in ("/api/v1/exports", "/exports"):
        r = c.get(f"{prefix}/matters", headers=h)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxml"), r.text
        assert "attachment" in r.headers["content-disposition"]
        wb = load_workbook(io.BytesIO(r.content))
        ws = wb.worksheets[0]
        _layout(ws)
        rows = list(ws.iter_rows(values_only=True))
        assert "事项清单" in rows[0][0] and "导出日期" in rows[0][0] and rows[1][:2] == ("编号", "事项")
        assert any(r[1] == "2025年度村集体收益分配" for r in rows[2:]) and all(isinstance(r[0], int) for r in rows[2:])

        r = c.get(f"{prefix}/payments?year=2025", headers=h)
        assert r.status_code == 200, r.text
        ws = load_workbook(io.BytesIO(r.content)).worksheets[0]
        _layout(ws)
        rows = list(ws.iter_rows(values_only=True))
        assert "2025年度资金池与支付批次" in rows[0][0] and rows[1][5] == "资金池合计（元）"
        pool = rows[2]
        assert isinstance(pool[5], int | float) and pool[5] > 0 and rows[-1][0] == "合计"
        assert ws.cell(row=3, column=6).number_format == "#,##0.00"
        assert rows[-1][5] == sum(r[5] for r in rows[2:-1])

        r = c.get(f"{prefix}/dashboard", headers=h)
        assert r.status_code == 200, r.text
        wb = load_workbook(io.BytesIO(r.content))
        assert wb.sheetnames == ["概况", "联结农户", "户均收益", "拖欠"]
        counts: dict[Any, Any] = dict(wb["概况"].iter_rows(min_row=3, values_only=True))  # type: ignore[arg-type]
        assert counts["农户"] > 0 and all(isinstance(v, int) for v in counts.values())

        r = c.get(f"{prefix}/entities/{world.ids['entity_own']}/dues?format=csv", headers=h)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), r.text
        assert r.content.startswith(b"\xef\xbb\xbf")
        lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert "应付与拖欠" in lines[0][0] and lines[1][6:9] == ["应付（元）", "已付（元）", "拖欠（元）"]
        assert lines[-1][0] == "合计"

        r = c.get(f"{prefix}/households?format=csv&village={OWN_VILLAGE}", headers=h)
        assert r.status_code == 200, r.text
        lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert "已脱敏" in lines[0][0] and lines[1][0] == "户编号" and len(lines) > 2

        for bad in ("xls", "pdf", ""):
            r = c.get(f"{prefix}/matters?format={bad}", headers=h)
            assert r.status_code == 422, (bad, r.status_code)
    # An entity's users read no matters: refused, nothing built.
    assert c.get("/api/v1/exports/matters", headers=world.headers(E)).status_code == 403
