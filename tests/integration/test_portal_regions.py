"""The public portal's region filter: a county's townships and villages; on a deployment of several counties, the
counties, and the townships and villages of the chosen one only (a province's portal would otherwise list every
village of the province in one drop-down)."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from daipin.db.models.registry import Region
from daipin.ledger import store
from daipin.ledger.verify import adopt_unstated
from tests.integration.api_support import app_on_session, client
from tests.integration.test_workflow import T0, seed

OPTION = re.compile(r'<option value="(\d*)"[^>]*>([^<]*)</option>')


def _options(html: str) -> list[tuple[str, str]]:
    return [(code, name.strip("　")) for code, name in OPTION.findall(html)]


def test_one_county_lists_its_townships_and_villages(session: Session) -> None:
    seed(session)
    session.flush()
    c = client(app_on_session(session)[0])
    page = c.get("/public")
    assert page.status_code == 200
    assert _options(page.text) == [("", "全部乡镇和村"), ("231002001", "兴隆镇"), ("231002001001", "新立村"),
                                   ("231002001002", "红星村")]


def test_several_counties_list_the_counties_and_the_chosen_county_s_places_only(session: Session) -> None:
    seed(session)
    store.ensure_log(session, county="231005", at=T0)
    session.add_all([
        Region(code="231005", name="西林区", level="district", parent_code=None, county_code="231005"),
        Region(code="231005001", name="红旗镇", level="township", parent_code="231005", county_code="231005"),
        Region(code="231005001001", name="向阳村", level="village", parent_code="231005001", county_code="231005"),
    ])
    session.flush()
    adopt_unstated(session, actor="operator:seed", at=T0, reason="测试用登记数据")
    c = client(app_on_session(session)[0])

    first = _options(c.get("/public").text)
    assert first == [("", "全部乡镇和村"), ("231002", "东安区"), ("231005", "西林区")]

    chosen = c.get("/public", params={"region": "231005001"})
    assert chosen.status_code == 200
    assert _options(chosen.text) == [("", "全部乡镇和村"), ("231002", "东安区"), ("231005", "西林区"),
                                     ("231005001", "红旗镇"), ("231005001001", "向阳村")]
    assert 'value="231005001" selected' in chosen.text
    assert "新立村" not in chosen.text
