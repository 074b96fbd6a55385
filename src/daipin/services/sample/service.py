"""The sample district: a deterministic, fictitious 东安区 with villages, households, entities, projects and contracts.

ID numbers carry a correct checksum but are fictitious: every one has `99` in its
sequence digits (positions 15–16). Phones start `1390000`, bank accounts `62170000`.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Household, Person, Region
from daipin.domain.actors import Actor
from daipin.domain.contracts import needs_decision
from daipin.domain.errors import Conflict, InputError
from daipin.domain.identity import make_resident_id, make_uscc
from daipin.domain.localtime import beijing_date
from daipin.services.contracts import service as contract_svc
from daipin.services.obligations import service as obligations
from daipin.services.registry import service as reg
from daipin.services.runs import service as run_svc
from daipin.services.villages import service as village_svc

DISTRICT = ("231002", "东安区")
TOWNSHIPS = [("231002001", "兴隆镇"), ("231002002", "五林镇"), ("231002003", "海南朝鲜族乡"),
             ("231002004", "铁岭镇")]
VILLAGES = [
    ("231002001001", "兴隆村", True, True), ("231002001002", "新民村", False, False),
    ("231002001003", "长安村", True, False), ("231002002001", "五林村", True, True),
    ("231002002002", "胜利村", False, False), ("231002002003", "红星村", True, False),
    ("231002003001", "海南村", True, True), ("231002003002", "中兴村", False, False),
    ("231002004001", "铁岭村", True, False), ("231002004002", "太平村", False, False),
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅建国志文海林春凤云飞宏宇新波德福生永昌学成"
CAUSES = ("因病", "因残", "因学", "缺技术", "缺劳力", "缺资金", "自身发展动力不足")
ENTITY_NAMES = [
    ("兴隆黑木耳种植专业合作社", "cooperative"), ("东安区五林食品加工有限公司", "enterprise"),
    ("海南朝鲜族乡民俗旅游有限公司", "enterprise"), ("铁岭镇光伏发电有限公司", "enterprise"),
    ("新民村股份经济合作社", "village_collective"), ("长安肉牛养殖家庭农场", "family_farm"),
    ("胜利村农机服务专业合作社", "cooperative"), ("红星蔬菜大棚家庭农场", "family_farm"),
    ("中兴蜂业有限公司", "enterprise"), ("太平村股份经济合作社", "village_collective"),
    ("五林生猪养殖专业合作社", "cooperative"), ("兴隆粮食收储有限公司", "enterprise"),
]
USCC_PREFIX = {"enterprise": "91", "cooperative": "93", "family_farm": "92", "village_collective": "59"}
CATEGORY = ["特色种养业", "农副产品加工业", "乡村旅游", "光伏", "特色种养业", "特色种养业", "农业生产社会化服务",
            "设施农业", "特色种养业", "设施农业", "特色种养业", "农副产品加工业"]
YEAR = 2025


def is_loaded(session: Session) -> bool:
    return session.scalar(select(Region.id).where(Region.code == DISTRICT[0])) is not None


MIN_HOUSEHOLDS, MAX_HOUSEHOLDS = 30, 1000  # households per village the sample district is made with


def load_sample(session: Session, actor: Actor, at: datetime, households_per_village: int = 30,
                seed: int = 20250101) -> dict[str, int]:
    """Generate and load the sample district through the services (validated, ledgered). Refuses a second load."""
    if is_loaded(session):
        raise Conflict("示例区已经载入", "the sample district is already loaded", field="sample")
    if (isinstance(households_per_village, bool) or not isinstance(households_per_village, int)
            or not MIN_HOUSEHOLDS <= households_per_village <= MAX_HOUSEHOLDS):
        raise InputError(f"每村户数应在 {MIN_HOUSEHOLDS} 至 {MAX_HOUSEHOLDS} 之间（示例区每村的协议需要足够的贫困户和监测户）",
                         f"households per village must be {MIN_HOUSEHOLDS} to {MAX_HOUSEHOLDS} (each village's sample "
                         "contracts need enough poor and monitored households)", field="households_per_village")
    rng = random.Random(seed)
    counts = {"regions": 0, "households": 0, "people": 0, "entities": 0, "projects": 0, "assets": 0,
              "contracts": 0, "work_records": 0, "plans": 0, "representatives": 0}
    reg.create_region(session, actor, code=DISTRICT[0], name=DISTRICT[1], level="district", at=at)
    for code, name in TOWNSHIPS:
        reg.create_region(session, actor, code=code, name=name, level="township", at=at)
    for code, name, poor, key in VILLAGES:
        reg.create_region(session, actor, code=code, name=name, level="village", poor_village=poor,
                          key_village=key, at=at)
    counts["regions"] = 1 + len(TOWNSHIPS) + len(VILLAGES)

    used_ids: set[str] = set()
    village_households: dict[str, list[Household]] = {}
    for vi, (vcode, _vname, poor, _key) in enumerate(VILLAGES):
        hhs = []
        for n in range(households_per_village):
            members = _members(rng, used_ids)
            status = rng.choices(["poor", "monitored", "exited", "non_poor"], weights=[4, 2, 3, 1] if poor
                                 else [2, 2, 4, 2])[0]
            hh = reg.register_household(
                session, actor, household_no=f"{vcode}{n + 1:04d}", village_code=vcode, status=status,
                members=members, at=at, status_since=date(2016 + rng.randrange(4), 1 + rng.randrange(12), 1),
                exit_year=2018 + rng.randrange(3) if status == "exited" else None,
                poverty_cause=rng.choice(CAUSES), phone=f"1390000{vi:02d}{n:02d}",
                bank_account=f"62170000{vi:04d}{n:06d}")
            hhs.append(hh)
            counts["people"] += len(members)
        village_households[vcode] = hhs
        counts["households"] += len(hhs)
        # The village's representatives (村民代表): one per five households, the head of the first of each five.
        for hh in hhs[::5]:
            head = session.scalar(select(Person.id).where(Person.household_id == hh.id, Person.relation == "户主"))
            if head is not None:
                village_svc.add_representative(session, actor, vcode, person_id=head, from_date=date(YEAR - 1, 1, 1),
                                               at=at)
                counts["representatives"] += 1

    entities = []
    for i, (name, kind) in enumerate(ENTITY_NAMES):
        body = f"{USCC_PREFIX[kind]}231002MA{i:02d}{rng.randrange(10**5):05d}"
        entities.append(reg.register_entity(
            session, actor, name=name, kind=kind, uscc=make_uscc(body[:17]), legal_representative=_name(rng),
            county_code=DISTRICT[0], region_code=VILLAGES[i % len(VILLAGES)][0][:9], at=at))
        if i % 4 != 3:  # a few entities lack insurance: the risk register should see them
            reg.add_insurance_policy(session, actor, entities[-1].id, insurer="中国人民财产保险黑龙江分公司",
                                     policy_no=f"PICC-2025-{i:04d}", valid_from=date(2025, 1, 1),
                                     valid_to=date(2025, 12, 31), coverage="农业保险", at=at)
    counts["entities"] = len(entities)

    seq = 0
    decided: dict[str, list[dict[str, Any]]] = {}
    for i, e in enumerate(entities):
        vcode = VILLAGES[i % len(VILLAGES)][0]
        pcode = f"DA-{YEAR - 3 + i % 3}-{i + 1:03d}"
        grant = 500_000_00 + rng.randrange(20) * 10_000_00
        project, _warn = reg.register_project(
            session, actor, code=pcode, name=f"{e.name}带贫项目", category=CATEGORY[i], entity_id=e.id,
            township_code=vcode[:9], village_code=vcode, expected_return=["0.06", "0.08", "0.025", "0.12", "0.22"][i % 5],
            funding=[{"source": "财政扶贫资金", "amount_fen": grant},
                     {"source": "涉农整合资金", "amount_fen": grant // 2},
                     {"source": "自筹", "amount_fen": grant // 4}], start_year=YEAR - 3 + i % 3, at=at)
        counts["projects"] += 1
        asset = reg.register_asset(session, actor, code=f"ZC-{pcode}", name=f"{project.name}资产", kind="operating",
                                   value_fen=grant + grant // 2, project_id=project.id, owner_region_code=vcode,
                                   operator_entity_id=e.id, status="in_use", at=at)
        reg.add_valuation(session, actor, asset.id, valuer="牡丹江正信资产评估有限公司", valued_on=date(2024, 12, 1),
                          value_fen=grant + grant // 2 - rng.randrange(50) * 10_000_00 // 10,
                          report_ref=f"正信评报字〔2024〕第{100 + i}号", at=at)
        counts["assets"] += 1
        hhs = [h for h in village_households[vcode] if h.status in ("poor", "monitored")]
        others = [h for h in village_households[vcode] if h.status not in ("poor", "monitored")]

        def sign(model: str, terms: dict[str, Any], *, household: Household | None = None,
                 person: int | None = None, start: date = date(YEAR - 1, 1, 1), end: date = date(YEAR + 2, 12, 31),
                 project_id: int = project.id, vcode: str = vcode) -> Any:
            nonlocal seq
            seq += 1
            counts["contracts"] += 1
            if needs_decision(model, terms):
                # Committing quantified funds or the village's assets: the village's contract matter decides it.
                item: dict[str, Any] = {"code": f"HT-{YEAR}-{seq:04d}", "model": model, "project": project_id,
                                        "start_date": start.isoformat(),
                                        "end_date": end.isoformat(), "terms": terms}
                if household is not None:
                    item["payee_household_no"] = household.household_no
                else:
                    item["payee_village_code"] = vcode
                decided.setdefault(vcode, []).append(item)
                return None
            return contract_svc.sign_contract(
                session, actor, code=f"HT-{YEAR}-{seq:04d}", model=model, project_id=project_id, start_date=start,
                end_date=end, terms=terms, payee_household_id=household.id if household else None,
                payee_village_code=None if household else vcode, person_id=person, at=at)

        sign("asset_lease", {"asset_code": asset.code, "annual_rent_fen": grant * 6 // 100})
        sign("equity_dividend", {"profit_share": "0.1", "annual_floor_fen": grant * 3 // 100})
        sign("fixed_interest", {"basis": "capital", "principal_fen": 10_000_00 * (1 + rng.randrange(5)),
                                "annual_rate": "0.06"}, household=hhs[0], start=date(YEAR, 4, 1))
        sign("trusteeship", {"asset_kind": "land", "unit": "mu", "units": f"{5 + rng.randrange(20)}.5",
                             "annual_fen_per_unit": 450_00, "duties": ["购买农业保险", "灾害损失按约补偿"]},
             household=hhs[1])
        sign("trusteeship", {"asset_kind": "livestock", "unit": "head", "units": str(2 + rng.randrange(4)),
                             "annual_fen_per_unit": 800_00, "duties": ["牲畜保险", "死亡按评估价赔偿"]},
             household=hhs[2])
        sign("order_purchase", {"buyer": e.name, "product": "黑木耳干品", "quantity": str(500 + rng.randrange(2000)),
                                "unit": "斤", "price_rule": "market_with_floor", "floor_price_fen": 3_00,
                                "market_price_fen": 2_60 + rng.randrange(80),
                                "delivery_schedule": ["每年9月底前交货"]}, household=hhs[3])
        worker_hh = hhs[4]
        worker = next(p for p in reg.members(session, worker_hh.id) if p.relation == "户主")
        emp = sign("employment", {"position": "生产工人", "hours": "每日8小时", "wage_basis": "day",
                                  "wage_fen": 150_00, "pay_cycle": "monthly"}, household=worker_hh, person=worker.id)
        for month in (4, 6, 8, 10):
            worked = 15 + rng.randrange(10)
            reg.record_work(session, actor, kind="employment", household_id=worker_hh.id, person_id=worker.id,
                            contract_id=emp.id, period_start=date(YEAR, month, 1), period_end=date(YEAR, month, 28),
                            days=str(worked), daily_wage_fen=150_00, at=at)
            counts["work_records"] += 1
            # Wages paid on the 10th of the next month; a cash-short entity still owes October's.
            # (Only wages already paid on the day the sample is loaded.)
            if not (i % 4 == 0 and month == 10) and date(YEAR, month + 1, 10) <= beijing_date(at):
                obligations.record_wage_payment(session, actor, contract=emp.id, paid_on=date(YEAR, month + 1, 10),
                                                amount_fen=150_00 * worked, note=f"{month}月工资", at=at)
        sign("shareholding", {"contribution_kind": "quantified_fund", "contribution_value_fen": 5_000_00,
                              "shares": "5000", "profit_share": "0.01", "annual_floor_fen": 400_00},
             household=hhs[5])
        sign("shareholding", {"contribution_kind": "land_rights", "contribution_value_fen": 8_000_00,
                              "shares": "8000", "profit_share": "0.012"}, household=others[0])
        sign("fund_support", {"amount_fen": 20_000_00, "purpose": "购买种牛", "support_type": "revolving",
                              "repayment_schedule": [{"due": f"{YEAR + 1}-12-31", "amount_fen": 10_000_00},
                                                     {"due": f"{YEAR + 2}-12-31", "amount_fen": 10_000_00}]},
             household=hhs[6])
        profit = rng.choice([-30_000_00, 40_000_00, 120_000_00, 260_000_00])
        total_due_guess = grant * 6 // 100 + grant * 3 // 100
        reg.record_profit(session, actor, project.id, period_start=date(YEAR, 1, 1), period_end=date(YEAR, 12, 31),
                          profit_fen=profit, at=at, audit_ref=f"东审字〔{YEAR + 1}〕{i + 1}号",
                          cash_available_fen=total_due_guess // 2 if i % 4 == 0 else None)

    for vcode, _vname, poor, _key in VILLAGES:
        hhs = village_households[vcode]
        for n, hh in enumerate(hhs):
            if n % 5 == 1:
                reg.record_work(session, actor, kind="public_welfare_post", household_id=hh.id,
                                post=reg.POSTS[n % len(reg.POSTS)], period_start=date(YEAR, 3, 1),
                                period_end=date(YEAR, 11, 30), days=str(60 + rng.randrange(120)),
                                daily_wage_fen=50_00 + 10_00 * rng.randrange(3), at=at)
                counts["work_records"] += 1
            if n % 3 == 0:
                reg.record_contribution(session, actor, household_id=hh.id, year=YEAR,
                                        points=str(rng.randrange(0, 240)), reason="参与村集体劳动", at=at)
        run_svc.save_allocation_plan(
            session, actor, village_code=vcode, year=YEAR, pool_fen=(300_000_00 if poor else 150_000_00),
            buckets=[{"name": "公益岗位", "share": "0.6", "rule": "wages"},
                     {"name": "兜底保障", "share": "0.15", "rule": "direct_support", "per": "person"},
                     {"name": "奖励补助", "share": "0.15", "rule": "tiered", "per": "household",
                      "tiers": [{"min_points": 0, "weight": "0"}, {"min_points": 30, "weight": "1"},
                                {"min_points": 100, "weight": "2"}, {"min_points": 200, "weight": "3"}]},
                     {"name": "小型公益事业", "share": "0.1", "rule": "retain"}],
            cap_per_household_fen=20_000_00, at=at)
        counts["plans"] += 1
    for vcode, items in decided.items():
        decide_contracts(session, actor, vcode, items, at)
    return counts


def decide_contracts(session: Session, actor: Actor, village: str, items: list[dict[str, Any]],
                     at: datetime) -> int:
    """Take a village's contracts that commit quantified funds or its assets through the decision path
    (representatives' meeting, township review, 10 days' notice) and sign them by executing it. The steps are
    dated in the past (40 days before `at`) so the windows have run their course. Returns the matter's id."""
    from daipin.services.matters import service as wf

    t = at - timedelta(days=40)
    m = wf.draft_matter(session, actor, kind="contract", region=village, title=f"{YEAR}年度资产收益类利益联结协议",
                        document={"kind": "contract", "contracts": items}, at=t,
                        justification="以扶贫项目资产和量化资金签订收益协议，收益用于村级分配和到户分红")
    mt = wf.call_meeting(session, actor, m.id, type="representatives_meeting", scheduled_at=t + timedelta(days=11),
                         place="村委会议室", at=t)
    n = mt.eligible_representatives
    t += timedelta(days=11, hours=1)
    wf.record_attendance(session, actor, m.id, at=t, present_representatives=n, first_secretary_present=True)
    wf.record_votes(session, actor, m.id, at=t, votes_for=n, against=0, abstain=0)
    wf.decide(session, actor, m.id, at=t)
    wf.submit_for_review(session, actor, m.id, at=t)
    t += timedelta(hours=2)
    wf.review(session, actor, m.id, decision="approve", comments="协议条款与项目资产登记一致", at=t)
    wf.publish_notice(session, actor, m.id, at=t)
    t += timedelta(days=11)
    wf.close_notice(session, actor, m.id, at=t)
    wf.execute(session, actor, m.id, at=t)
    return m.id


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _members(rng: random.Random, used: set[str]) -> list[dict[str, Any]]:
    size = rng.choices([1, 2, 3, 4, 5], weights=[2, 4, 3, 3, 1])[0]
    head_birth = date(1940 + rng.randrange(45), 1 + rng.randrange(12), 1 + rng.randrange(28))
    surname = rng.choice(SURNAMES)
    plan = [("户主", head_birth, rng.choice("MF"))]
    if size >= 2:
        plan.append(("配偶", date(head_birth.year + rng.randrange(-3, 4), 1 + rng.randrange(12),
                                1 + rng.randrange(28)), "F" if plan[0][2] == "M" else "M"))
    for _ in range(size - len(plan)):
        sex = rng.choice("MF")
        plan.append(("子" if sex == "M" else "女", date(min(head_birth.year + 20 + rng.randrange(15), 2020),
                                                         1 + rng.randrange(12), 1 + rng.randrange(28)), sex))
    out = []
    for relation, birth, sex in plan:
        while True:
            # Older people's numbers carry the province's code (fictitious data; 东安区's own 231002, in force since
            # 1983, would be valid too: a number is coded when it is assigned).
            region = DISTRICT[0] if birth.year >= 1985 else "230000"
            number = make_resident_id(region, birth, 99 + 100 * rng.randrange(5), sex)
            if number not in used:
                break
            birth = date(birth.year, birth.month, 1 + rng.randrange(28))
        used.add(number)
        age = YEAR - birth.year
        labor = "none" if age >= 70 or age < 16 else ("weak" if age >= 60 or rng.random() < 0.15 else "full")
        given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        out.append({"name": (surname if relation != "配偶" else rng.choice(SURNAMES)) + given, "id_number": number,
                    "relation": relation, "labor": labor})
    return out


def people_count(session: Session) -> int:
    return len(session.scalars(select(Person.id)).all())
