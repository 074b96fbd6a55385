"""Village allocation: a village shares its collective income by buckets and rules (ENGINE.md §2)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from typing import Any

from daipin.domain.engine.settlement import STATUSES
from daipin.domain.engine.validate import Issues, join, without_cyclic_gc
from daipin.domain.money import format_yuan, split, split_in_order
from daipin.domain.numbers import format_decimal

KIND = "village_allocation"

LABOR = {"full": "有劳动能力", "weak": "弱劳动力", "none": "无劳动能力"}
RULES = {
    "direct_support": "兜底保障",
    "wages": "公益岗位工资",
    "tiered": "按贡献分档",
    "equal": "均等分配",
    "retain": "村集体留存",
}
PER = {"person": "按人", "household": "按户"}
WORK_KINDS = {"public_welfare_post": "公益岗位"}
DEFAULT_ELIGIBLE = ("poor", "monitored")

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

    # households, by position
    ids: list[str] = []
    statuses: list[str] = []
    labors: list[int] = []
    members: list[int] = []
    index: dict[str, int] = {}
    for i, h in enumerate(issues.items_of(doc, "households", "")):
        if type(h) is dict and h.keys() == _HOUSEHOLD_FIELDS:
            hid, status, labor, m = h["id"], h["status"], h["labor"], h["members"]
        elif isinstance(h, Mapping) and h.keys() <= _HOUSEHOLD_ALLOWED and h.keys() >= _HOUSEHOLD_FIELDS:
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
    n = len(ids)
    eligible = [s in eligible_set for s in statuses]

    # work records (each is rounded half-up on its own, after the whole document is checked)
    work_records: list[tuple[int, int, int, int, str]] = []
    dec_cache: dict[str, tuple[int, int]] = {}
    get_dec = dec_cache.get
    get_index = index.get
    for j, w in enumerate(issues.items_of(doc, "work", "", required=False)):
        if not (
            (type(w) is dict or isinstance(w, Mapping))
            and w.keys() <= _WORK_ALLOWED
            and w.keys() >= _WORK_REQUIRED
        ):
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

    # contribution points, summed exactly at a common power-of-ten scale
    raw_points: list[tuple[int, int, int]] = []
    add_points = raw_points.append
    for j, c in enumerate(issues.items_of(doc, "contribution", "", required=False)):
        if not ((type(c) is dict or isinstance(c, Mapping)) and c.keys() == _CONTRIB_FIELDS):
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
            add_points((who, pts[0], pts[1]))

    buckets = _buckets(doc, issues)
    issues.check()
    assert pool is not None

    earnings = [0] * n
    posts: list[list[str] | None] = [None] * n
    for who, dn, dd, wage, post in work_records:
        earnings[who] += (2 * dn * wage + dd) // (2 * dd)
        note = f"{post} {format_decimal(dn, dd)} 天 × {format_yuan(wage)} 元"
        got = posts[who]
        if got is None:
            posts[who] = [note]
        else:
            got.append(note)

    point_scale = max(
        [d for _, _, d in raw_points] + [d for b in buckets for d in b.get("_tier_dens", [])] + [1]
    )
    points = [0] * n
    for i, pn, pd in raw_points:
        points[i] += pn * (point_scale // pd)

    # 1. the pool into buckets, by share (key = bucket name)
    share_scale = max(b["_share"][1] for b in buckets)
    bucket_amounts = split(
        pool,
        [b["_share"][0] * (share_scale // b["_share"][1]) for b in buckets],
        [b["name"] for b in buckets],
    )

    key_order = sorted(range(n), key=ids.__getitem__)
    warnings: list[dict[str, Any]] = []
    per_bucket: list[list[int] | None] = []
    # per bucket: how each line's basis ends ("full", "scaled", "weighted"), its weights and their total
    plans: list[tuple[str, list[str], list[int], int, int]] = []
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
            per_bucket.append(None)
            plans.append(("", [], [], 0, 1))
            info.update(distributed_fen=0, retained_fen=amount, undistributed_fen=0)
            info["basis"] = (
                f"资金池 {format_yuan(pool)} 元 × {info['share']} = {format_yuan(amount)} 元，留村集体用于小型公益事业"
            )
            summary.append(info)
            continue
        weights, explain = _weights(b, eligible, labors, members, points, earnings, posts, point_scale)
        whole = sum(weights)
        den = b.get("_weight_den", 1)
        if whole == 0:
            amounts = [0] * n
            gave = 0
            mode = "none"
            info["basis"] = f"{format_yuan(amount)} 元未分配：无符合条件的受益户或权重合计为 0"
        elif rule == "wages" and whole <= amount:
            amounts = list(weights)  # wages paid in full are the earnings themselves
            gave = whole
            mode = "full"
            info["basis"] = f"本项 {format_yuan(amount)} 元足以全额支付工资 {format_yuan(whole)} 元"
        else:
            amounts = split_in_order(amount, weights, key_order)
            gave = amount
            if rule == "wages":
                mode = "scaled"
                warnings.append(
                    {
                        "code": "wages_scaled",
                        "bucket": name,
                        "needed_fen": whole,
                        "available_fen": amount,
                        "message": f"{name}：本项 {format_yuan(amount)} 元不足以支付工资 {format_yuan(whole)} 元，按工资比例支付",
                    }
                )
                info["basis"] = (
                    f"本项 {format_yuan(amount)} 元少于应付工资 {format_yuan(whole)} 元，按工资比例分配（最大余数法）"
                )
            else:
                mode = "weighted"
                info["basis"] = (
                    f"本项 {format_yuan(amount)} 元按权重合计 {format_decimal(whole, den)} 分配（最大余数法）"
                )
        left = amount - gave
        undistributed += left
        info.update(distributed_fen=gave, retained_fen=0, undistributed_fen=left)
        summary.append(info)
        per_bucket.append(amounts)
        plans.append((mode, explain, weights, whole, den))
        _flat_warning(b, amounts, labors, explain_tiers=b.get("_tier_of"), warnings=warnings)

    # 4. the cap: cut equal and tiered lines (last-listed first), then direct support; never wages
    cuts: list[dict[int, int]] = [{} for _ in buckets]  # per bucket: household -> fen cut
    if cap is not None:
        order = [k for k in reversed(range(len(buckets))) if buckets[k]["rule"] in ("equal", "tiered")]
        order += [k for k in reversed(range(len(buckets))) if buckets[k]["rule"] == "direct_support"]
        live = [a for a in per_bucket if a is not None]
        totals = [sum(col) for col in zip(*live, strict=True)] if live else [0] * n
        for i, total in enumerate(totals):
            over = total - cap
            if over <= 0:
                continue
            cut_total = 0
            for k in order:
                col = per_bucket[k]
                assert col is not None
                take = min(over, col[i])
                if take:
                    col[i] -= take
                    cuts[k][i] = take
                    over -= take
                    cut_total += take
                    if not over:
                        break
            if cut_total:
                undistributed += cut_total
                warnings.append(
                    {
                        "code": "cap_applied",
                        "household": ids[i],
                        "cut_fen": cut_total,
                        "message": f"{ids[i]} 合计超过每户上限 {format_yuan(cap)} 元，削减 {format_yuan(cut_total)} 元",
                    }
                )
        for k, info in enumerate(summary):
            cut = sum(cuts[k].values())
            if cut:
                info["cut_by_cap_fen"] = cut
                info["distributed_fen"] -= cut

    lines: list[dict[str, Any]] = []
    add_line = lines.append
    household_totals = [0] * n
    fy = format_yuan
    for k, b in enumerate(buckets):
        col = per_bucket[k]
        if col is None:
            continue
        mode, explain, weights, whole, den = plans[k]
        name = b["name"]
        cut_of = cuts[k]
        whole_text = fy(whole) if mode == "scaled" else format_decimal(whole, den)
        for i, amt in enumerate(col):
            if not amt:
                continue
            household_totals[i] += amt
            cut = cut_of.get(i, 0) if cut_of else 0
            before = amt + cut
            if mode == "full":
                basis = f"{explain[i]}，全额支付 {fy(before)} 元"
            elif mode == "scaled":
                basis = (
                    f"{explain[i]}，本项不足，按工资比例 {fy(weights[i])}/{whole_text} 支付 {fy(before)} 元"
                )
            else:
                basis = (
                    f"{explain[i]}，占权重 {format_decimal(weights[i], den)}/{whole_text} → {fy(before)} 元"
                )
            if cut:
                basis += f"；超过每户上限 {fy(cap or 0)} 元，削减 {fy(cut)} 元，实得 {fy(amt)} 元"
            add_line({"household": ids[i], "bucket": name, "amount_fen": amt, "basis": basis})

    scope = "、".join(STATUSES[s] for s in eligible_statuses) or "无"
    excluded = [
        {
            "household": ids[i],
            "reason": "status",
            "status": statuses[i],
            "basis": f"身份为{STATUSES[statuses[i]]}，不在本次受益范围（{scope}）内",
        }
        for i in range(n)
        if not eligible[i]
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
        "households": {hid: total for hid, total in zip(ids, household_totals, strict=True) if total},
        "retained_fen": retained,
        "undistributed_fen": undistributed,
        "excluded": excluded,
        "warnings": warnings,
    }


def _household(issues: Issues, index: dict[str, int], ref: object, path: str) -> int | None:
    i = index.get(ref) if isinstance(ref, str) else None
    if i is None:
        shown = f'"{ref}"' if isinstance(ref, str) else str(ref)
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
    eligible: list[bool],
    labors: list[int],
    members: list[int],
    points: list[int],
    earnings: list[int],
    posts: list[list[str] | None],
    point_scale: int,
) -> tuple[list[int], list[str]]:
    """Integer weights per household for a bucket, and the first part of each line's basis."""
    rule = b["rule"]
    n = len(eligible)
    weights = [0] * n
    explain = [""] * n
    by_person = b.get("per") == "person"
    if rule == "wages":
        for i in range(n):
            if eligible[i] and earnings[i]:
                weights[i] = earnings[i]
                notes = posts[i] or []
                explain[i] = f"公益岗位 {' + '.join(notes)} = 工资 {format_yuan(earnings[i])} 元"
        return weights, explain
    if rule == "direct_support":
        for i in range(n):
            if eligible[i] and labors[i] == 0:
                weights[i] = members[i] if by_person else 1
                explain[i] = (
                    f"无劳动能力户，兜底保障按 {members[i]} 人计"
                    if by_person
                    else "无劳动能力户，兜底保障按户计"
                )
        return weights, explain
    if rule == "equal":
        for i in range(n):
            if eligible[i]:
                weights[i] = members[i] if by_person else 1
                explain[i] = f"均等分配，按 {members[i]} 人计" if by_person else "均等分配，按户计"
        return weights, explain
    # tiered: thresholds and weights at common scales so every comparison is in integers
    tiers: list[tuple[tuple[int, int], tuple[int, int]]] = b["_tiers"]
    weight_den = max(w[1] for _, w in tiers)
    b["_weight_den"] = weight_den
    thresholds = [lo[0] * (point_scale // lo[1]) for lo, _ in tiers]
    tier_weights = [w[0] * (weight_den // w[1]) for _, w in tiers]
    tier_texts = [
        f"第 {t + 1} 档（≥{format_decimal(*lo)} 分）权重 {format_decimal(*wt)}"
        for t, (lo, wt) in enumerate(tiers)
    ]
    tier_of = [-1] * n
    for i in range(n):
        if not eligible[i] or labors[i] == 0:
            continue
        p = points[i]
        t = bisect_right(thresholds, p) - 1  # the highest tier whose threshold is reached
        tier_of[i] = t
        pts = format_decimal(p, point_scale)
        if t < 0:
            explain[i] = f"积分 {pts} 分，未达最低档"
            continue
        if by_person:
            weights[i] = tier_weights[t] * members[i]
            explain[i] = f"积分 {pts} 分，{tier_texts[t]} × {members[i]} 人"
        else:
            weights[i] = tier_weights[t]
            explain[i] = f"积分 {pts} 分，{tier_texts[t]}"
    b["_tier_of"] = tier_of
    return weights, explain


def _flat_warning(
    b: dict[str, Any],
    amounts: list[int],
    labors: list[int],
    *,
    explain_tiers: list[int] | None,
    warnings: list[dict[str, Any]],
) -> None:
    """泛福利化: equal hand-outs to people able to work, or a tiered bucket that did not differentiate."""
    rule = b["rule"]
    name = b["name"]
    if rule == "equal":
        if any(amt and labor for amt, labor in zip(amounts, labors, strict=True)):
            warnings.append(
                {
                    "code": "flat_distribution",
                    "bucket": name,
                    "message": f"{name}：向有劳动能力的户均等发放，存在泛福利化倾向",
                }
            )
    elif rule == "tiered" and explain_tiers is not None:
        tiers_hit = [t for amt, labor, t in zip(amounts, labors, explain_tiers, strict=True) if amt and labor]
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
