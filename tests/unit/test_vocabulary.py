"""One vocabulary: every code people see has a Chinese and an English name, and every code set the system checks
input against is the vocabulary's, so a code cannot be added without its names."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import typing
from enum import Enum
from pathlib import Path

import pytest

import daipin.domain
from daipin.domain import vocabulary as v
from daipin.domain.errors import InputError

SRC = Path(daipin.domain.__file__).resolve().parents[1]
CJK = re.compile(r"[\u4e00-\u9fff]")


def _domain_enums() -> list[type[Enum]]:
    """Every Enum defined in a module of daipin.domain (each module imported)."""
    found: dict[str, type[Enum]] = {}
    for info in pkgutil.walk_packages(daipin.domain.__path__, "daipin.domain."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if inspect.isclass(obj) and issubclass(obj, Enum) and obj.__module__ == module.__name__:
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[k] for k in sorted(found)]


ENUMS = _domain_enums()


def test_the_domain_has_the_enums_this_test_walks() -> None:
    names = {e.__name__ for e in ENUMS}
    assert {"Role", "MatterKind", "Path", "State", "Action", "MeetingType"} <= names


@pytest.mark.parametrize("enum", ENUMS, ids=[e.__name__ for e in ENUMS])
def test_every_member_of_every_domain_enum_has_a_chinese_and_an_english_name(enum: type[Enum]) -> None:
    values = {str(m.value) for m in enum}
    sets = [s for s in v.VOCABULARY.values() if set(s.codes) == values]
    assert sets, f"{enum.__name__} has no code set in the vocabulary"
    for member in enum:
        for s in sets:
            zh, en = s.zh(member.value), s.en(member.value)
            assert CJK.search(zh), (enum.__name__, member, zh)
            assert en.strip() and not CJK.search(en) and en != member.value, (enum.__name__, member, en)


@pytest.mark.parametrize("kind", sorted(v.VOCABULARY))
def test_every_code_of_every_code_set_has_a_chinese_and_an_english_name(kind: str) -> None:
    vocab = v.vocab(kind)
    assert vocab.kind == kind and vocab.codes and len(set(vocab.codes)) == len(vocab.codes)
    for code in vocab.codes:
        zh, en = vocab.zh(code), vocab.en(code)
        assert CJK.search(zh), (kind, code, zh)
        assert en.strip() and not CJK.search(en), (kind, code, en)
        # A code written in English is never shown as its own name (the words kept as Chinese are their own).
        if not CJK.search(code):
            assert zh != code and v.label(kind, code, "en") == en


def test_a_label_is_looked_up_by_kind_and_code_in_either_language() -> None:
    assert v.label("asset_status", "idle") == "闲置"
    assert v.label("asset_status", "idle", "en") == "Idle"
    assert v.label("credit_status", "blacklisted") == "失信黑名单"
    assert v.label("life_state", "alive") == "在册"
    # No code shows nothing; a code from elsewhere is shown as it is rather than hidden.
    assert v.label("asset_status", None) == "" and v.label("asset_status", "rented") == "rented"
    assert v.ASSET_STATUS.choices("en")[3] == ("idle", "Idle")
    with pytest.raises(KeyError):
        v.label("no_such_kind", "idle")
    with pytest.raises(KeyError):
        v.ASSET_STATUS["rented"]  # the mapping view refuses an unknown code


def test_the_words_people_write_read_as_codes_and_a_shared_word_reads_as_none() -> None:
    assert v.HOUSEHOLD_STATUS.read("未脱贫户") == "poor" and v.HOUSEHOLD_STATUS.read("非贫困户") == "non_poor"
    assert v.CREDIT_STATUS.read("黑名单") == v.CREDIT_STATUS.read("失信黑名单") == "blacklisted"
    assert v.ASSET_KIND.read("经营性") == v.ASSET_KIND.read("经营性资产") == "operating"
    assert v.LABOR.read("none") == "none" and v.LABOR.read(["none"]) is None
    assert v.TERM_ITEM.read("日期") is None  # both `on` and `date` are named 日期


def test_an_enum_that_gains_a_member_without_a_name_is_refused() -> None:
    from enum import StrEnum

    class Grown(StrEnum):
        IN_USE = "in_use"
        LEASED = "leased"
        PLEDGED = "pledged"
        IDLE = "idle"
        DISPOSED = "disposed"
        STOLEN = "stolen"

    with pytest.raises(ValueError, match="stolen"):
        v.ASSET_STATUS.require(Grown)


def test_a_code_set_refuses_a_code_without_both_names() -> None:
    with pytest.raises(ValueError):
        v.Vocab("x", (("a", "甲", ""),))
    with pytest.raises(ValueError):
        v.Vocab("x", (("a", "甲", "A"), ("a", "乙", "B")))


def test_the_registry_validates_against_the_vocabulary() -> None:
    from daipin.services.registry import service as reg
    from daipin.services.shared.inputs import choice

    assert reg.STATUSES is v.HOUSEHOLD_STATUS and reg.LABOR is v.LABOR and reg.LIFE_STATES is v.LIFE_STATE
    assert reg.ENTITY_KINDS is v.ENTITY_KIND and reg.CREDIT is v.CREDIT_STATUS and reg.ASSET_KINDS is v.ASSET_KIND
    assert reg.ASSET_STATUSES is v.ASSET_STATUS.codes and reg.PROJECT_STATUSES is v.PROJECT_STATUS.codes
    assert reg.RELATIONS is v.RELATION.codes and reg.CATEGORIES is v.PROJECT_CATEGORY.codes
    assert reg.FUNDING is v.FUNDING_SOURCE.codes and reg.POSTS is v.PUBLIC_WELFARE_POST.codes
    assert reg.ELIGIBLE is v.ELIGIBLE_STATUSES and set(reg.ELIGIBLE) <= set(v.HOUSEHOLD_STATUS.codes)
    assert tuple(reg.LEVEL_LENGTH) == v.REGION_LEVEL.codes
    assert choice("闲置", v.ASSET_STATUS, "status", "资产状态") == "idle"
    with pytest.raises(InputError) as err:
        choice("stolen", v.ASSET_STATUS, "status", "资产状态")
    assert err.value.field == "status" and "idle（闲置）" in err.value.message_zh


def test_contract_terms_matters_runs_and_imports_take_their_codes_from_the_vocabulary() -> None:
    from daipin.domain import contracts, workflow
    from daipin.services.imports import service as imports
    from daipin.services.matters import service as matters
    from daipin.services.registry import records
    from daipin.services.runs import service as runs

    assert contracts.MODELS is v.BENEFIT_MODEL and set(contracts.TERMS) == set(v.BENEFIT_MODEL.codes)
    assert set(contracts.ENGINE_KIND) <= set(v.BENEFIT_MODEL.codes)
    assert set(contracts.INHERITABLE_CONTRIBUTIONS) <= set(v.CONTRIBUTION_KIND.codes)
    code_sets = [s.codes for s in v.VOCABULARY.values()]
    for model, terms in contracts.TERMS.items():
        for term in terms:
            if term.type == "choice":
                assert any(term.choices is codes for codes in code_sets), (model, term.name)
                assert all(c in v.TERM_CHOICE for c in term.choices), (model, term.name)
    assert set(workflow.VOTE_ALIASES.values()) <= set(v.VOTE.codes) and "赞成" in workflow.VOTE_ALIASES
    assert set(v.RUN_KIND.codes) - {"premium_subsidy"} == matters.ENGINE_KINDS and runs.RULES is v.ALLOCATION_RULE.codes
    assert set(records.KINDS) == set(v.RECORD_KIND.codes)
    # An import reads every code and every name the vocabulary gives, and nothing else as a code.
    for vocab, readings in ((v.LABOR, imports.LABOR_VALUES), (v.HOUSEHOLD_STATUS, imports.STATUS_VALUES)):
        assert set(readings.values()) == set(vocab.codes)
        assert all(readings[code] == code and readings[vocab.zh(code)] == code for code in vocab.codes)


def test_the_calculations_use_the_vocabularys_codes_and_names() -> None:
    # The package's `settlement` and `village` names are its functions: the modules are imported by name.
    settlement, village, liquidation = (importlib.import_module(f"daipin.domain.engine.{name}")
                                        for name in ("settlement", "village", "liquidation"))
    assert v.HOUSEHOLD_STATUS.labels() == settlement.STATUSES and v.ENTITY_KIND.labels() == settlement.ENTITY_KINDS
    assert {k: t for k, t in v.PAYEE_TYPE.labels().items() if k != "entity"} == settlement.PAYEE_TYPES and v.TRUSTEESHIP_UNIT.labels() == settlement.UNITS
    assert all(settlement.CONTRACT_KINDS[k] == v.BENEFIT_MODEL.zh(k) for k in settlement.CONTRACT_KINDS)
    assert v.LABOR.labels() == village.LABOR and v.ALLOCATION_RULE.labels() == village.RULES
    assert v.ALLOCATION_PER.labels() == village.PER and set(village.WORK_KINDS) <= set(v.WORK_KIND.codes)
    assert v.LIQUIDATION_CLAIM.labels() == liquidation.CLASSES and v.LIQUIDATION_HOLDER.labels() == liquidation.HOLDERS


def test_the_apis_code_literals_are_the_vocabularys_codes() -> None:
    from daipin.api.routers import registry, workflow

    assert set(typing.get_args(registry.Status)) == set(v.HOUSEHOLD_STATUS.codes)
    # A review's decision, an objection's outcome and a payment's outcome, where the API spells them out.
    answers = (set(v.REVIEW_DECISION.codes), set(v.OBJECTION_OUTCOMES), set(v.PAYMENT_OUTCOMES))
    for literal in _literals_in(workflow):
        values = set(typing.get_args(literal))
        if values <= set().union(*answers):
            assert values in answers, values
    assert set(v.OBJECTION_OUTCOMES) < set(v.OBJECTION_STATUS.codes)
    assert set(v.PAYMENT_OUTCOMES) < set(v.PAYMENT_LINE_STATUS.codes)


def _literals_in(module: object) -> list[object]:
    """Every Literal[...] of str in a module's pydantic models and aliases."""
    out: list[object] = []

    def walk(t: object) -> None:
        if typing.get_origin(t) is typing.Literal:
            out.append(t)
        for arg in typing.get_args(t):
            walk(arg)

    for obj in vars(module).values():
        fields = getattr(obj, "model_fields", None)
        if isinstance(fields, dict):
            for f in fields.values():
                walk(f.annotation)
        else:
            walk(obj)
    return out


def test_no_service_checks_a_choice_against_a_list_of_its_own() -> None:
    """A `choice(value, <codes>, …)` whose codes are written out in the call would let a code in without a name."""
    offenders = []
    for path in sorted((SRC / "services").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("choice", "_choice")
                    and len(node.args) > 1 and isinstance(node.args[1], ast.Tuple | ast.List | ast.Set | ast.Dict)):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not offenders


def test_there_is_one_yuan_formatter() -> None:
    """Amounts are written by domain.money.format_yuan only: no other function splits fen into yuan and fen."""
    pattern = re.compile(r"//\s*100\b[^\n]*%\s*100|divmod\([^)]*,\s*100\)|:,\.2f")
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "money.py" and path.parent.name == "domain":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(SRC)}:{n}: {line.strip()}")
    assert not offenders
