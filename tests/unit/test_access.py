"""The access policy: the function answers as its table says, for every role and action, in the actor's own
region and outside it; the table a reader checks is the one enforced; every action the code asks exists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest

from daipin.domain import access
from daipin.domain.access import COLUMNS, POLICY, Scope
from daipin.domain.actors import ROLE_LABELS, Actor, Role
from daipin.domain.errors import Forbidden

SRC = Path(__file__).resolve().parents[2] / "src" / "daipin"

# One account per role, scoped as an account of that role is.
ACTORS = {
    Role.DISTRICT_ADMIN: Actor(id="d", role=Role.DISTRICT_ADMIN, region="231002"),
    Role.TOWNSHIP_OFFICIAL: Actor(id="t", role=Role.TOWNSHIP_OFFICIAL, region="231002001"),
    Role.VILLAGE_CADRE: Actor(id="v", role=Role.VILLAGE_CADRE, region="231002001001"),
    Role.ENTITY_USER: Actor(id="e", role=Role.ENTITY_USER, region="231002", entity_id=7),
    Role.AUDITOR: Actor(id="a", role=Role.AUDITOR, region="231002"),
    Role.DISCIPLINE: Actor(id="k", role=Role.DISCIPLINE, region="231002"),
    Role.PUBLIC: Actor(id="p", role=Role.PUBLIC, region=""),
    Role.PROVINCE: Actor(id="g", role=Role.PROVINCE, region="23"),
    Role.SYSTEM: Actor(id="s", role=Role.SYSTEM, region=""),
}
# Rows of every region a row can have, as seen from the actors above.
REGIONS = {
    "own village": "231002001001",
    "a neighbouring village of the township": "231002001002",
    "the township itself (a township-level row)": "231002001",
    "a village of another township": "231002002001",
    "another township": "231002002",
    "the county itself (a county-level row)": "231002",
    "a village of another county": "231005001001",
    "a village of another province": "441302001001",
}
# Which of those rows each region scope admits, written out by hand (not computed as the function does).
ADMITS = {
    Scope.VILLAGE: {"own village"},
    Scope.VILLAGE_UP: {"own village", "the township itself (a township-level row)"},
    Scope.TOWNSHIP: {"own village", "a neighbouring village of the township", "the township itself (a township-level row)"},
    Scope.COUNTY: set(REGIONS) - {"a village of another county", "a village of another province"},
    Scope.PROVINCE: set(REGIONS) - {"a village of another province"},
    Scope.ALL: set(REGIONS),
}


def _cases() -> list[tuple[str, Role]]:
    return [(action, role) for action in POLICY for role in Role]


@pytest.mark.parametrize(("action", "role"), _cases(), ids=[f"{a}-{r.value}" for a, r in _cases()])
def test_every_role_and_action_answers_as_the_table_says(action: access.Action, role: Role) -> None:
    scope = POLICY[action].scopes[role]
    actor = ACTORS[role]
    # Asked about no row: whether the role may do it at all.
    assert access.may(actor, action) is (scope is not Scope.NONE)
    assert access.allowed(actor, action) is (scope is not Scope.NONE)
    for name, code in REGIONS.items():
        want = name in ADMITS.get(scope, set())
        assert access.allowed(actor, action, region=code) is want, (name, scope)
        assert access.reach(actor, action).covers(region=code) is want
    for entity_id, own in ((7, True), (8, False)):
        want = scope is Scope.ALL or (scope is Scope.ENTITY and own)
        assert access.allowed(actor, action, entity_id=entity_id) is want, (entity_id, scope)
        assert access.allowed(actor, action, region=REGIONS["a village of another province"], entity_id=entity_id) \
            is want
    assert access.allowed(actor, action, posted=True) is (scope in (Scope.PUBLIC, Scope.ALL))
    # A row's region never stands in for its posting, nor its posting for its region.
    assert access.allowed(actor, action, region=REGIONS["own village"], posted=False) is (
        "own village" in ADMITS.get(scope, set()))
    if scope is Scope.NONE:
        with pytest.raises(Forbidden) as exc:
            access.require(actor, action)
        assert POLICY[action].zh in exc.value.message_zh and ROLE_LABELS[role] in exc.value.message_zh
    else:
        access.require(actor, action)


def test_the_table_a_reader_checks_is_the_policy() -> None:
    doc = access.__doc__ or ""
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in doc.splitlines()
            if line.startswith("| ") and not line.startswith("| action")]
    header = [c.strip() for c in next(line for line in doc.splitlines() if line.startswith("| action"))
              .strip().strip("|").split("|")]
    assert header[2:] == ["district", "township", "village", "entity", "auditor", "public", "province", "system"]
    assert [r.value for r in COLUMNS] == ["district_admin", "township_official", "village_cadre", "entity_user",
                                          "auditor", "public", "province"]
    read = {r[0]: r for r in rows}
    assert list(read) == list(POLICY)
    for action, rule in POLICY.items():
        row = read[action]
        assert (row[1] == "W") is rule.writes, action
        assert row[2:] == [rule.scopes[r].value for r in (*COLUMNS, Role.SYSTEM)], action
    assert set(get_args(access.Action)) == set(POLICY)


def test_the_operator_does_everything_and_the_public_writes_only_objections() -> None:
    assert all(rule.scopes[Role.SYSTEM] is Scope.ALL for rule in POLICY.values())
    public = {a for a, rule in POLICY.items() if rule.scopes[Role.PUBLIC] is not Scope.NONE}
    assert public == {"matter.read", "matter.object"}
    assert {r for r in Role if access.may_write(ACTORS[r])} == {  # an entity objecting to its listing writes nothing else
        Role.DISTRICT_ADMIN, Role.TOWNSHIP_OFFICIAL, Role.VILLAGE_CADRE, Role.PROVINCE, Role.SYSTEM}
    reads_only = [a for a, rule in POLICY.items() if rule.writes and rule.scopes[Role.AUDITOR] not in
                  (Scope.NONE, Scope.PUBLIC)]
    assert reads_only == []  # the auditors read and verify, never write


def test_the_discipline_commission_reaches_what_the_auditors_reach_and_writes_nothing() -> None:
    assert {a: rule.scopes[Role.DISCIPLINE] for a, rule in POLICY.items()} == {
        a: rule.scopes[Role.AUDITOR] for a, rule in POLICY.items()}
    reads = {a for a, rule in POLICY.items() if rule.scopes[Role.DISCIPLINE] is Scope.COUNTY}
    assert {"household.read", "supervision.read", "ledger.verify", "dossier.export", "payment.read"} <= reads
    assert all(not POLICY[a].writes for a in reads)
    assert not access.may_write(ACTORS[Role.DISCIPLINE])
    assert access.REGION_LENGTHS[Role.DISCIPLINE] == (6,)
    foreign = Actor(id="k2", role=Role.DISCIPLINE, region="231005")
    assert access.allowed(ACTORS[Role.DISCIPLINE], "supervision.read", region="231002001001")
    assert not access.allowed(foreign, "supervision.read", region="231002001001")
    with pytest.raises(Forbidden) as exc:
        access.require(ACTORS[Role.DISCIPLINE], "finding.manage", region="231002001001")
    assert "纪检监察" in exc.value.message_zh


@pytest.mark.parametrize("actor", [
    Actor(id="v", role=Role.VILLAGE_CADRE, region=""),
    Actor(id="v", role=Role.VILLAGE_CADRE, region="231002001"),  # a township's code on a village cadre
    Actor(id="t", role=Role.TOWNSHIP_OFFICIAL, region="231002"),
    Actor(id="d", role=Role.DISTRICT_ADMIN, region=""),
    Actor(id="e", role=Role.ENTITY_USER, region="231002", entity_id=None),
], ids=["village cadre, no region", "village cadre, a township's code", "township, a county's code",
        "district, no region", "entity user, no entity"])
def test_an_account_without_its_own_region_or_entity_reaches_nothing_rather_than_everything(actor: Actor) -> None:
    for action, rule in POLICY.items():
        if rule.scopes[actor.role] in access.LEVEL_DIGITS or rule.scopes[actor.role] is Scope.ENTITY:
            assert not access.may(actor, action), action
            for code in REGIONS.values():
                assert not access.allowed(actor, action, region=code, entity_id=7), (action, code)
            with pytest.raises(Forbidden) as exc:
                access.require(actor, action)
            assert "没有有效的辖区" in exc.value.message_zh


def test_a_refusal_names_what_was_refused_whom_and_where() -> None:
    cadre = ACTORS[Role.VILLAGE_CADRE]
    with pytest.raises(Forbidden) as exc:
        access.require(cadre, "household.write", region="231002002001")
    assert exc.value.message_zh == "无权登记或变更农户：辖区 231002002001 不在本村范围内"
    assert "231002002001" in exc.value.message_en
    with pytest.raises(Forbidden) as exc:
        access.require(ACTORS[Role.ENTITY_USER], "contract.sign")
    assert exc.value.message_zh == "实施主体无权签订利益联结协议（须由区级管理员、乡镇干部、村干部办理）"
    assert exc.value.message_en.startswith("entity_user may not sign benefit-linkage contracts (contract.sign:")
    with pytest.raises(Forbidden) as exc:
        access.require(cadre, "matter.village.review", what=("审核通过", "approve"), field="actor")
    assert exc.value.message_zh == "村干部无权审核通过（须由乡镇干部办理）" and exc.value.field == "actor"
    with pytest.raises(Forbidden) as exc:
        access.require(ACTORS[Role.ENTITY_USER], "household.read")
    assert exc.value.message_zh == "实施主体无权查看农户（仅限区级管理员、乡镇干部、村干部、审计监督、省级）"
    with pytest.raises(Forbidden) as exc:
        access.require(ACTORS[Role.ENTITY_USER], "contract.read", entity_id=8)
    assert exc.value.message_zh == "无权查看利益联结协议：不在本实施主体范围内"


def test_the_steps_of_each_path_go_to_the_roles_the_workflow_names() -> None:
    """WORKFLOW.md: a village decides its matter, its township reviews; a township decides its project, the
    district reviews; the district decides its allocation, nobody reviews; posting to archiving is for the
    deciding level and the one above it."""
    from daipin.domain import workflow as wf
    from daipin.services.matters.service import STEP_ACTIONS

    D, T, V = Role.DISTRICT_ADMIN, Role.TOWNSHIP_OFFICIAL, Role.VILLAGE_CADRE
    want = {wf.Path.VILLAGE: ([V], [T], [T, V]), wf.Path.TOWNSHIP: ([T], [D], [D, T]),
            wf.Path.DISTRICT: ([D], [], [D])}
    assert {path: tuple(access.holders(a) for a in actions) for path, actions in STEP_ACTIONS.items()} == want


_CALL = re.compile(r"access\.(?:allowed|require|may|reach|refusal)\(\s*[\w.]+,\s*\"([^\"]+)\"")
_TEMPLATE = re.compile(r"may\(actor((?:,\s*'[^']+')+)\)")


def _named_in_code() -> dict[str, set[str]]:
    """Every action name the code asks the policy about (typed `access.Action`, so mypy checks the Python
    ones too; the templates only this test), by where."""
    from daipin.domain import workflow as wf
    from daipin.services.matters import service as matters

    found: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "access.py" and path.parent.name == "domain":
            continue
        for name in _CALL.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name, set()).add(str(path.relative_to(SRC)))
    # The matter steps name their action through the path's row (`matters.step_action`).
    for kind in wf.MatterKind:
        for step in wf.Action:
            found.setdefault(matters.step_action(kind, step), set()).add("services/matters/service.py")
    for path in sorted((SRC / "web" / "templates").rglob("*.html")):
        for group in _TEMPLATE.findall(path.read_text(encoding="utf-8")):
            for name in re.findall(r"'([^']+)'", group):
                found.setdefault(name, set()).add(str(path.relative_to(SRC)))
    return found


def test_every_action_the_code_names_is_in_the_table_and_every_row_is_asked() -> None:
    named = _named_in_code()
    assert sorted(set(named) - set(POLICY)) == [], {n: named[n] for n in set(named) - set(POLICY)}
    assert sorted(set(POLICY) - set(named)) == []  # no row that no service asks
    assert len(named) == len(POLICY)


def test_no_role_is_checked_by_hand_outside_the_policy() -> None:
    """Role checks belong to the policy: the services, pages and templates ask it, never compare roles."""
    pattern = re.compile(r"actor\.role\s*(?:is|in|==|!=|not in|is not)\s|Role\.[A-Z_]+\s*(?:in|is)\b|"
                         r"actor\.role\.value\s*(?:==|!=|in|not in)")
    offenders = []
    for path in sorted([*SRC.rglob("*.py"), *(SRC / "web" / "templates").rglob("*.html")]):
        if path.name in ("access.py", "actors.py") and path.parent.name == "domain":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(SRC)}:{n}: {line.strip()}")
    assert offenders == []


def test_a_village_cadre_signs_on_its_township_s_township_level_projects_and_its_own_village_only() -> None:
    cadre = Actor(id="c", role=Role.VILLAGE_CADRE, region="231002001001")
    for action in ("contract.sign", "contract.change"):
        assert access.allowed(cadre, action, region="231002001001")
        assert access.allowed(cadre, action, region="231002001")  # a township-level project of its township
        assert not access.allowed(cadre, action, region="231002001002")  # another village of the township
        assert not access.allowed(cadre, action, region="231002002")  # another township's own project
