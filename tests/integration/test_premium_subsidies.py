"""Premium subsidies: applied on a policy valid in the year, approved or refused with reasons (paid only through a
payment batch: test_premium_subsidy_batches.py); none to an entity on the credit blacklist (an application refused,
an earlier one not approved)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from daipin.domain.actors import Actor, Role
from daipin.domain.errors import Conflict, Forbidden, InputError
from daipin.services.insurance import service as insurance
from daipin.services.registry import service as reg
from tests.integration.registry_support import ACTOR, AT, TOWN, blacklist, entity, ledger_size, rs_fixture

_ = rs_fixture


def _policy(rs: Session, n: int = 1):
    e = entity(rs, n)
    return e, reg.add_insurance_policy(rs, ACTOR, e.id, insurer="人保财险", policy_no=f"PICC-{n}",
                                       valid_from=date(2025, 1, 1), valid_to=date(2025, 12, 31), at=AT)


def test_a_subsidy_is_applied_once_and_approved_by_the_district_only(rs: Session) -> None:
    _, p = _policy(rs)
    s = insurance.apply(rs, ACTOR, policy=p.id, year=2025, premium_fen=200_000, subsidy_fen=120_000, at=AT)
    with pytest.raises(Conflict):
        insurance.apply(rs, ACTOR, policy=p.id, year=2025, premium_fen=200_000, subsidy_fen=1, at=AT)
    township = Actor(id="t", role=Role.TOWNSHIP_OFFICIAL, region=TOWN)
    with pytest.raises(Forbidden):  # the district decides
        insurance.decide(rs, township, s.id, approve=True, reason="", at=AT)
    insurance.decide(rs, ACTOR, s.id, approve=True, reason="", at=AT)
    assert s.status == "approved"
    with pytest.raises(Conflict):  # decided once
        insurance.decide(rs, ACTOR, s.id, approve=False, reason="重复", at=AT)


def test_bad_applications_are_refused_naming_the_field_and_write_nothing(rs: Session) -> None:
    _, p = _policy(rs)
    before = ledger_size(rs)
    for kw, field in (({"year": 2024}, "year"), ({"subsidy_fen": 300_000}, "subsidy_fen"),
                      ({"premium_fen": 0}, "premium_fen"), ({"policy": 9999}, "policy")):
        args = {"policy": p.id, "year": 2025, "premium_fen": 200_000, "subsidy_fen": 100_000, **kw}
        with pytest.raises(InputError) as err:
            insurance.apply(rs, ACTOR, at=AT, **args)
        assert err.value.field == field
    s = insurance.apply(rs, ACTOR, policy=p.id, year=2025, premium_fen=200_000, subsidy_fen=100_000, at=AT)
    with pytest.raises(InputError):  # a refusal names its reasons
        insurance.decide(rs, ACTOR, s.id, approve=False, reason="", at=AT)
    assert ledger_size(rs) == before + 1


def test_a_blacklisted_entity_receives_no_premium_subsidy(rs: Session) -> None:
    e, p = _policy(rs)
    s = insurance.apply(rs, ACTOR, policy=p.id, year=2025, premium_fen=200_000, subsidy_fen=100_000, at=AT)
    blacklist(rs, e.id, at=AT + timedelta(days=1))
    with pytest.raises(Conflict) as refused:
        insurance.decide(rs, ACTOR, s.id, approve=True, reason="", at=AT + timedelta(days=2))
    assert refused.value.code == "blacklisted"
    other = reg.add_insurance_policy(rs, ACTOR, e.id, insurer="人保财险", policy_no="PICC-2",
                                     valid_from=date(2025, 1, 1), valid_to=date(2025, 12, 31), at=AT)
    with pytest.raises(Conflict):
        insurance.apply(rs, ACTOR, policy=other.id, year=2025, premium_fen=1000, subsidy_fen=500,
                        at=AT + timedelta(days=2))
    insurance.decide(rs, ACTOR, s.id, approve=False, reason="主体已列入失信黑名单", at=AT + timedelta(days=2))
    assert s.status == "refused"
