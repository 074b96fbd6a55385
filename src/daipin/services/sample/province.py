"""The synthetic province: counties, townships, villages, households and people, entities, projects, contracts and
plans, deterministic from a seed, loaded through the bulk paths, every row stated in the ledger.

Sizes are options (`ProvinceSize`); the defaults are a province: 10 counties, 150 townships, 3,000 villages,
300,000 households, 1,000,000 people, 10,000 entities each with one project, 1,000,000 contracts, 3,000,000
payment lines. Small sizes
(tests) run the same code.

How each part is loaded:
- regions, entities, projects, funding, profit records, assets, contracts and their first versions, allocation
  plans: rows formed here with ids drawn up front, inserted in bulk (`_insert`), and stated in the ledger by
  `province.rows` entries of up to `ROWS_PER_ENTRY` row facts each (`facts["rows"]`, the row states the
  registry's own entries digest), region the county, so `daipin ledger verify` checks every row;
- households and people: one roster file in the import's template, loaded by `imports.import_households` (the
  import's bulk path: COPY on PostgreSQL, its batch entries in the ledger). Every person row is written there, by
  the import's one row writer, so what the import does to an ID number at rest applies here too;
- history (three years, `YEARS` ending at `year`): a profit record per project and year and a plan per village
  and year; status changes, exits and deaths through the dynamic-management services (their own entries);
- rosters: every village's beneficiary roster of the last year confirmed (`_confirm_rosters`: matter rows stated by
  `province.rows` entries), so a close of that year drafts every village's allocation matter.
- paid history (`_payment_history`, the last section of `load_province`): every year of the history before the
  last (the last is the year `daipin year close` closes and drafts matters for), each village's allocation decided,
  executed and paid as the system holds it: an archived village_allocation matter (its pool's key), its run (the
  year close's document from the plan, computed by the engine), a payment batch, the bank files out and back
  (digests and counts), the lines paid with their accounts' digests and serials (`payment_receipts`); then the
  township's 到户补助 in instalments (township_project matters, a batch each) until the lines reach
  `ProvinceSize.lines` (10 per household by default: 3,000,000 at the default size), a few failed and paid again
  or written off. Rows by `_insert`, row facts in `province.rows` entries (the lines' by `bankfiles.line_facts`).

Resident ID numbers carry the county's own code, a birth date, a sequence with the sex digit and a GB 11643
check digit; credit codes (GB 32100) the county's code and a GB 32100 check character. Every value comes from one
`random.Random(seed)` drawn in a fixed order, so the same seed and sizes give the same rows (`data_digest`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, TypeDecorator, func, insert, select, text
from sqlalchemy.orm import Session

from daipin.db.models import registry as m
from daipin.db.models import workflow as wm
from daipin.db.session import generic_plans
from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.domain.errors import Conflict, InputError
from daipin.domain.identity import make_uscc
from daipin.ledger import store
from daipin.services.imports import service as imports
from daipin.services.shared import rows as shared_rows

# Counties of one province (黑龙江省: 牡丹江市 and 佳木斯市), GB/T 2260 codes in force today.
COUNTIES: tuple[tuple[str, str], ...] = (
    ("231002", "东安区"), ("231003", "阳明区"), ("231004", "爱民区"), ("231005", "西安区"), ("231025", "林口县"),
    ("231081", "绥芬河市"), ("231083", "海林市"), ("231084", "宁安市"), ("231085", "穆棱市"), ("231086", "东宁市"),
    ("230803", "向阳区"), ("230804", "前进区"), ("230805", "东风区"), ("230811", "郊区"), ("230822", "桦南县"),
    ("230826", "桦川县"), ("230828", "汤原县"), ("230881", "同江市"), ("230882", "富锦市"), ("230883", "抚远市"),
)
PLACE = "安平兴隆福寿长乐永和新民太平红星胜利东升前进光明幸福团结丰收育才朝阳建设富强民主"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅建国志文海林春凤云飞宏宇新波德福生永昌学成"
CAUSES = ("因病", "因残", "因学", "缺技术", "缺劳力", "缺资金", "自身发展动力不足")
KINDS = (("cooperative", "93", "专业合作社"), ("enterprise", "91", "有限公司"), ("family_farm", "92", "家庭农场"),
         ("village_collective", "59", "股份经济合作社"))
PRODUCTS = (("黑木耳", "特色种养业"), ("肉牛", "特色种养业"), ("食品", "农副产品加工业"), ("光伏", "光伏"),
            ("蔬菜大棚", "设施农业"), ("民俗旅游", "乡村旅游"), ("农机服务", "农业生产社会化服务"), ("蜂业", "特色种养业"))
STATUS_LABEL = {"poor": "贫困户", "monitored": "监测户", "exited": "脱贫户", "non_poor": "一般户"}
LABOR_LABEL = {"full": "有劳动能力", "weak": "弱劳动力", "none": "无劳动能力"}
ROWS_PER_ENTRY = 1000  # row facts per `province.rows` ledger entry
INSERT_CHUNK = 5000  # rows per bulk insert
YEARS = 3  # years of history, the last one `year`
HOUSEHOLD_MODELS = ("fixed_interest", "trusteeship", "order_purchase", "employment", "shareholding", "fund_support")
BUCKETS: list[dict[str, Any]] = [
    {"name": "公益岗位", "share": "0.6", "rule": "wages"},
    {"name": "兜底保障", "share": "0.15", "rule": "direct_support", "per": "person"},
    {"name": "奖励补助", "share": "0.15", "rule": "tiered", "per": "household",
     "tiers": [{"min_points": 0, "weight": "0"}, {"min_points": 30, "weight": "1"}, {"min_points": 100, "weight": "2"},
               {"min_points": 200, "weight": "3"}]},
    {"name": "小型公益事业", "share": "0.1", "rule": "retain"},
]


@dataclass(frozen=True)
class ProvinceSize:
    counties: int = 10
    townships: int = 150
    villages: int = 3000
    households: int = 300_000
    people: int = 1_000_000
    entities: int = 10_000  # one project each
    contracts: int = 1_000_000
    events: int = 3000  # status changes, exits and deaths through the dynamic-management services
    # Payment lines of the paid history (`_payment_history`); None: 10 per household (3,000,000 at the default size).
    payment_lines: int | None = None

    @property
    def lines(self) -> int:
        return 10 * self.households if self.payment_lines is None else self.payment_lines

    def check(self) -> None:
        def bad(name: str, zh: str, en: str) -> InputError:
            return InputError(zh, en, field=name)

        if not 1 <= self.counties <= len(COUNTIES):
            raise bad("counties", f"县数应在 1 至 {len(COUNTIES)} 之间", f"counties must be 1 to {len(COUNTIES)}")
        if not self.counties <= self.townships <= 999 * self.counties:
            raise bad("townships", "乡镇数应不少于县数（每县至多999个）", "townships must be at least the counties (999 each)")
        if not self.townships <= self.villages <= 999 * self.townships:
            raise bad("villages", "村数应不少于乡镇数（每乡镇至多999个）", "villages must be at least the townships")
        if not self.villages <= self.households <= 9999 * self.villages:
            raise bad("households", "户数应不少于村数（每村至多9999户）", "households must be at least the villages")
        if not self.households <= self.people <= 6 * self.households:
            raise bad("people", "人数应在户数的1至6倍之间", "people must be 1 to 6 times the households")
        if not self.counties <= self.entities <= self.households:
            raise bad("entities", "实施主体数应不少于县数、不多于户数", "entities must be at least the counties")
        if not 2 * self.entities <= self.contracts <= 1000 * self.entities:
            raise bad("contracts", "协议数应在实施主体数的2至1000倍之间", "contracts must be 2 to 1000 per entity")
        if not 0 <= self.events <= self.households:
            raise bad("events", "变动事件数应在0至户数之间", "events must be 0 to the households")
        if not 0 <= self.lines <= 100 * self.households:
            raise bad("payment_lines", "支付明细数应在0至户数的100倍之间", "payment lines must be 0 to 100 per household")


@dataclass
class Loaded:
    counts: dict[str, int] = field(default_factory=dict)
    counties: list[str] = field(default_factory=list)


def _spread(total: int, parts: int) -> list[int]:
    """`total` items over `parts` parts, as even as can be (the first parts take one more)."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _place(rng: random.Random) -> str:
    return rng.choice(PLACE) + rng.choice(PLACE)


class _Ids:
    """Ids drawn up front per table (so a row's state, its id included, is digested before it is inserted)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.next: dict[str, int] = {}

    def take(self, table: Any) -> int:
        name = table.name
        if name not in self.next:
            self.next[name] = int(self.session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1
        value = self.next[name]
        self.next[name] = value + 1
        return value


class _Plain:
    """A row to be inserted, as an ORM object would hold it (a column not given is None) without the ORM's cost
    per attribute: the contracts and their versions are a million rows each at the default size."""

    def __init__(self, mapped: Any, /, **values: Any) -> None:
        self.__dict__.update(values)
        self.__table__ = mapped.__table__

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return None


def _copyable(table: Any) -> bool:
    """Every column a plain type COPY writes as the ORM's insert would (no sealed or other processed column)."""
    return not any(isinstance(c.type, TypeDecorator) for c in table.columns)


def _insert(session: Session, model: Any, objs: list[Any]) -> None:
    """Insert ORM objects or `_Plain` rows (every column set, ids included) in bulk, without the unit of work: COPY
    on PostgreSQL, an executemany elsewhere."""
    table = model.__table__
    keys = [c.key for c in table.columns]
    if session.get_bind().dialect.name == "postgresql" and _copyable(table) and objs:
        # JSON as the ORM's insert writes it: a Python None is JSON null, not SQL NULL (JSON.none_as_null is off).
        json_cols = {c.key for c in table.columns if isinstance(c.type, JSON)}
        raw: Any = session.connection().connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(keys)}) FROM STDIN") as cp:
            for o in objs:
                cp.write_row(tuple(json.dumps(getattr(o, k), ensure_ascii=False) if k in json_cols
                                   else getattr(o, k) for k in keys))
        return
    for start in range(0, len(objs), INSERT_CHUNK):
        session.execute(insert(table), [{k: getattr(o, k) for k in keys} for o in objs[start:start + INSERT_CHUNK]])


def _fix_sequences(session: Session, tables: Iterable[str]) -> None:
    """After rows were inserted with their own ids, PostgreSQL's sequences continue after them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for t in tables:
        session.execute(text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                             f"(SELECT coalesce(max(id), 1) FROM {t}))"))


def _state(session: Session, objs: list[Any], actor: Actor, at: datetime, what: str) -> int:
    """The ledger entries stating `objs` (row facts as the registry digests them), grouped by county."""
    by_county: dict[str, list[dict[str, str]]] = {}
    for o in objs:
        state = shared_rows.row_state(session, o)
        by_county.setdefault(o.county_code, []).append(store.row_fact(o.__table__.name, o.id, state))
    items = []
    for county, facts in sorted(by_county.items()):
        for start in range(0, len(facts), ROWS_PER_ENTRY):
            part = facts[start:start + ROWS_PER_ENTRY]
            items.append({"type": "province.rows", "actor": f"{actor.role.value}:{actor.id}", "region": county,
                          "subject": f"{objs[0].__table__.name}:{part[0]['id']}-{part[-1]['id']}",
                          "facts": {"what": what, "count": len(part), "rows": part}, "at": at})
    store.append_many(session, items)
    return len(items)


def _load(session: Session, model: Any, objs: list[Any], actor: Actor, at: datetime, what: str) -> None:
    _insert(session, model, objs)
    _state(session, objs, actor, at, what)


def _confirm_rosters(session: Session, actor: Actor, at: datetime, year: int, villages: list[str]) -> int:
    """Every village's beneficiary roster of `year` (收益扶贫对象确认), confirmed: a matter of the village in state
    `executed` listing its households poor or monitored at the year's end (statuses from their history, after the
    events), so a close of `year` drafts every village's allocation (allocations pay a confirmed roster only). The
    rows are loaded here, not walked through meeting, review and notice (a province's 3,000 rosters would take
    longer than the rest), and stated by `province.rows` entries (what: "rosters") with the row facts the ledger
    checks matters by (`workflow_row_state`). The earlier years have none: their allocations cannot be drafted."""
    from daipin.db.models.workflow import Matter
    from daipin.domain.canonical import digest
    from daipin.domain.workflow import MatterKind, pool_key

    year_end = date(year, 12, 31)
    history: dict[int, list[tuple[str, date]]] = {}
    for hid, status, since in session.execute(
            select(m.HouseholdStatus.household_id, m.HouseholdStatus.status, m.HouseholdStatus.from_date)
            .order_by(m.HouseholdStatus.household_id, m.HouseholdStatus.from_date, m.HouseholdStatus.id)):
        history.setdefault(hid, []).append((status, since))
    listed: dict[str, list[dict[str, str]]] = {v: [] for v in villages}
    for hid, number, vcode, status, life, life_date in session.execute(
            select(m.Household.id, m.Household.household_no, m.Household.village_code, m.Household.status,
                   m.Household.life_state, m.Household.life_state_date).order_by(m.Household.household_no)):
        if life != "alive" and life_date is not None and life_date <= year_end:
            continue
        rows = history.get(hid)
        if rows:  # as `registry.status_as_of`: the first status before the history starts
            status = rows[0][0]
            for st, since in rows:
                if since <= year_end:
                    status = st
        if status in ("poor", "monitored") and vcode in listed:
            listed[vcode].append({"id": number, "status": status})
    who, stamp = f"{actor.role.value}:{actor.id}", at.astimezone(UTC)
    kind = MatterKind.BENEFICIARY_ROSTER.value
    first = int(session.scalar(select(func.coalesce(func.max(Matter.id), 0))) or 0) + 1
    rosters: list[Any] = []
    for vcode in villages:
        doc = {"version": 1, "kind": kind, "village": vcode, "year": year, "households": listed[vcode]}
        preview = {"kind": kind, "village": vcode, "year": year, "households": listed[vcode],
                   "count": len(listed[vcode])}
        rosters.append(_Plain(
            Matter, id=first + len(rosters), kind=kind, state="executed", round=1,
            county_code=vcode[:6], region_code=vcode, title=f"{year}年度收益扶贫对象确认", year=year,
            proposer="村民委员会", funding_source="", responsible_person="", justification="", document=doc,
            document_digest=digest(doc), preview=preview, preview_digest=digest(preview), warnings=[],
            approved_document_digest=digest(doc), approved_preview_digest=digest(preview),
            pool_key=pool_key(kind, vcode, year), created_at=stamp, created_by=who, updated_at=stamp))
    _insert(session, Matter, rosters)
    items = []
    for county in sorted({r.county_code for r in rosters}):
        facts = [store.row_fact("matters", r.id, shared_rows.workflow_row_state(session, r))
                 for r in rosters if r.county_code == county]
        for start in range(0, len(facts), ROWS_PER_ENTRY):
            part = facts[start:start + ROWS_PER_ENTRY]
            items.append({"type": "province.rows", "actor": who, "region": county,
                          "subject": f"matters:{part[0]['id']}-{part[-1]['id']}",
                          "facts": {"what": "rosters", "count": len(part), "rows": part}, "at": at})
    store.append_many(session, items)
    _fix_sequences(session, ("matters",))
    return len(rosters)


# The sequences `make_resident_id` takes, none ending in 0: no number ends in zeros a spreadsheet could have made.
SEQUENCES = tuple(s for s in range(500) if s % 10)


_GB11643_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_GB11643_CHECK = "10X98765432"  # by the weighted sum modulo 11


def resident_id(county: str, birth: date, sequence: int, sex: str) -> str:
    """`identity.make_resident_id` for the generator's own well-formed input (a 6-digit county, sex "M" or "F"),
    without its checks and library calls: a million people are numbered per province."""
    seq = sequence % 100 * 10 + (sequence // 100 % 5) * 2 + (1 if sex == "M" else 0)
    body = f"{county}{birth.year:04d}{birth.month:02d}{birth.day:02d}{seq:03d}"
    return body + _GB11643_CHECK[sum(int(c) * w for c, w in zip(body, _GB11643_WEIGHTS, strict=True)) % 11]


def person_id_number(county: str, birth: date, sex: str, used: dict[tuple[str, date, str], int]) -> str:
    """The next free resident ID number of the county, birth date and sex (`SEQUENCES` each; a full day moves the
    birth to the next day)."""
    while True:
        n = used.get((county, birth, sex), 0)
        if n < len(SEQUENCES):
            used[(county, birth, sex)] = n + 1
            return resident_id(county, birth, SEQUENCES[n], sex)
        birth = date.fromordinal(birth.toordinal() + 1)


def _members(rng: random.Random, size: int, county: str, year: int,
             used: dict[tuple[str, date, str], int]) -> list[tuple[str, str, str, str]]:
    """(name, ID number, relation, labour) of a household's members, its head first."""
    head_birth = date(year - 85 + rng.randrange(55), 1 + rng.randrange(12), 1 + rng.randrange(28))
    surname = rng.choice(SURNAMES)
    head_sex = rng.choice("MF")
    plan = [("户主", head_birth, head_sex)]
    if size >= 2:
        plan.append(("配偶", date(head_birth.year + rng.randrange(-3, 4), 1 + rng.randrange(12), 1 + rng.randrange(28)),
                     "F" if head_sex == "M" else "M"))
    for _ in range(size - len(plan)):
        sex = rng.choice("MF")
        plan.append(("子" if sex == "M" else "女", date(min(head_birth.year + 20 + rng.randrange(15), year - YEARS),
                                                         1 + rng.randrange(12), 1 + rng.randrange(28)), sex))
    out = []
    for relation, birth, sex in plan:
        age = year - birth.year
        labor = "none" if age >= 70 or age < 16 else ("weak" if age >= 60 or rng.random() < 0.15 else "full")
        name = (surname if relation != "配偶" else rng.choice(SURNAMES)) + "".join(
            rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        out.append((name, person_id_number(county, birth, sex, used), relation, labor))
    return out


def is_loaded(session: Session) -> bool:
    return session.scalar(select(m.Region.id).limit(1)) is not None


def load_province(session: Session, actor: Actor, at: datetime, *, seed: int = 2026, year: int | None = None,
                  size: ProvinceSize | None = None, progress: Callable[[str], None] | None = None,
                  workdir: Path | None = None, confirm_rosters: bool = True) -> Loaded:
    """Generate the province and load it into an empty registry (a registry holding regions is refused). `year` is
    the last year of its history (default: the year before `at`'s). `confirm_rosters=False` leaves the last year's
    rosters unconfirmed (a close of that year then drafts no allocation). The caller commits.

    On PostgreSQL the whole load keeps one plan per foreign key's check (`generic_plans`): millions of rows are
    inserted under foreign keys, each row's check a prepared statement the connection would otherwise plan anew."""
    with generic_plans(session.connection()):
        return _load_province(session, actor, at, seed=seed, year=year, size=size, progress=progress,
                              workdir=workdir, confirm_rosters=confirm_rosters)


def _load_province(session: Session, actor: Actor, at: datetime, *, seed: int, year: int | None,
                   size: ProvinceSize | None, progress: Callable[[str], None] | None, workdir: Path | None,
                   confirm_rosters: bool) -> Loaded:
    size = size or ProvinceSize()
    size.check()
    year = year or at.year - 1
    if not 2003 <= year <= at.year:
        raise InputError(f"年度 {year} 无效", f"year {year} is invalid", field="year")
    access.require(actor, "region.write")
    if is_loaded(session):
        raise Conflict("区划已存在：合成省份只能载入空库", "regions exist: the synthetic province loads into an empty "
                       "registry only", field="sample")
    say = progress or (lambda _msg: None)
    rng = random.Random(seed)
    ids = _Ids(session)
    out = Loaded()
    years = list(range(year - YEARS + 1, year + 1))

    # ---- regions
    counties = list(COUNTIES[:size.counties])
    for ccode, _cname in counties:  # each county its own ledger (origin, key, lock): its rows are stated in it
        store.ensure_log(session, county=ccode, at=at)
    regions: list[m.Region] = []
    towns: list[tuple[str, str, str]] = []  # (code, name, county)
    villages: list[tuple[str, str, str, bool]] = []  # (code, name, township name, poor)
    town_counts = _spread(size.townships, size.counties)
    village_counts = _spread(size.villages, size.townships)
    t = 0
    for (ccode, cname), nt in zip(counties, town_counts, strict=True):
        regions.append(m.Region(id=ids.take(m.Region.__table__), code=ccode, name=cname, level="district",
                                parent_code=None, poor_village=False, key_village=False, county_code=ccode))
        out.counties.append(ccode)
        for ti in range(nt):
            tcode, tname = f"{ccode}{ti + 1:03d}", f"{_place(rng)}{'镇' if ti % 3 else '乡'}"
            regions.append(m.Region(id=ids.take(m.Region.__table__), code=tcode, name=tname, level="township",
                                    parent_code=ccode, poor_village=False, key_village=False, county_code=ccode))
            towns.append((tcode, tname, ccode))
            for vi in range(village_counts[t]):
                vcode, vname = f"{tcode}{vi + 1:03d}", f"{_place(rng)}{vi + 1}村"
                poor = rng.random() < 0.4
                regions.append(m.Region(id=ids.take(m.Region.__table__), code=vcode, name=vname, level="village",
                                        parent_code=tcode, poor_village=poor, key_village=poor and rng.random() < 0.3,
                                        county_code=ccode))
                villages.append((vcode, vname, tname, poor))
            t += 1
    _load(session, m.Region, regions, actor, at, "regions")
    out.counts["regions"] = len(regions)
    say(f"区划 {len(regions):,}")

    # ---- households and people: one roster through the import's bulk path
    hh_counts = _spread(size.households, size.villages)
    sizes = [size.people // size.households] * size.households
    for i in rng.sample(range(size.households), size.people % size.households):
        sizes[i] += 1
    # Households of more than one member give one to a household of fewer, at random: sizes vary, total stays.
    for _ in range(size.households // 3):
        a, b = rng.randrange(size.households), rng.randrange(size.households)
        if sizes[a] > 1 and sizes[b] < 6:
            sizes[a] -= 1
            sizes[b] += 1
    used: dict[tuple[str, date, str], int] = {}
    payees: dict[str, tuple[str, str]] = {}  # household number: (head's name, bank account), for the payment lines
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        roster = Path(tmp) / "province.csv"
        h = 0
        with roster.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["户编号", "姓名", "证件号码", "与户主关系", "劳动能力", "户类型", "脱贫年度", "所属乡镇", "所属村",
                        "联系电话", "银行账号", "主要致贫原因"])
            for (vcode, _vname, _tname, poor), n in zip(villages, hh_counts, strict=True):
                for k in range(n):
                    status = rng.choices(("poor", "monitored", "exited", "non_poor"),
                                         weights=(4, 2, 3, 1) if poor else (2, 2, 4, 2))[0]
                    exit_year = str(2016 + rng.randrange(5)) if status == "exited" else ""
                    phone = f"139{rng.randrange(10 ** 8):08d}"
                    bank = f"6217{rng.randrange(10 ** 14):014d}{1 + rng.randrange(9)}"
                    cause = rng.choice(CAUSES)
                    members = _members(rng, sizes[h], vcode[:6], year, used)
                    payees[f"{vcode}{k + 1:04d}"] = (members[0][0], bank)
                    for name, number, relation, labor in members:
                        w.writerow([f"{vcode}{k + 1:04d}", name, number, relation, LABOR_LABEL[labor],
                                    STATUS_LABEL[status], exit_year, vcode[:9], vcode, phone, bank, cause])
                    h += 1
        say(f"花名册 {size.households:,} 户 {size.people:,} 人，导入中")
        # Registered on the first day of the history (their first status holds from then), so the events can follow.
        result = imports.import_households(session, actor, roster, datetime(years[0], 1, 1, 2, tzinfo=UTC))
    if not result.imported:
        first = result.errors[0] if result.errors else None
        raise InputError(f"合成花名册未能导入：{first}", f"the synthetic roster did not import: {first}", field="sample")
    out.counts["households"] = result.households_new
    out.counts["people"] = result.people_new
    say(f"农户 {result.households_new:,}，人员 {result.people_new:,}")

    # Each village's households (id, eligible) and each household's head, for the contracts.
    hh_rows: list[Any] = list(session.execute(select(m.Household.id, m.Household.village_code, m.Household.status)
                              .order_by(m.Household.id)))
    by_village: dict[str, list[tuple[int, bool]]] = {}
    for hid, vcode, status in hh_rows:
        by_village.setdefault(vcode, []).append((hid, status in ("poor", "monitored")))
    heads = dict(session.execute(select(m.Person.household_id, m.Person.id).where(m.Person.relation == "户主")).all())

    # ---- entities, projects, funding, profits, assets
    entities: list[m.Entity] = []
    projects: list[m.Project] = []
    funding: list[m.FundingSource] = []
    profits: list[m.ProfitRecord] = []
    assets: list[m.Asset] = []
    per_village = _spread(size.entities, size.villages)
    e = 0
    for (vcode, vname, _tname, _poor), n in zip(villages, per_village, strict=True):
        county = vcode[:6]
        for _ in range(n):
            kind, prefix, suffix = KINDS[e % len(KINDS)]
            product, category = PRODUCTS[rng.randrange(len(PRODUCTS))]
            ent = m.Entity(id=ids.take(m.Entity.__table__), name=f"{vname}{product}{suffix}", kind=kind,
                           uscc=make_uscc(f"{prefix}{county}MA{e:07d}"), legal_representative=_name(rng),
                           region_code=vcode[:9], county_code=county, credit_status="normal", credit_since=None,
                           credit_reason=None)
            entities.append(ent)
            grant = 500_000_00 + rng.randrange(20) * 10_000_00
            start_year = year - 3 + rng.randrange(3)
            pcode = f"P{county}-{e + 1:06d}"
            proj = m.Project(id=ids.take(m.Project.__table__), code=pcode, name=f"{ent.name}带贫项目",
                             category=category, entity_id=ent.id, township_code=vcode[:9], village_code=vcode,
                             county_code=county, expected_return=("0.06", "0.08", "0.025", "0.12")[e % 4],
                             status="operating", start_year=start_year)
            projects.append(proj)
            funding.append(m.FundingSource(id=ids.take(m.FundingSource.__table__), project_id=proj.id,
                                           county_code=county, source="财政扶贫资金", amount_fen=grant))
            for y in years:
                profits.append(m.ProfitRecord(
                    id=ids.take(m.ProfitRecord.__table__), project_id=proj.id, county_code=county,
                    period_start=date(y, 1, 1), period_end=date(y, 12, 31),
                    profit_fen=rng.choice((-30_000_00, 40_000_00, 120_000_00, 260_000_00)),
                    cash_available_fen=None, audit_ref=f"审字〔{y + 1}〕{e + 1}号"))
            assets.append(m.Asset(id=ids.take(m.Asset.__table__), code=f"ZC-{pcode}", name=f"{proj.name}资产",
                                  kind="operating", project_id=proj.id, value_fen=grant, owner_region_code=vcode,
                                  owner_entity_id=None, operator_entity_id=ent.id, status="in_use",
                                  county_code=county))
            e += 1
    for table, objs, what in ((m.Entity, entities, "entities"), (m.Project, projects, "projects"),
                              (m.FundingSource, funding, "funding"), (m.ProfitRecord, profits, "profits"),
                              (m.Asset, assets, "assets")):
        _load(session, table, objs, actor, at, what)
        out.counts[what] = len(objs)
    say(f"实施主体和项目 {len(projects):,}")

    # ---- contracts over every benefit model, and their first versions
    per_project = _spread(size.contracts, len(projects))
    start, end = date(years[0], 1, 1), date(year + 2, 12, 31)
    stamp = at.astimezone(UTC)
    n_contracts = 0
    batch_c: list[Any] = []
    batch_v: list[Any] = []

    def flush() -> None:
        _insert(session, m.Contract, batch_c)
        _insert(session, m.ContractVersion, batch_v)
        _state(session, batch_c + batch_v, actor, at, "contracts")
        batch_c.clear()
        batch_v.clear()

    for proj, asset, ent, n in zip(projects, assets, entities, per_project, strict=True):
        vcode = proj.village_code or ""
        households = by_village.get(vcode, [])
        eligible = [hid for hid, ok in households if ok] or [hid for hid, _ in households]
        grant = asset.value_fen
        for j in range(n):
            payee_hh: int | None = None
            person: int | None = None
            if j == 0:
                model, terms = "asset_lease", {"asset_code": asset.code, "annual_rent_fen": grant * 6 // 100}
            elif j == 1:
                model, terms = "equity_dividend", {"profit_share": "0.1", "annual_floor_fen": grant * 3 // 100}
            else:
                model = HOUSEHOLD_MODELS[(j - 2) % len(HOUSEHOLD_MODELS)]
                payee_hh = eligible[(j - 2) % len(eligible)]
                terms = _terms(rng, model, ent.name, year)
                if model == "employment":
                    person = heads.get(payee_hh)
            n_contracts += 1
            cid = ids.take(m.Contract.__table__)
            c = _Plain(m.Contract, id=cid, code=f"HT-{proj.code}-{j + 1:04d}", model=model, project_id=proj.id,
                           entity_id=ent.id, payee_household_id=payee_hh,
                           payee_village_code=None if payee_hh else vcode, person_id=person, start_date=start,
                           end_date=end, status="active", version=1, terms=terms, signed_on=start,
                           county_code=proj.county_code)
            batch_c.append(c)
            batch_v.append(_Plain(
                m.ContractVersion, id=ids.take(m.ContractVersion.__table__), contract_id=cid, county_code=proj.county_code, version=1,
                terms=terms, start_date=start, end_date=end, status="active", payee_household_id=payee_hh,
                payee_village_code=c.payee_village_code, effective_from=start, reason="签订",
                actor=f"{actor.role.value}:{actor.id}", at=stamp))
            if len(batch_c) >= INSERT_CHUNK:
                flush()
    flush()
    out.counts["contracts"] = n_contracts
    say(f"利益联结协议 {n_contracts:,}")

    # ---- a plan for every village and year
    plans = []
    for y in years:
        for vcode, _vname, _tname, poor in villages:
            plans.append(m.AllocationPlan(
                id=ids.take(m.AllocationPlan.__table__), village_code=vcode, year=y,
                pool_fen=(300_000_00 if poor else 150_000_00) + rng.randrange(100) * 1_000_00, buckets=BUCKETS,
                cap_per_household_fen=20_000_00, eligible_statuses=["poor", "monitored"], status="draft",
                county_code=vcode[:6]))
    _load(session, m.AllocationPlan, plans, actor, at, "plans")
    out.counts["plans"] = len(plans)
    _fix_sequences(session, ("regions", "entities", "projects", "funding_sources", "profit_records", "assets",
                             "contracts", "contract_versions", "allocation_plans"))
    session.flush()

    # ---- history: status changes, exits and deaths through the services
    out.counts.update(_events(session, actor, at, rng, size.events, hh_rows, years))
    say(f"变动事件 {size.events:,}")
    if confirm_rosters:
        out.counts["rosters"] = _confirm_rosters(session, actor, at, year, [v[0] for v in villages])

    # ---- paid history: every earlier year's allocations decided, executed and paid (`_payment_history`)
    out.counts.update(_payment_history(session, actor, at, rng, ids, size.lines, villages, years[:-1], payees))
    say(f"支付明细 {out.counts['payment_lines']:,}")
    return out


def _terms(rng: random.Random, model: str, buyer: str, year: int) -> dict[str, Any]:
    if model == "fixed_interest":
        return {"basis": "capital", "principal_fen": 10_000_00 * (1 + rng.randrange(5)), "annual_rate": "0.06"}
    if model == "trusteeship":
        return {"asset_kind": "land", "unit": "mu", "units": f"{5 + rng.randrange(20)}.5", "annual_fen_per_unit": 450_00,
                "duties": ["购买农业保险", "灾害损失按约补偿"]}
    if model == "order_purchase":
        return {"buyer": buyer, "product": "黑木耳干品", "quantity": str(500 + rng.randrange(2000)), "unit": "斤",
                "price_rule": "market_with_floor", "floor_price_fen": 3_00, "market_price_fen": 2_60 + rng.randrange(80),
                "delivery_schedule": ["每年9月底前交货"]}
    if model == "employment":
        return {"position": "生产工人", "hours": "每日8小时", "wage_basis": "day", "wage_fen": 150_00,
                "pay_cycle": "monthly"}
    if model == "shareholding":
        return {"contribution_kind": "land_rights", "contribution_value_fen": 8_000_00, "shares": "8000",
                "profit_share": "0.012"}
    return {"amount_fen": 20_000_00, "purpose": "购买种牛", "support_type": "revolving",
            "repayment_schedule": [{"due": f"{year + 1}-12-31", "amount_fen": 10_000_00},
                                   {"due": f"{year + 2}-12-31", "amount_fen": 10_000_00}]}


def _events(session: Session, actor: Actor, at: datetime, rng: random.Random, n: int,
            households: list[Any], years: list[int]) -> dict[str, int]:
    """`n` events over the history's years, each through the dynamic-management service: a poor household exits,
    a household becomes monitored, a member dies."""
    from daipin.services.dynamic import service as dynamic

    counts = {"status_changes": 0, "exits": 0, "deaths": 0}
    if n == 0:
        return counts
    picked = sorted(rng.sample(range(len(households)), n))
    for k, i in enumerate(picked):
        hid, _vcode, status = households[i]
        y = years[k * len(years) // n]
        on = date(y, 1 + rng.randrange(12), 1 + rng.randrange(28))
        what = k % 3
        if what == 0 and status in ("poor", "monitored"):
            dynamic.change_household_status(session, actor, hid, "exited", on, "年度脱贫验收", at, exit_year=y)
            counts["exits"] += 1
        elif what == 1 and status in ("exited", "non_poor"):
            dynamic.change_household_status(session, actor, hid, "monitored", on, "纳入防返贫监测", at)
            counts["status_changes"] += 1
        else:
            person = session.scalar(select(m.Person.id).where(m.Person.household_id == hid)
                                    .order_by(m.Person.birth_date, m.Person.id).limit(1))
            if person is not None:
                dynamic.record_death(session, actor, person, on, at)
                counts["deaths"] += 1
    return counts


# ---------------------------------------------------------------- paid history

INSTALMENT_BUCKETS: list[dict[str, Any]] = [{"name": "到户补助", "share": "1", "rule": "equal", "per": "household"}]
INSTALMENT_STATUSES = ["poor", "monitored", "exited"]  # 到户补助 reaches 脱贫户 too (衔接期 policy)
RETRY_EVERY = 97  # every so many instalment batches, one line failed and paid again to the corrected account
WRITE_OFF_EVERY = 211  # every so many instalment batches (offset), one line failed and written off


def _wf_state(obj: Any) -> dict[str, Any]:
    """`rows.workflow_row_state` of a generated matter, batch or file (tables without personal, masked or later
    columns, whose JSON holds no times), without walking its documents value by value."""
    return {c.key: (shared_rows.utc(v).isoformat() if isinstance(v, datetime) else v)
            for c in obj.__table__.columns for v in (getattr(obj, c.key),)}


def _canonical(obj: Any) -> str:
    """`canonical.canonical_json`'s text, without its float check: the engine's documents hold none."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _digest_with(state: dict[str, Any], texts: dict[str, str]) -> str:
    """`store.row_digest(state)` with the canonical texts of the row's documents (`texts`, made once for their own
    digests and for COPY) set into the canonical text of its other columns instead of made again (as
    `yearclose.bulk._run_row_digest`)."""
    shadow = {**state, **{k: f"\x00{k}\x00" for k in texts}}
    text_ = _canonical(store._jsonable(shadow))
    for k, value in texts.items():
        quoted = _canonical(f"\x00{k}\x00")
        assert text_.count(quoted) == 1
        text_ = text_.replace(quoted, value)
    return hashlib.sha256(text_.encode("utf-8")).hexdigest()


def _insert_texts(session: Session, model: Any, objs: list[Any]) -> None:
    """`_insert`, the JSON columns on PostgreSQL sent as the canonical texts the rows carry (`texts_`)."""
    table = model.__table__
    if session.get_bind().dialect.name != "postgresql" or not objs:
        _insert(session, model, objs)
        return
    keys = [c.key for c in table.columns]
    json_cols = {c.key for c in table.columns if isinstance(c.type, JSON)}
    raw: Any = session.connection().connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(keys)}) FROM STDIN") as cp:
        for o in objs:
            texts = o.texts_
            cp.write_row(tuple((texts[k] if k in texts else json.dumps(getattr(o, k), ensure_ascii=False))
                               if k in json_cols else getattr(o, k) for k in keys))


def _insert_dicts(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """`_insert` of rows given as dicts of every column (plain types only): the payment lines and their receipts,
    millions at the default size, without an object each."""
    table = model.__table__
    if not rows:
        return
    keys = [c.key for c in table.columns]
    if session.get_bind().dialect.name == "postgresql":
        get = itemgetter(*keys)
        raw: Any = session.connection().connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(keys)}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(get(row))
        return
    for start in range(0, len(rows), INSERT_CHUNK):
        session.execute(insert(table), rows[start:start + INSERT_CHUNK])


def _state_facts(session: Session, table: str, facts: list[tuple[str, dict[str, str]]], actor: Actor, at: datetime,
                 what: str) -> None:
    """`_state` for row facts made already: (county, fact) pairs, `ROWS_PER_ENTRY` to a `province.rows` entry."""
    by_county: dict[str, list[dict[str, str]]] = {}
    for county, fact in facts:
        by_county.setdefault(county, []).append(fact)
    items = []
    for county, rows in sorted(by_county.items()):
        for start in range(0, len(rows), ROWS_PER_ENTRY):
            part = rows[start:start + ROWS_PER_ENTRY]
            items.append({"type": "province.rows", "actor": f"{actor.role.value}:{actor.id}", "region": county,
                          "subject": f"{table}:{part[0]['id']}-{part[-1]['id']}",
                          "facts": {"what": what, "count": len(part), "rows": part}, "at": at})
    store.append_many(session, items)


class _Chains:
    """Decision chains of the paid history, as executing and paying them leaves them: an archived matter (its
    document and preview the run's input and output, the result announced), its run, the payment batch, the bank
    files out and back (digests and counts: the files themselves are not kept), the lines paid with their accounts'
    digests and the bank's serials (`payment_receipts`). Rows gather per county and year and go in by `flush`."""

    def __init__(self, session: Session, actor: Actor, at: datetime, rng: random.Random, ids: _Ids,
                 payees: dict[str, tuple[str, str]]) -> None:
        from daipin.domain.privacy import salted_digester

        self.session, self.actor, self.at, self.rng, self.ids = session, actor, at, rng, ids
        self.payees = payees
        self.households = dict(session.execute(select(m.Household.household_no, m.Household.id)).all())
        self.pii = salted_digester(store.pinned_salt(session))  # `trace.pii`, the salt read once
        self.label = f"{actor.role.value}:{actor.id}"
        self.known: dict[str, tuple[str, str, str, str, int]] = {}
        self.rows: dict[str, list[Any]] = {t: [] for t in ("runs", "matters", "payment_batches", "payment_files",
                                                          "payment_lines", "payment_receipts")}
        self.counts = {"payment_matters": 0, "payment_batches": 0, "payment_lines": 0}

    def payee(self, hno: str) -> tuple[str, str, str, str, int]:
        """(head's name, account, masked, its salted digest, household id), worked out once per household."""
        got = self.known.get(hno)
        if got is None:
            from daipin.domain.privacy import mask_bank

            name, account = self.payees[hno]
            got = self.known[hno] = (name, account, mask_bank(account), self.pii(account), self.households[hno])
        return got

    def add(self, *, kind: str, region: str, title: str, proposer: str, funding: str, justification: str, year: int,
            month: int, doc: dict[str, Any], out: dict[str, Any], pool_key: str | None, fail: str = "") -> int:
        """One chain; `fail` "retry" (the first payee's line failed, then paid to the corrected account) or
        "write_off" (the last payee's line failed and written off). Returns the lines made."""
        from daipin.domain.privacy import mask_bank
        from daipin.services.matters.service import COMPLAINT_HOTLINE

        county = region[:6]
        ids, label, rows = self.ids, self.label, self.rows
        def day(d: int) -> datetime:
            return datetime(year, month, d, 2, tzinfo=UTC)

        created, executed, sent, returned = day(2), day(8), day(9), day(11)
        retry_sent, retry_paid, written_off, announced, archived = day(14), day(16), day(17), day(21), day(24)
        doc_text, out_text = _canonical(doc), _canonical(out)
        run = _Plain(m.Run, id=ids.take(m.Run.__table__), kind="village_allocation", subject=region, year=year,
                     input_json=doc, output_json=out, input_digest=hashlib.sha256(doc_text.encode()).hexdigest(),
                     output_digest=hashlib.sha256(out_text.encode()).hexdigest(), actor=label, at=executed,
                     ledger_index=None, county_code=county, texts_={"input_json": doc_text, "output_json": out_text})
        rows["runs"].append(run)
        matter_id = ids.take(wm.Matter.__table__)
        pay = [(h, int(v)) for h, v in sorted(out.get("households", {}).items()) if v]
        summary: dict[str, Any] | None = None
        made = 0
        if pay:
            batch_id = ids.take(wm.PaymentBatch.__table__)
            total = sum(v for _, v in pay)
            out1, in1 = ids.take(wm.PaymentFile.__table__), ids.take(wm.PaymentFile.__table__)
            out2 = in2 = None
            if fail == "retry":
                out2, in2 = ids.take(wm.PaymentFile.__table__), ids.take(wm.PaymentFile.__table__)
            lines: list[Any] = []
            retry: dict[str, Any] = {}
            first_file: list[str] = []
            back_file: list[str] = []
            for seq, (hno, amount) in enumerate(pay, start=1):
                name, account, masked, account_digest, household_id = self.payee(hno)
                line: dict[str, Any] = {
                    "id": ids.take(wm.PaymentLine.__table__), "batch_id": batch_id, "county_code": county,
                    "payee_type": "household", "payee_ref": hno, "household_id": household_id,
                    "payee_name": name, "amount_fen": amount, "bank_account_masked": masked,
                    "status": "paid", "paid_at": returned, "payment_ref": "", "failure_reason": "", "seq": seq,
                    "attempt": 1, "retry_of": None, "account_digest": account_digest, "sent_file_id": out1,
                    "sent_at": sent, "return_file_id": in1, "failed_at": None, "written_off_at": None,
                    "write_off_reason": None, "write_off_ref": None}
                if fail == "retry" and seq == 1:
                    old = account[:-4] + f"{(int(account[-4:]) + 7) % 10000:04d}"  # the account before correction
                    line.update(status="requeued", paid_at=None, failure_reason="账户已冻结", failed_at=returned,
                                bank_account_masked=mask_bank(old), account_digest=self.pii(old))
                    retry = dict(line, id=ids.take(wm.PaymentLine.__table__), status="paid", paid_at=retry_paid,
                                 failure_reason="", failed_at=None, seq=len(pay) + 1, attempt=2, retry_of=line["id"],
                                 bank_account_masked=masked, account_digest=account_digest,
                                 sent_file_id=out2, sent_at=retry_sent, return_file_id=in2)
                elif fail == "write_off" and seq == len(pay):
                    line.update(status="written_off", paid_at=None, failure_reason="账户已销户", failed_at=returned,
                                written_off_at=written_off, write_off_reason="账户已销户，户内无人可代为领取",
                                write_off_ref=f"{region[:9]}核销〔{year}〕{len(rows['payment_batches']) + 1}号")
                lines.append(line)
                first_file.append(f"{seq},{line['bank_account_masked']},{amount}")
            if fail == "retry":
                lines.append(retry)
            for line in lines:
                if line["status"] == "paid":
                    line["payment_ref"] = f"LS{line['paid_at']:%Y%m%d}{line['id']:010d}"
                    rows["payment_receipts"].append({"county_code": county, "payment_ref": line["payment_ref"],
                                                     "line_id": line["id"]})
                back_file.append(f"{line['seq']},{line['status']},{line['payment_ref']},{line['amount_fen']}")
            first = [ln for ln in lines if ln["attempt"] == 1]
            failed = sum(1 for ln in first if ln["status"] != "paid")
            files: list[tuple[int | None, str, list[str], datetime, int, int, int]] = [
                (out1, "out", first_file, sent, len(first), 0, 0),
                (in1, "in", back_file[:len(first)], returned, len(first), len(first) - failed, failed)]
            if fail == "retry":
                files += [(out2, "out", back_file[-1:], retry_sent, 1, 0, 0),
                          (in2, "in", back_file[-1:], retry_paid, 1, 1, 0)]
            for fid, direction, text_rows, when, n, paid_n, failed_n in files:
                sent_lines = first if fid in (out1, in1) else lines[-1:]
                rows["payment_files"].append(_Plain(
                    wm.PaymentFile, id=fid, batch_id=batch_id, county_code=county, direction=direction, format="csv",
                    sha256=hashlib.sha256("\n".join(text_rows).encode()).hexdigest(), line_count=n,
                    total_fen=sum(ln["amount_fen"] for ln in sent_lines), paid_count=paid_n, failed_count=failed_n,
                    with_id_number=False, created_at=when, created_by=label))
            live = [ln for ln in lines if ln["status"] != "requeued"]
            status = "settled" if any(ln["status"] == "written_off" for ln in live) else "paid"
            rows["payment_batches"].append(_Plain(
                wm.PaymentBatch, id=batch_id, matter_id=matter_id, pool_key=pool_key or f"matter:{matter_id}",
                run_id=run.id, county_code=county, total_fen=total, status=status, created_at=executed,
                created_by=label))
            rows["payment_lines"].append(lines)  # a batch's lines together: `line_facts` takes them at once
            paid = [ln for ln in live if ln["status"] == "paid"]
            off = [ln for ln in live if ln["status"] == "written_off"]
            summary = {"total_fen": total, "status": status, "paid_count": len(paid),
                       "paid_fen": sum(ln["amount_fen"] for ln in paid), "written_off_count": len(off),
                       "written_off_fen": sum(ln["amount_fen"] for ln in off),
                       "written_off": [{"seq": ln["seq"], "name": ln["payee_name"], "amount_fen": ln["amount_fen"],
                                        "reason": ln["write_off_reason"], "decision": ln["write_off_ref"]}
                                       for ln in off],
                       "lines": [{"name": ln["payee_name"], "amount_fen": ln["amount_fen"], "status": ln["status"]}
                                 for ln in live]}
            made = len(lines)
            self.counts["payment_batches"] += 1
        announcement = {"title": f"关于“{title}”执行结果的公告",
                        "matter": {"id": matter_id, "kind": kind, "title": title, "year": year},
                        "payments": summary, "beneficiaries": None,
                        "complaint_channels": [{"level": "hotline", **COMPLAINT_HOTLINE}],
                        "announced_at": announced.isoformat()}
        rows["matters"].append(_Plain(
            wm.Matter, id=matter_id, kind=kind, state="archived", round=1, county_code=county, region_code=region,
            title=title, year=year, proposer=proposer, project_id=None, entity_id=None, funding_source=funding,
            responsible_person=_name(self.rng), justification=justification, document=doc,
            document_digest=run.input_digest, preview=out, preview_digest=run.output_digest,
            warnings=out.get("warnings", []), source=None, approved_document_digest=run.input_digest,
            approved_preview_digest=run.output_digest, run_id=run.id, announcement=announcement,
            announced_at=announced, archived_at=archived, pool_key=pool_key, created_at=created, created_by=label,
            updated_at=archived,
            texts_={"document": doc_text, "preview": out_text, "announcement": _canonical(announcement)}))
        self.counts["payment_matters"] += 1
        self.counts["payment_lines"] += made
        return made

    def flush(self) -> None:
        """The rows gathered, inserted in bulk (foreign keys' order) and stated in the ledger. On PostgreSQL the
        inserts run from a second thread while this one makes the row facts (`bankfiles._meanwhile`: the server
        takes the rows on one core while Python digests them on the other)."""
        from daipin.services.payments.bankfiles import _meanwhile, line_facts

        session, rows = self.session, self.rows
        lines = [ln for batch in rows["payment_lines"] for ln in batch]

        def db_work(conn: Any) -> None:
            with generic_plans(conn):  # the lines' foreign keys checked with one plan each
                _insert_texts(session, m.Run, rows["runs"])
                _insert_texts(session, wm.Matter, rows["matters"])
                _insert(session, wm.PaymentBatch, rows["payment_batches"])
                _insert(session, wm.PaymentFile, rows["payment_files"])
                _insert_dicts(session, wm.PaymentLine, lines)
                _insert_dicts(session, wm.PaymentReceipt, rows["payment_receipts"])

        def py_work() -> dict[str, list[tuple[str, dict[str, str]]]]:
            facts: dict[str, list[tuple[str, dict[str, str]]]] = {
                "runs": [(r.county_code, {"table": "runs", "id": str(r.id),
                                          "digest": _digest_with(shared_rows.row_state(session, r), r.texts_)})
                         for r in rows["runs"]],
                "matters": [(o.county_code, {"table": "matters", "id": str(o.id),
                                             "digest": _digest_with(_wf_state(o), o.texts_)})
                            for o in rows["matters"]],
                # All the flush's lines in one call (a call per batch of some 70 lines cost more in the call's own
                # work per column than in the lines).
                "payment_lines": list(zip([ln["county_code"] for ln in lines], line_facts(lines, self.pii),
                                          strict=True))}
            for table in ("payment_batches", "payment_files"):
                facts[table] = [(o.county_code, store.row_fact(table, o.id, _wf_state(o))) for o in rows[table]]
            return facts

        facts = _meanwhile(session, db_work, py_work)
        for table in ("runs", "matters", "payment_batches", "payment_files", "payment_lines"):
            _state_facts(session, table, facts[table], self.actor, self.at, "payments")
        for objs in rows.values():
            objs.clear()


def _payment_history(session: Session, actor: Actor, at: datetime, rng: random.Random, ids: _Ids, lines: int,
                     villages: list[tuple[str, str, str, bool]], paid_years: list[int],
                     payees: dict[str, tuple[str, str]]) -> dict[str, int]:
    """The history's paid years (every year before the last: the last is the one `daipin year close` closes and
    whose matters it drafts), each village's allocation decided, executed and paid, and `lines` payment lines in all.

    Per village and year: its village_allocation matter (the pool `village_allocation:<village>:<year>`), run on the
    document `runs.village_allocation_document` builds from the year's plan and the registry as the year close
    does (`yearclose.bulk.CountyRegistry`), computed by the engine, its batch paying the run's households. One
    batch pays a household once (a line per payee and attempt), so the lines beyond those are the township's
    到户补助 paid in instalments through the year (因户施策: township_project matters, one batch each, an equal
    amount to each of up to all of the village's poor, monitored and exited households, run by the engine too): each village and
    year aims at its share of `lines` (as even as can be), a shortfall carried to the next, so the lines made are
    `lines` exactly (unless the allocations alone make more). One instalment batch in `RETRY_EVERY` has a line that
    failed and was paid again to the corrected account, one in `WRITE_OFF_EVERY` a line written off."""
    from daipin.domain.engine import calculate
    from daipin.services.runs import service as runs
    from daipin.services.yearclose.bulk import CountyRegistry

    chains = _Chains(session, actor, at, rng, ids, payees)
    if not paid_years:
        return chains.counts
    places = {v[0]: v for v in villages}
    by_county: dict[str, list[str]] = {}
    for v in villages:
        by_county.setdefault(v[0][:6], []).append(v[0])
    targets = iter(_spread(lines, len(villages) * len(paid_years)))
    want = made = instalments = 0
    with _packed(session, "payment_lines"):
        for county, codes in by_county.items():
            for y in paid_years:
                reg = CountyRegistry(session)
                reg.load_allocations(codes, y)
                plans = {p.village_code: p for p in session.scalars(select(m.AllocationPlan).where(
                    m.AllocationPlan.county_code == county, m.AllocationPlan.year == y))}
                for vcode in codes:
                    want += next(targets)
                    plan = plans.get(vcode)
                    if plan is None:
                        continue
                    _, vname, tname, _ = places[vcode]
                    doc = runs.village_allocation_document(reg, plan, y)
                    made += chains.add(kind="village_allocation", region=vcode, title=f"{vname}{y}年度村级收益分配方案",
                                       proposer="村民委员会", funding="村集体经营性收益", justification="按年度收益分配方案分配",
                                       year=y, month=12, doc=doc, out=calculate(doc),
                                       pool_key=f"village_allocation:{vcode}:{y}")
                    eligible = [h for h in doc["households"] if h["status"] in INSTALMENT_STATUSES]
                    rest = want - made
                    if rest <= 0 or not eligible:
                        continue
                    parts = _spread(rest, -(-rest // len(eligible)))
                    for i, n in enumerate(parts):
                        instalments += 1
                        fail = ("retry" if n >= 3 and instalments % RETRY_EVERY == 0 else
                                "write_off" if n >= 2 and instalments % WRITE_OFF_EVERY == 5 else "")
                        first = i * n % len(eligible)  # each instalment starts where the last stopped: even turns
                        who = (eligible[first:] + eligible[:first])[:n - 1 if fail == "retry" else n]
                        each = 60_00 + rng.randrange(25) * 10_00
                        idoc = {"version": 1, "kind": "village_allocation", "village": vcode,
                                "pool_fen": each * len(who), "households": who,
                                "eligible_statuses": list(INSTALMENT_STATUSES), "work": [], "contribution": [],
                                "buckets": INSTALMENT_BUCKETS}
                        made += chains.add(kind="township_project", region=vcode[:9],
                                           title=f"{tname}{vname}{y}年第{i + 1}批到户补助", proposer=f"{tname}人民政府",
                                           funding="衔接推进乡村振兴补助资金",
                                           justification="因户施策：乡镇逐户核定到户补助，分批按户等额发放",
                                           year=y, month=1 + i * 12 // len(parts), doc=idoc, out=calculate(idoc),
                                           pool_key=None, fail=fail)
                chains.flush()
    _fix_sequences(session, ("runs", "matters", "payment_batches", "payment_files", "payment_lines"))
    session.flush()
    return chains.counts


@contextmanager
def _packed(session: Session, table: str) -> Iterator[None]:
    """Within the block, PostgreSQL fills `table`'s new pages whole, then the table's own fill factor again (the
    setting is transactional: a load that fails leaves it as it was). The paid history's lines are settled, never
    updated again, so the room migration 0026 leaves on each page for a line's next versions (four fifths of it)
    would only make the table five times its size: 4.7 GB for the province's 3,000,000 lines."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    options = session.execute(text("SELECT reloptions FROM pg_class WHERE oid = CAST(:t AS regclass)"),
                              {"t": table}).scalar() or []
    was = next((o.split("=", 1)[1] for o in options if o.startswith("fillfactor=")), None)
    session.execute(text(f"ALTER TABLE {table} SET (fillfactor = 100)"))
    try:
        yield
    finally:
        session.execute(text(f"ALTER TABLE {table} SET (fillfactor = {int(was)})" if was is not None
                             else f"ALTER TABLE {table} RESET (fillfactor)"))


DIGEST_TABLES: tuple[tuple[str, str], ...] = (
    ("regions", "code, name, level, parent_code, poor_village, key_village, county_code"),
    ("households", "household_no, village_code, status, exit_year, poverty_cause, labor, phone, bank_account, "
                   "life_state"),
    ("people", "id_number, name, relation, labor, birth_date, sex, life_state"),
    ("entities", "uscc, name, kind, legal_representative, region_code"),
    ("projects", "code, name, category, village_code, expected_return, start_year"),
    ("profit_records", "project_id, period_start, profit_fen"),
    ("contracts", "code, model, project_id, payee_household_id, payee_village_code, person_id, terms"),
    ("allocation_plans", "village_code, year, pool_fen, buckets"),
    ("runs", "subject, kind, year, input_digest, output_digest"),
    ("matters", "region_code, kind, year, state, title, document_digest, preview_digest, pool_key"),
    ("payment_batches", "pool_key, total_fen, status"),
    ("payment_files", "batch_id, direction, sha256, line_count, total_fen, paid_count, failed_count"),
    ("payment_lines", "batch_id, seq, payee_ref, payee_name, amount_fen, bank_account_masked, status, payment_ref, "
                      "attempt"),
)


def data_digest(session: Session) -> str:
    """sha256 over the generated rows (not their ids' sequences nor the ledger's times): what the same seed and sizes
    must give again."""
    from daipin.db import sealing

    h = hashlib.sha256()
    for table, cols in DIGEST_TABLES:
        names = [c.strip() for c in cols.split(",")]
        order = names[0]
        # Sealed personal data is digested in clear: its ciphertext differs on every run (a fresh nonce each time).
        sealed = [(table, n) in sealing.SEALED for n in names]
        for row in _rows(session, f"SELECT {cols} FROM {table} ORDER BY {order}, id"):
            values = [sealing.open_value(table, n, v) if seal and isinstance(v, str) and sealing.is_sealed(v) else v
                      for n, seal, v in zip(names, sealed, row, strict=True)]
            h.update(repr(tuple(_plain(v) for v in values)).encode())
    return h.hexdigest()


def _rows(session: Session, sql: str) -> Iterator[Any]:
    yield from session.execute(text(sql))


def _plain(v: Any) -> Any:
    """One form for what SQLite and PostgreSQL give back differently: JSON (text or objects), booleans, dates."""
    if isinstance(v, str) and v[:1] in ("{", "["):
        v = json.loads(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    if isinstance(v, bool):
        return int(v)
    return str(v) if isinstance(v, date) else v
