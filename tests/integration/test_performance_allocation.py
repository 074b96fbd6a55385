"""The district allocation's performance coefficients from the villages' indicators (POLICY.md R3.2, ENGINE.md §3):
the county's setting (the district administrator's alone, in its own county, every change a ledger entry, a bad
value named and nothing kept), and a district allocation drafted under it: each village's coefficient from the
indicators of the year before, the basis stored in the document, a coefficient typed by hand kept and said so."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from daipin.domain.actors import Actor, Role
from daipin.domain.errors import Forbidden, InputError
from daipin.services.matters import drafting
from daipin.services.matters import service as wfs
from daipin.services.registry import service as reg
from daipin.services.supervision import performance, records
from daipin.services.supervision import service as sup
from tests.integration.registry_support import (
    ACTOR,
    AT,
    TOWN,
    VILLAGE,
    VILLAGE_B,
    household,
    ledger_bodies,
    ledger_size,
    project,
    rs_fixture,
)
from tests.integration.test_supervision_rules import ROWS_MADE_DIRECTLY, batch, pay

_ = rs_fixture
COUNTY = "231002"
DISTRICT = Actor(id="d", role=Role.DISTRICT_ADMIN, region=COUNTY)
OTHER_DISTRICT = Actor(id="o", role=Role.DISTRICT_ADMIN, region="231005")
TOWNSHIP = Actor(id="t", role=Role.TOWNSHIP_OFFICIAL, region=TOWN)
AUDITOR = Actor(id="a", role=Role.AUDITOR, region=COUNTY)
CADRE = Actor(id="v", role=Role.VILLAGE_CADRE, region=VILLAGE)
ENTITY = Actor(id="e", role=Role.ENTITY_USER, region=COUNTY, entity_id=1)


def _other_county(rs: Session) -> None:
    reg.create_region(rs, ACTOR, code="231005", name="西安区", level="district", at=AT)


def test_only_the_district_administrator_of_the_county_sets_it_each_change_a_ledger_entry(rs: Session) -> None:
    _other_county(rs)
    sup.set_thresholds(rs, ACTOR, COUNTY, {"idle_days": "60"}, AT)
    assert performance.county_settings(rs, COUNTY)["performance_mode"] == "manual"  # the default
    before = ledger_size(rs)
    for who in (TOWNSHIP, AUDITOR, CADRE, ENTITY, OTHER_DISTRICT):
        with pytest.raises(Forbidden):
            sup.set_performance(rs, who, COUNTY, {"performance_mode": "indicators"}, AT)
    for values, field in (({"performance_mode": "auto"}, "performance_mode"),
                          ({"performance_mode": "indicators", "performance_min": "1.5"}, "performance_min"),
                          ({"performance_income_weight": "很多"}, "performance_income_weight"),
                          ({}, "key")):
        with pytest.raises(InputError) as err:
            sup.set_performance(rs, DISTRICT, COUNTY, values, AT)
        assert err.value.field == field
    assert ledger_size(rs) == before and performance.county_settings(rs, COUNTY)["performance_mode"] == "manual"

    kept = sup.set_performance(rs, DISTRICT, COUNTY, {"performance_mode": "indicators",
                                                           "performance_finding_penalty": "0.050"}, AT)
    assert (kept["performance_mode"], kept["performance_finding_penalty"]) == ("indicators", "0.05")
    assert sup.county_thresholds(rs, COUNTY)["idle_days"] == "60"  # the thresholds beside it are kept
    assert performance.county_settings(rs, "231005")["performance_mode"] == "manual"  # another county's is its own
    entry = ledger_bodies(rs)[-1]
    assert ledger_size(rs) == before + 1 and entry["type"] == "supervision.performance"
    assert entry["facts"]["set"] == {"performance_mode": "indicators", "performance_finding_penalty": "0.05"}

    # read inside the county by whoever reads its findings; not across counties, not by an entity
    assert sup.read_performance(rs, CADRE, COUNTY)["performance_mode"] == "indicators"
    assert sup.read_performance(rs, AUDITOR, COUNTY)["performance_mode"] == "indicators"
    for who, county in ((OTHER_DISTRICT, COUNTY), (DISTRICT, "231005"), (ENTITY, COUNTY)):
        with pytest.raises(Forbidden):
            sup.read_performance(rs, who, county)


def _indicators_2024(rs: Session) -> None:
    """兴隆村: two dues of 2024, one on time, two households paid 1,000 and 1,400 yuan; 新民村: one due on time, one
    household paid 600 yuan, one finding open. What falls in 2025 is not the year's."""
    p = project(rs)
    for region, due_on, paid_on in ((VILLAGE, date(2024, 3, 1), date(2024, 2, 28)),
                                    (VILLAGE, date(2024, 6, 1), date(2024, 7, 1)),
                                    (VILLAGE_B, date(2024, 9, 1), date(2024, 9, 1)),
                                    (VILLAGE_B, date(2025, 3, 1), date(2025, 4, 1))):
        d = records.record_due(rs, ACTOR, entity=p.entity_id, kind="dividend", due_on=due_on, amount_fen=1000,
                               region=region, at=AT)
        records.pay_due(rs, ACTOR, due=d.id, amount_fen=1000, paid_on=paid_on, at=AT)
    b = batch(rs, created=datetime(2024, 4, 1, tzinfo=UTC), year=2024)
    paid = datetime(2024, 5, 1, 2, 0, tzinfo=UTC)
    pay(rs, b, household(rs, "H-1", 1), on=paid, amount=100_000)
    pay(rs, b, household(rs, "H-2", 2), on=paid, amount=140_000)
    pay(rs, b, household(rs, "H-3", 3, village=VILLAGE_B), on=paid, amount=60_000)
    pay(rs, b, household(rs, "H-4", 4, village=VILLAGE_B), on=datetime(2025, 2, 1, tzinfo=UTC), amount=900_000)
    sup.record_inspection(rs, ACTOR, region=VILLAGE_B, inspected_on=date(2025, 5, 1), inspectors="区纪委检查组",
                          place="新民村村委会", checked="收益分配台账", findings=[{"summary": "台账缺页"}], at=AT)


def _document(**b_extra: object) -> dict[str, object]:
    return {"version": 1, "kind": "district_allocation", "fund_fen": 1_000_000, "key_village_weight": "1.5",
            "villages": [{"id": VILLAGE, "poor_people": 10, "key_village": True},
                         {"id": VILLAGE_B, "poor_people": 10, "key_village": False, **b_extra}]}


@ROWS_MADE_DIRECTLY
def test_a_draft_under_indicators_takes_each_village_s_coefficient_and_stores_why(rs: Session) -> None:
    _indicators_2024(rs)
    sup.set_performance(rs, DISTRICT, COUNTY, {"performance_mode": "indicators"}, AT)
    m = wfs.draft_matter(rs, DISTRICT, kind="district_allocation", region=COUNTY, title="2025年度区级收益资金分配",
                         document=_document(performance="1.1"), year=2025, at=AT)
    # on-time shares 1/2 and 1/1 → median 0.75; income per household 1,200 and 600 yuan → median 900 yuan
    # 兴隆村 1 + 0.2 × (0.5 − 0.75) + 0.2 × (120000 − 90000)/90000 = 1.0167 → 1.02
    # 新民村 1 + 0.2 × (1 − 0.75) + 0.2 × (60000 − 90000)/90000 − 0.02 × 1 = 0.9633 → 0.96, typed 1.1 by hand
    doc = m.document
    assert [v["performance"] for v in doc["villages"]] == ["1.02", "1.1"]
    basis = doc["performance_basis"]
    assert (basis["mode"], basis["indicator_year"], basis["as_of"]) == ("indicators", 2024, "2025-06-01")
    assert basis["parameters"] == {"a": "0.2", "b": "0.2", "c": "0.02", "min": "0.8", "max": "1.2"}
    assert (basis["median_on_time_share"], basis["median_per_household_fen"]) == ("0.75", 90_000)
    own, other = basis["villages"][VILLAGE], basis["villages"][VILLAGE_B]
    assert (own["dues"], own["dues_on_time"], own["households"], own["per_household_fen"], own["open_findings"]) == (
        2, 1, 2, 120_000, 0)
    assert (own["computed"], own["performance"], own["overridden"]) == ("1.02", "1.02", False)
    assert (other["dues"], other["dues_on_time"], other["per_household_fen"], other["open_findings"]) == (
        1, 1, 60_000, 1)
    assert (other["computed"], other["performance"], other["overridden"]) == ("0.96", "1.1", True)
    # the calculation used the coefficients, each line says where its coefficient came from
    lines = {line["village"]: line for line in m.preview["lines"]}
    assert sum(line["amount_fen"] for line in lines.values()) == 1_000_000
    assert (lines[VILLAGE]["performance"], lines[VILLAGE_B]["performance"]) == ("1.02", "1.1")
    assert "按 2024 年绩效指标计算" in lines[VILLAGE]["basis"]
    assert "人工调整，按指标计算为 0.96" in lines[VILLAGE_B]["basis"]
    # the draft's ledger entry fixes the document, basis included
    draft = next(b for b in reversed(ledger_bodies(rs)) if b["type"] == "matter.draft")
    assert draft["facts"]["document_digest"] == m.document_digest == wfs.digest(doc)
    # the matter page reads the basis in labels
    readable = drafting.readable(rs, doc)
    assert readable is not None
    table = next(t for t in readable["tables"] if t["title"] == "绩效系数计算依据")
    rows = {r[0]: r for r in table["rows"]}
    assert rows[f"兴隆村（{VILLAGE}）"][1:] == ["1/2（50%）", "1,200.00", 0, "1.02", "1.02", "按指标计算"]
    assert rows[f"新民村（{VILLAGE_B}）"][4:] == ["0.96", "1.1", "人工调整"]
    assert ("绩效指标年度", 2024, False) in readable["facts"]

    # the coefficient equal to the computed one is no override; changing the draft computes the basis again
    wfs.update_draft(rs, DISTRICT, m.id, document=_document(performance="0.96"), at=AT)
    assert m.document["performance_basis"]["villages"][VILLAGE_B]["overridden"] is False
    assert "人工调整" not in " ".join(line["basis"] for line in m.preview["lines"])


@ROWS_MADE_DIRECTLY
def test_under_manual_the_document_is_kept_as_typed_and_a_basis_cannot_be_typed(rs: Session) -> None:
    _indicators_2024(rs)
    before = ledger_size(rs)
    with pytest.raises(InputError) as err:
        wfs.draft_matter(rs, DISTRICT, kind="district_allocation", region=COUNTY, title="2025年度区级收益资金分配",
                         document={**_document(), "performance_basis": {"mode": "indicators"}}, year=2025, at=AT)
    assert err.value.field == "document.performance_basis" and ledger_size(rs) == before
    m = wfs.draft_matter(rs, DISTRICT, kind="district_allocation", region=COUNTY, title="2025年度区级收益资金分配",
                         document=_document(performance="1.1"), year=2025, at=AT)
    assert m.document == _document(performance="1.1")
    assert [line.get("performance") for line in m.preview["lines"]] == ["1", "1.1"]
