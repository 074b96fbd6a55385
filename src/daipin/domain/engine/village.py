"""Village allocation: a village shares its collective income by buckets and rules (ENGINE.md §2)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from itertools import compress, repeat
from operator import gt, not_
from typing import Any

from daipin.domain.engine.settlement import STATUSES
from daipin.domain.engine.validate import Issues, join, without_cyclic_gc
from daipin.domain.money import format_yuan, split
from daipin.domain.numbers import ExactValueError, format_decimal, parse_exact
from daipin.domain.vocabulary import ALLOCATION_PER, ALLOCATION_RULE, ELIGIBLE_STATUSES, WORK_KIND
from daipin.domain.vocabulary import LABOR as LABOR_VOCAB

KIND = "village_allocation"

LABOR = LABOR_VOCAB.labels()
RULES = ALLOCATION_RULE.labels()
PER = ALLOCATION_PER.labels()
WORK_KINDS = WORK_KIND.subset("village_work_kind", ("public_welfare_post",)).labels()
DEFAULT_ELIGIBLE = ELIGIBLE_STATUSES

_RULE_FIELDS: dict[str, tuple[str, ...]] = {
    "direct_support": ("per",),
    "wages": (),
    "tiered": ("per", "tiers"),
    "equal": ("per",),
    "retain": (),
}
_HOUSEHOLD_FIELDS = frozenset(("id", "status", "labor", "members"))
_HOUSEHOLD_ALLOWED = _HOUSEHOLD_FIELDS | {"name"}
_WORK_REQUIRED = frozenset(("household", "kind", "days", "daily_wage_fen"))
_WORK_ALLOWED = _WORK_REQUIRED | {"post"}
_CONTRIB_FIELDS = frozenset(("household", "points"))
_LABOR_CODE = {"full": 2, "weak": 1, "none": 0}
_NOT = not_
_SUMMARY_KEYS = (
    "name",
    "rule",
    "share",
    "amount_fen",
    "distributed_fen",
    "retained_fen",
    "undistributed_fen",
    "cut_by_cap_fen",
    "basis",
)


@without_cyclic_gc
def village_allocation(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Split a village pool into buckets, each bucket among eligible households by its rule, then cap.

    The whole document is checked before any arithmetic; Σ lines + retained + undistributed = pool.
    """
    issues = Issues()
    if not issues.header(doc, KIND):
        issues.check()
    issues.fields(
        doc,
        "",
        ("version", "kind", "village", "pool_fen", "households", "buckets"),
        ("eligible_statuses", "work", "contribution", "cap_per_household_fen"),
    )
    if "village" in doc:
        issues.text(doc["village"], "village")
    pool = issues.fen(doc["pool_fen"], "pool_fen") if "pool_fen" in doc else None
    cap = None
    if doc.get("cap_per_household_fen") is not None:
        cap = issues.fen(doc["cap_per_household_fen"], "cap_per_household_fen")

    eligible_statuses: tuple[str, ...] = DEFAULT_ELIGIBLE
    if "eligible_statuses" in doc:
        chosen: list[str] = []
        for j, st in enumerate(issues.items_of(doc, "eligible_statuses", "")):
            code = issues.choice(st, f"eligible_statuses[{j}]", STATUSES)
            if code is None:
                continue
            if code in chosen:
                issues.add(f"eligible_statuses[{j}]", f"状态 {code} 重复", f"status {code} is listed twice")
            chosen.append(code)
        eligible_statuses = tuple(chosen)
    eligible_set = frozenset(eligible_statuses)

    # Each list is first read by a lean check that only says "clean" or "look closely"
    # (raising at the first surprise); the close check names every problem precisely.
    households = issues.items_of(doc, "households", "")
    try:
        ids, statuses, labors, members, index = _households_fast(households)
    except (_Unusual, KeyError, TypeError):
        ids, statuses, labors, members, index = _households_closely(households, issues)
    eligible = [s in eligible_set for s in statuses]

    # work records (each is rounded half-up on its own, after the whole document is checked)
    dec_cache: dict[str, tuple[int, int]] = {}
    work = issues.items_of(doc, "work", "", required=False)
    try:
        work_records = _work_fast(work, index, eligible, dec_cache)
    except (_Unusual, KeyError, TypeError):
        work_records = _work_closely(work, index, eligible, dec_cache, issues)

    # contribution points, summed exactly at a common power-of-ten scale
    contribution = issues.items_of(doc, "contribution", "", required=False)
    try:
        raw_points = _contribution_fast(contribution, index, eligible, dec_cache)
    except (_Unusual, KeyError, TypeError):
        raw_points = _contribution_closely(contribution, index, eligible, dec_cache, issues)

    buckets = _buckets(doc, issues)
    issues.check()
    assert pool is not None
    return _allocate(
        doc,
        pool,
        cap,
        eligible_statuses,
        ids,
        statuses,
        labors,
        members,
        eligible,
        work_records,
        raw_points,
        buckets,
    )


class _Unusual(Exception):
    """A lean check met something it does not vouch for; the close check takes over."""


_Households = tuple[list[str], list[str], list[int], list[int], dict[str, int]]


def _households_fast(households: list[Any]) -> _Households:
    """ids, statuses, labour codes, members and id -> position of a clean household list."""
    ids: list[str] = []
    statuses: list[str] = []
    labors: list[int] = []
    members: list[int] = []
    add_id = ids.append
    add_status = statuses.append
    add_labor = labors.append
    add_members = members.append
    labor_code = _LABOR_CODE
    known = STATUSES
    for h in households:
        if len(h) != 4:  # the four fields, read below, and nothing else
            raise _Unusual
        hid = h["id"]
        status = h["status"]
        m = h["members"]
        labor = labor_code[h["labor"]]
        if type(hid) is not str or not hid or type(m) is not int or m < 1 or status not in known:
            raise _Unusual
        add_id(hid)
        add_status(status)
        add_labor(labor)
        add_members(m)
    index = dict(zip(ids, range(len(ids)), strict=True))
    if len(index) != len(ids):
        raise _Unusual  # a duplicate id
    return ids, statuses, labors, members, index


def _households_closely(households: list[Any], issues: Issues) -> _Households:
    ids: list[str] = []
    statuses: list[str] = []
    labors: list[int] = []
    members: list[int] = []
    index: dict[str, int] = {}
    for i, h in enumerate(households):
        if isinstance(h, Mapping) and h.keys() <= _HOUSEHOLD_ALLOWED and h.keys() >= _HOUSEHOLD_FIELDS:
            hid, status, labor, m = h["id"], h["status"], h["labor"], h["members"]
            if type(h.get("name", "")) is not str:
                issues.add(f"households[{i}].name", "名称应为字符串", "name must be a string")
        else:
            issues.fields(h, f"households[{i}]", _HOUSEHOLD_FIELDS)
            if isinstance(h, Mapping) and type(h.get("id")) is str:
                index.setdefault(h["id"], -1)  # known, so its records are not also reported
            continue
        if type(hid) is not str or not hid:
            issues.text(hid, f"households[{i}].id")
            continue
        if type(status) is not str or status not in STATUSES:
            issues.choice(status, f"households[{i}].status", STATUSES)
            status = ""
        if type(labor) is not str or labor not in LABOR:
            issues.choice(labor, f"households[{i}].labor", LABOR)
            labor = "none"
        if type(m) is not int or m < 1:
            issues.count(m, f"households[{i}].members", minimum=1)
        if hid in index:
            first = index[hid]
            issues.add(
                f"households[{i}].id",
                f'户编号 "{hid}" 重复（已见于 households[{first}]）',
                f'duplicate household id "{hid}" (first at households[{first}])',
            )
            continue
        index[hid] = len(ids)
        ids.append(hid)
        statuses.append(status)
        labors.append(_LABOR_CODE[labor])
        members.append(m)
    return ids, statuses, labors, members, index


def _decimal(value: object, dec: dict[str, tuple[int, int]]) -> tuple[int, int]:
    """A decimal ≥ 0 for a lean check: an integer, or a text (parsed once per text); else _Unusual."""
    if type(value) is int:
        if value < 0:
            raise _Unusual
        return value, 1
    if type(value) is not str:
        raise _Unusual
    try:
        n, d = parse_exact(value)
    except ExactValueError:
        raise _Unusual from None
    if n < 0:
        raise _Unusual
    dec[value] = (n, d)
    return n, d


def _work_fast(
    work: list[Any], index: dict[str, int], eligible: list[bool], dec: dict[str, tuple[int, int]]
) -> list[tuple[int, int, int, int, str]]:
    records: list[tuple[int, int, int, int, str]] = []
    add = records.append
    for w in work:
        ref = w["household"]
        who = index[ref]
        v = w["days"]
        wage = w["daily_wage_fen"]
        if type(ref) is not str or w["kind"] != "public_welfare_post" or type(wage) is not int or wage < 0:
            raise _Unusual
        if len(w) == 4:
            post = "公益岗位"
        else:
            post = w["post"]
            if type(post) is not str or len(w) != 5:
                raise _Unusual
            post = post or "公益岗位"
        days = (dec.get(v) if type(v) is str else None) or _decimal(v, dec)
        if eligible[who]:  # an ineligible household's records are ignored
            add((who, days[0], days[1], wage, post))
    return records


def _work_closely(
    work: list[Any],
    index: dict[str, int],
    eligible: list[bool],
    dec_cache: dict[str, tuple[int, int]],
    issues: Issues,
) -> list[tuple[int, int, int, int, str]]:
    work_records: list[tuple[int, int, int, int, str]] = []
    get_dec = dec_cache.get
    get_index = index.get
    for j, w in enumerate(work):
        if not (isinstance(w, Mapping) and w.keys() <= _WORK_ALLOWED and w.keys() >= _WORK_REQUIRED):
            issues.fields(w, f"work[{j}]", _WORK_REQUIRED, ("post",))
            continue
        ref = w["household"]
        who = get_index(ref) if type(ref) is str else None
        if who is None:
            _household(issues, index, ref, f"work[{j}].household")
        if w["kind"] != "public_welfare_post":
            issues.choice(w["kind"], f"work[{j}].kind", WORK_KINDS)
        post = w.get("post", "")
        if type(post) is not str:
            issues.add(f"work[{j}].post", "岗位名称应为字符串", "post must be a string")
        v = w["days"]
        days = get_dec(v) if type(v) is str else (v, 1) if type(v) is int and v >= 0 else None
        if days is None:
            days = issues.exact(v, f"work[{j}].days", cache=dec_cache)
        wage = w["daily_wage_fen"]
        if type(wage) is not int or wage < 0:
            issues.fen(wage, f"work[{j}].daily_wage_fen")
            continue
        if who is None or who < 0 or days is None or not eligible[who]:
            continue  # an ineligible household's records are ignored
        work_records.append((who, days[0], days[1], wage, post or "公益岗位"))
    return work_records


def _contribution_fast(
    contribution: list[Any], index: dict[str, int], eligible: list[bool], dec: dict[str, tuple[int, int]]
) -> list[tuple[int, int, int]]:
    raw_points: list[tuple[int, int, int]] = []
    add = raw_points.append
    for c in contribution:
        ref = c["household"]
        who = index[ref]
        v = c["points"]
        if len(c) != 2 or type(ref) is not str:
            raise _Unusual
        pts = (dec.get(v) if type(v) is str else None) or _decimal(v, dec)
        if eligible[who]:
            add((who, pts[0], pts[1]))
    return raw_points


def _contribution_closely(
    contribution: list[Any],
    index: dict[str, int],
    eligible: list[bool],
    dec_cache: dict[str, tuple[int, int]],
    issues: Issues,
) -> list[tuple[int, int, int]]:
    raw_points: list[tuple[int, int, int]] = []
    get_dec = dec_cache.get
    get_index = index.get
    for j, c in enumerate(contribution):
        if not (isinstance(c, Mapping) and c.keys() == _CONTRIB_FIELDS):
            issues.fields(c, f"contribution[{j}]", _CONTRIB_FIELDS)
            continue
        ref = c["household"]
        who = get_index(ref) if type(ref) is str else None
        if who is None:
            _household(issues, index, ref, f"contribution[{j}].household")
        v = c["points"]
        pts = get_dec(v) if type(v) is str else (v, 1) if type(v) is int and v >= 0 else None
        if pts is None:
            pts = issues.exact(v, f"contribution[{j}].points", cache=dec_cache)
        if who is not None and who >= 0 and pts is not None and eligible[who]:
            raw_points.append((who, pts[0], pts[1]))
    return raw_points


def _allocate(
    doc: Mapping[str, Any],
    pool: int,
    cap: int | None,
    eligible_statuses: tuple[str, ...],
    ids: list[str],
    statuses: list[str],
    labors: list[int],
    members: list[int],
    eligible: list[bool],
    work_records: list[tuple[int, int, int, int, str]],
    raw_points: list[tuple[int, int, int]],
    buckets: list[dict[str, Any]],
) -> dict[str, Any]:
    """The arithmetic of a checked document.

    Each bucket works on its own recipients only (index lists in household order), so a
    village of 300,000 households with a few thousand poor ones costs little more than
    reading them; the heavy per-household work is done column-wise where it can be.
    """
    n = len(ids)
    fy = format_yuan

    # wages earned, and how (each record rounded half-up on its own)
    earnings: dict[int, int] = {}
    posts: dict[int, list[str]] = {}
    note_texts: dict[tuple[str, int, int, int], str] = {}
    for worker, dn, dd, wage, post in work_records:
        earnings[worker] = earnings.get(worker, 0) + (2 * dn * wage + dd) // (2 * dd)
        note_key = (post, dn, dd, wage)
        note = note_texts.get(note_key)
        if note is None:
            note = note_texts[note_key] = f"{post} {format_decimal(dn, dd)} 天 × {fy(wage)} 元"
        got = posts.get(worker)
        if got is None:
            posts[worker] = [note]
        else:
            got.append(note)

    point_scale = max(
        [d for _, _, d in raw_points] + [d for b in buckets for d in b.get("_tier_dens", [])] + [1]
    )
    points: dict[int, int] = {}
    for i, pn, pd in raw_points:
        points[i] = points.get(i, 0) + pn * (point_scale // pd)

    # 1. the pool into buckets, by share (key = bucket name)
    share_scale = max(b["_share"][1] for b in buckets)
    bucket_amounts = split(
        pool,
        [b["_share"][0] * (share_scale // b["_share"][1]) for b in buckets],
        [b["name"] for b in buckets],
    )

    everyone = list(compress(range(n), eligible))  # eligible households, in household order
    warnings: list[dict[str, Any]] = []
    # per bucket: (recipients, weights, explanations, amounts, mode, whole, weight denominator)
    plans: list[_Plan | None] = []
    summary: list[dict[str, Any]] = []
    retained = 0
    undistributed = 0
    for b, amount in zip(buckets, bucket_amounts, strict=True):
        rule = b["rule"]
        name = b["name"]
        info: dict[str, Any] = {
            "name": name,
            "rule": rule,
            "share": format_decimal(*b["_share"]),
            "amount_fen": amount,
        }
        if rule == "retain":
            retained += amount
            plans.append(None)
            info.update(distributed_fen=0, retained_fen=amount, undistributed_fen=0)
            info["basis"] = (
                f"资金池 {fy(pool)} 元 × {info['share']} = {fy(amount)} 元，留村集体用于小型公益事业"
            )
            summary.append(info)
            continue
        who, weights, explain, tier_of, den = _weights(
            b, everyone, labors, members, points, earnings, posts, point_scale
        )
        whole = sum(weights)
        if whole == 0:
            amounts = [0] * len(who)
            gave = 0
            mode = "none"
            info["basis"] = f"{fy(amount)} 元未分配：无符合条件的受益户或权重合计为 0"
        elif rule == "wages" and whole <= amount:
            amounts = list(weights)  # wages paid in full are the earnings themselves
            gave = whole
            mode = "full"
            info["basis"] = f"本项 {fy(amount)} 元足以全额支付工资 {fy(whole)} 元"
        else:
            amounts = split(amount, weights, [ids[i] for i in who])
            gave = amount
            if rule == "wages":
                mode = "scaled"
                warnings.append(
                    {
                        "code": "wages_scaled",
                        "bucket": name,
                        "needed_fen": whole,
                        "available_fen": amount,
                        "message": f"{name}：本项 {fy(amount)} 元不足以支付工资 {fy(whole)} 元，按工资比例支付",
                    }
                )
                info["basis"] = (
                    f"本项 {fy(amount)} 元少于应付工资 {fy(whole)} 元，按工资比例分配（最大余数法）"
                )
            else:
                mode = "weighted"
                info["basis"] = (
                    f"本项 {fy(amount)} 元按权重合计 {format_decimal(whole, den)} 分配（最大余数法）"
                )
        left = amount - gave
        undistributed += left
        info.update(distributed_fen=gave, retained_fen=0, undistributed_fen=left)
        summary.append(info)
        plans.append(_Plan(who, weights, explain, amounts, mode, whole, den))
        _flat_warning(rule, name, who, amounts, labors, tier_of, warnings)

    # per household, the total of every bucket (before the cap)
    totals = [0] * n
    for plan in plans:
        if plan is None:
            continue
        for i, amt in zip(plan.who, plan.amounts, strict=True):
            totals[i] += amt

    # 4. the cap: cut equal and tiered lines (last-listed first), then direct support; never wages
    cuts: list[dict[int, int]] = [{} for _ in buckets]  # per bucket: household -> fen cut
    if cap is not None:
        order = [k for k in reversed(range(len(buckets))) if buckets[k]["rule"] in ("equal", "tiered")]
        order += [k for k in reversed(range(len(buckets))) if buckets[k]["rule"] == "direct_support"]
        over_cap = list(compress(range(n), map(gt, totals, repeat(cap))))
        at: dict[int, dict[int, int]] = {}  # bucket -> household -> position in its plan
        for i in over_cap:
            over = totals[i] - cap
            cut_total = 0
            for k in order:
                plan = plans[k]
                assert plan is not None
                where = at.get(k)
                if where is None:
                    where = at[k] = dict(zip(plan.who, range(len(plan.who)), strict=True))
                j = where.get(i)
                if j is None:
                    continue
                take = min(over, plan.amounts[j])
                if take:
                    plan.amounts[j] -= take
                    cuts[k][i] = take
                    over -= take
                    cut_total += take
                    if not over:
                        break
            if cut_total:
                totals[i] -= cut_total
                undistributed += cut_total
                warnings.append(
                    {
                        "code": "cap_applied",
                        "household": ids[i],
                        "cut_fen": cut_total,
                        "message": f"{ids[i]} 合计超过每户上限 {fy(cap)} 元，削减 {fy(cut_total)} 元",
                    }
                )
        for k, info in enumerate(summary):
            cut = sum(cuts[k].values())
            if cut:
                info["cut_by_cap_fen"] = cut
                info["distributed_fen"] -= cut

    lines: list[dict[str, Any]] = []
    add_line = lines.append
    cap_text = fy(cap or 0)
    for k, b in enumerate(buckets):
        plan = plans[k]
        if plan is None or plan.mode == "none":
            continue
        name = b["name"]
        cut_of = cuts[k]
        den = plan.den
        mode = plan.mode
        if mode == "full":
            # wages paid in full: the amount is the earnings, already in the explanation
            for i, amt, ex in zip(plan.who, plan.amounts, plan.explain, strict=True):
                if amt:
                    add_line(
                        {
                            "household": ids[i],
                            "bucket": name,
                            "amount_fen": amt,
                            "basis": f"{ex}，全额支付 {fy(amt)} 元",
                        }
                    )
            continue
        if mode == "scaled":
            whole_text = fy(plan.whole)
            shares = {w: f"，本项不足，按工资比例 {fy(w)}/{whole_text} 支付 " for w in set(plan.weights)}
        else:
            whole_text = format_decimal(plan.whole, den)
            shares = {w: f"，占权重 {format_decimal(w, den)}/{whole_text} → " for w in set(plan.weights)}
        for i, amt, ex, w in zip(plan.who, plan.amounts, plan.explain, plan.weights, strict=True):
            if not amt:
                continue
            taken = cut_of.get(i) if cut_of else None
            if taken:
                basis = (
                    f"{ex}{shares[w]}{fy(amt + taken)} 元；超过每户上限 {cap_text} 元，"
                    f"削减 {fy(taken)} 元，实得 {fy(amt)} 元"
                )
            else:
                basis = f"{ex}{shares[w]}{fy(amt)} 元"
            add_line({"household": ids[i], "bucket": name, "amount_fen": amt, "basis": basis})

    scope = "、".join(STATUSES[s] for s in eligible_statuses) or "无"
    why = {code: f"身份为{label}，不在本次受益范围（{scope}）内" for code, label in STATUSES.items()}
    excluded = [
        {"household": ids[i], "reason": "status", "status": statuses[i], "basis": why[statuses[i]]}
        for i in compress(range(n), map(_NOT, eligible))
    ]
    return {
        "kind": KIND,
        "version": 1,
        "village": doc["village"],
        "pool_fen": pool,
        "eligible_statuses": list(eligible_statuses),
        "cap_per_household_fen": cap,
        "buckets": [{k: info[k] for k in _SUMMARY_KEYS if k in info} for info in summary],
        "lines": lines,
        "households": dict(compress(zip(ids, totals, strict=True), totals)),
        "retained_fen": retained,
        "undistributed_fen": undistributed,
        "excluded": excluded,
        "warnings": warnings,
    }


class _Plan:
    """How one bucket is shared: recipients in household order, with aligned columns."""

    __slots__ = ("who", "weights", "explain", "amounts", "mode", "whole", "den")

    def __init__(
        self,
        who: list[int],
        weights: list[int],
        explain: list[str],
        amounts: list[int],
        mode: str,
        whole: int,
        den: int,
    ) -> None:
        self.who = who
        self.weights = weights
        self.explain = explain
        self.amounts = amounts
        self.mode = mode  # "none", "full" (wages paid in full), "scaled" (wages pro rata), "weighted"
        self.whole = whole
        self.den = den


def _household(issues: Issues, index: dict[str, int], ref: object, path: str) -> int | None:
    i = index.get(ref) if type(ref) is str else None  # a number (JSON 1.5) is never an id
    if i is None:
        shown = f'"{ref}"' if type(ref) is str else str(ref)
        issues.add(
            path, f"户 {shown} 不在 households 列表中", f"household {shown} is not listed in households"
        )
    return i


def _buckets(doc: Mapping[str, Any], issues: Issues) -> list[dict[str, Any]]:
    """Check the buckets; each comes back with its parsed share (and tiers) under `_` keys."""
    out: list[dict[str, Any]] = []
    names: dict[str, int] = {}
    share_sum_n, share_sum_d = 0, 1
    shares_ok = True
    raw = issues.items_of(doc, "buckets", "")
    for k, b in enumerate(raw):
        path = f"buckets[{k}]"
        rule = b.get("rule") if isinstance(b, Mapping) else None
        if not (isinstance(rule, str) and rule in RULES):
            # An unknown rule: report it, not the fields that only some rules take.
            if issues.fields(b, path, ("name", "share", "rule"), ("per", "tiers")):
                issues.choice(rule, join(path, "rule"), RULES)
            shares_ok = False
            continue
        extra = _RULE_FIELDS[rule]
        if not issues.fields(b, path, ("name", "share", "rule") + extra):
            shares_ok = False
            continue
        name = issues.text(b["name"], join(path, "name"))
        if name is not None:
            first = names.setdefault(name, k)
            if first != k:
                issues.add(
                    join(path, "name"),
                    f'项目名称 "{name}" 重复（已见于 buckets[{first}]）',
                    f'duplicate bucket name "{name}" (first at buckets[{first}])',
                )
        if issues.choice(rule, join(path, "rule"), RULES) is None:
            shares_ok = False
            continue
        share = issues.exact(b["share"], join(path, "share"), maximum=(1, 1))
        if share is None:
            shares_ok = False
            continue
        share_sum_n, share_sum_d = share_sum_n * share[1] + share[0] * share_sum_d, share_sum_d * share[1]
        parsed: dict[str, Any] = {"name": name, "rule": rule, "_share": share}
        if "per" in extra:
            parsed["per"] = issues.choice(b["per"], join(path, "per"), PER)
        if rule == "tiered":
            tiers = []
            mins: dict[tuple[int, int], int] = {}
            for t, tier in enumerate(issues.items_of(b, "tiers", path)):
                tpath = f"{path}.tiers[{t}]"
                if not issues.fields(tier, tpath, ("min_points", "weight")):
                    continue
                low = issues.exact(tier["min_points"], join(tpath, "min_points"))
                weight = issues.exact(tier["weight"], join(tpath, "weight"))
                if low is None or weight is None:
                    continue
                norm = _norm(low)
                if norm in mins:
                    issues.add(
                        join(tpath, "min_points"),
                        f"档位起点 {format_decimal(*low)} 分重复",
                        f"tier threshold {format_decimal(*low)} is listed twice",
                    )
                mins[norm] = t
                tiers.append((low, weight))
            if isinstance(b.get("tiers"), list) and not b["tiers"]:
                issues.add(join(path, "tiers"), "至少需要一个档位", "at least one tier is needed")
            scale = max([lo[1] for lo, _ in tiers] + [1])
            parsed["_tiers"] = sorted(tiers, key=lambda tw: tw[0][0] * (scale // tw[0][1]))
            parsed["_tier_dens"] = [lo[1] for lo, _ in tiers]
        out.append(parsed)
    if shares_ok and raw and share_sum_n != share_sum_d:
        total = format_decimal(share_sum_n, share_sum_d)
        issues.add(
            "buckets",
            f"各项比例之和为 {total}，应恰好为 1",
            f"bucket shares add up to {total}, they must add up to exactly 1",
        )
    if not raw and "buckets" in doc and isinstance(doc["buckets"], list):
        issues.add(
            "buckets",
            "至少需要一个分配项（比例之和应为 1）",
            "at least one bucket is needed (shares add up to 1)",
        )
    return out


def _norm(value: tuple[int, int]) -> tuple[int, int]:
    """A canonical form of n/d so that "30" and "30.0" compare equal."""
    n, d = value
    while d % 10 == 0 and n % 10 == 0:
        n //= 10
        d //= 10
    return n, d


def _weights(
    b: dict[str, Any],
    everyone: list[int],
    labors: list[int],
    members: list[int],
    points: dict[int, int],
    earnings: dict[int, int],
    posts: dict[int, list[str]],
    point_scale: int,
) -> tuple[list[int], list[int], list[str], list[int] | None, int]:
    """A bucket's recipients (household order), their integer weights, the first part of each
    line's basis, their tiers (tiered rule) and the weights' denominator."""
    rule = b["rule"]
    by_person = b.get("per") == "person"
    if rule == "wages":
        who = sorted(earnings)  # only eligible households' records were kept
        who = [i for i in who if earnings[i]]
        weights = [earnings[i] for i in who]
        fy = format_yuan
        explain = [f"公益岗位 {' + '.join(posts[i])} = 工资 {fy(earnings[i])} 元" for i in who]
        return who, weights, explain, None, 1
    if rule in ("direct_support", "equal"):
        if rule == "direct_support":
            who = [i for i in everyone if not labors[i]]
            label = "无劳动能力户，兜底保障"
        else:
            who = everyone
            label = "均等分配，"
        if by_person:
            weights = [members[i] for i in who]
            texts = {m: f"{label}按 {m} 人计" for m in set(weights)}
            explain = [texts[m] for m in weights]
        else:
            weights = [1] * len(who)
            explain = [f"{label}按户计"] * len(who)
        return who, weights, explain, None, 1
    # tiered: thresholds and weights at common scales so every comparison is in integers
    tiers: list[tuple[tuple[int, int], tuple[int, int]]] = b["_tiers"]
    weight_den = max(w[1] for _, w in tiers)
    thresholds = [lo[0] * (point_scale // lo[1]) for lo, _ in tiers]
    tier_weights = [w[0] * (weight_den // w[1]) for _, w in tiers]
    tier_texts = [
        f"第 {t + 1} 档（≥{format_decimal(*lo)} 分）权重 {format_decimal(*wt)}"
        for t, (lo, wt) in enumerate(tiers)
    ]
    who = [i for i in everyone if labors[i]]
    tier_of: list[int] = []
    weights = []
    explain = []
    shown: dict[tuple[int, int], str] = {}  # (points, members) -> explanation; both repeat a lot
    get_points = points.get
    for i in who:
        p = get_points(i, 0)
        t = bisect_right(thresholds, p) - 1  # the highest tier whose threshold is reached
        tier_of.append(t)
        m = members[i] if by_person else 0
        if t < 0:
            weights.append(0)
        else:
            weights.append(tier_weights[t] * m if by_person else tier_weights[t])
        text = shown.get((p, m))
        if text is None:
            pts = format_decimal(p, point_scale)
            if t < 0:
                text = f"积分 {pts} 分，未达最低档"
            elif by_person:
                text = f"积分 {pts} 分，{tier_texts[t]} × {m} 人"
            else:
                text = f"积分 {pts} 分，{tier_texts[t]}"
            shown[(p, m)] = text
        explain.append(text)
    return who, weights, explain, tier_of, weight_den


def _flat_warning(
    rule: str,
    name: str,
    who: list[int],
    amounts: list[int],
    labors: list[int],
    tier_of: list[int] | None,
    warnings: list[dict[str, Any]],
) -> None:
    """泛福利化: equal hand-outs to people able to work, or a tiered bucket that did not differentiate."""
    if rule == "equal":
        if any(amt and labors[i] for i, amt in zip(who, amounts, strict=True)):
            warnings.append(
                {
                    "code": "flat_distribution",
                    "bucket": name,
                    "message": f"{name}：向有劳动能力的户均等发放，存在泛福利化倾向",
                }
            )
    elif rule == "tiered" and tier_of is not None:
        # every tiered recipient is able to work
        tiers_hit = [t for amt, t in zip(amounts, tier_of, strict=True) if amt]
        got = set(tiers_hit)
        count = len(tiers_hit)
        if count >= 3 and len(got) == 1:
            warnings.append(
                {
                    "code": "flat_distribution",
                    "bucket": name,
                    "message": f"{name}：{count} 户有劳动能力的受益户全部落在同一档，未体现差异分配",
                }
            )
