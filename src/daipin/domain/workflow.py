"""Decision-path rules: matter states and transitions, meeting quorum and majority, notice windows."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Any

from daipin.domain.errors import Conflict, InputError
from daipin.domain.localtime import for_people
from daipin.domain.vocabulary import (
    DECISION_PATH,
    MATTER_ACTION,
    MATTER_KIND,
    MATTER_STATE,
    MEETING_TYPE,
    VOTE,
)


class MatterKind(StrEnum):
    VILLAGE_ALLOCATION = "village_allocation"  # 村级收益分配
    CONTRACT = "contract"  # 签订利益联结协议
    SHARE_QUANTIFICATION = "share_quantification"  # 资产折股量化
    ASSET_DISPOSAL = "asset_disposal"  # 资产处置
    BENEFICIARY_ROSTER = "beneficiary_roster"  # 年度收益扶贫对象确认
    DISTRICT_ALLOCATION = "district_allocation"  # 区级收益资金分配 (领导小组)
    TOWNSHIP_PROJECT = "township_project"  # 乡镇/部门项目, 因户施策
    PREMIUM_SUBSIDY = "premium_subsidy"  # 区级保费补贴: the year's approved premium subsidies paid to the entities


MATTER_KIND.require(MatterKind)
KIND_LABELS: dict[MatterKind, str] = {k: MATTER_KIND.zh(k) for k in MatterKind}


class Path(StrEnum):
    """Who decides and who reviews."""

    VILLAGE = "village"  # 一事一议: village meeting, township review
    DISTRICT = "district"  # district leading group meeting, no review
    TOWNSHIP = "township"  # township decides per household, district review


DECISION_PATH.require(Path)


PATH_OF_KIND: dict[MatterKind, Path] = {
    MatterKind.VILLAGE_ALLOCATION: Path.VILLAGE,
    MatterKind.CONTRACT: Path.VILLAGE,
    MatterKind.SHARE_QUANTIFICATION: Path.VILLAGE,
    MatterKind.ASSET_DISPOSAL: Path.VILLAGE,
    MatterKind.BENEFICIARY_ROSTER: Path.VILLAGE,
    MatterKind.DISTRICT_ALLOCATION: Path.DISTRICT,
    MatterKind.TOWNSHIP_PROJECT: Path.TOWNSHIP,
    MatterKind.PREMIUM_SUBSIDY: Path.DISTRICT,
}

# Length of the region code a matter of each path belongs to.
REGION_LEVEL: dict[Path, int] = {Path.VILLAGE: 12, Path.TOWNSHIP: 9, Path.DISTRICT: 6}


class State(StrEnum):
    DRAFT = "draft"
    MEETING_CALLED = "meeting_called"
    DECIDED = "decided"
    REJECTED = "rejected"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    IN_NOTICE = "in_notice"
    NOTICE_CLOSED = "notice_closed"
    EXECUTED = "executed"
    ARCHIVED = "archived"
    WITHDRAWN = "withdrawn"  # withdrawn with reasons before execution: it frees its pool for a new matter


MATTER_STATE.require(State)
STATE_LABELS: dict[State, str] = {st: MATTER_STATE.zh(st) for st in State}


class Action(StrEnum):
    UPDATE_DRAFT = "update_draft"
    CALL_MEETING = "call_meeting"
    RECORD_ATTENDANCE = "record_attendance"
    RECORD_VOTES = "record_votes"
    DECIDE = "decide"
    NO_QUORUM = "no_quorum"  # the meeting lacked quorum: it decided nothing, back to draft for a new meeting
    SUBMIT = "submit"
    APPROVE = "approve"
    RETURN = "return"  # township sends it back to draft with comments (`returned`)
    PUBLISH = "publish"
    FILE_OBJECTION = "file_objection"
    ANSWER_OBJECTION = "answer_objection"
    REOPEN = "reopen"  # an upheld objection sends it back to draft (`reopened`)
    CLOSE_NOTICE = "close_notice"
    EXECUTE = "execute"
    ANNOUNCE = "announce"
    ARCHIVE = "archive"
    WITHDRAW = "withdraw"
    # Steps on an objection that leave the matter's state as it is (the service checks when they may be taken).
    REDACT_OBJECTION = "redact_objection"
    NOTIFY_OBJECTOR = "notify_objector"
    MERGE_OBJECTION = "merge_objection"


MATTER_ACTION.require(Action)
ACTION_LABELS: dict[Action, str] = {a: MATTER_ACTION.zh(a) for a in Action}

_S, _A = State, Action

_COMMON_TAIL: dict[tuple[State, Action], State] = {
    (_S.DRAFT, _A.UPDATE_DRAFT): _S.DRAFT,
    (_S.IN_NOTICE, _A.FILE_OBJECTION): _S.IN_NOTICE,
    (_S.IN_NOTICE, _A.ANSWER_OBJECTION): _S.IN_NOTICE,
    (_S.IN_NOTICE, _A.REOPEN): _S.DRAFT,
    (_S.IN_NOTICE, _A.CLOSE_NOTICE): _S.NOTICE_CLOSED,
    (_S.NOTICE_CLOSED, _A.EXECUTE): _S.EXECUTED,
    (_S.EXECUTED, _A.ANNOUNCE): _S.EXECUTED,
    (_S.EXECUTED, _A.ARCHIVE): _S.ARCHIVED,
    # A matter is withdrawn, with reasons, only before it executed (WORKFLOW.md "One decision per pool").
    **{(s, _A.WITHDRAW): _S.WITHDRAWN for s in (_S.DRAFT, _S.MEETING_CALLED, _S.DECIDED, _S.REJECTED,
                                                  _S.UNDER_REVIEW, _S.APPROVED, _S.IN_NOTICE, _S.NOTICE_CLOSED)},
}

_MEETING: dict[tuple[State, Action], State] = {
    (_S.DRAFT, _A.CALL_MEETING): _S.MEETING_CALLED,
    (_S.MEETING_CALLED, _A.RECORD_ATTENDANCE): _S.MEETING_CALLED,
    (_S.MEETING_CALLED, _A.RECORD_VOTES): _S.MEETING_CALLED,
    (_S.MEETING_CALLED, _A.DECIDE): _S.DECIDED,  # or REJECTED, see `next_state`
    # A meeting without quorum decides nothing: neither decided nor rejected, a new meeting may be called.
    (_S.MEETING_CALLED, _A.NO_QUORUM): _S.DRAFT,
}

# Actions that are the consequence of another step (an upheld objection, a meeting's count),
# never asked for on their own: they are not offered as next steps.
OUTCOME_ACTIONS = frozenset({Action.REOPEN, Action.NO_QUORUM})

_REVIEW: dict[tuple[State, Action], State] = {
    (_S.UNDER_REVIEW, _A.APPROVE): _S.APPROVED,
    (_S.UNDER_REVIEW, _A.RETURN): _S.DRAFT,
    (_S.APPROVED, _A.PUBLISH): _S.IN_NOTICE,
}

TRANSITIONS: dict[Path, dict[tuple[State, Action], State]] = {
    Path.VILLAGE: {**_MEETING, (_S.DECIDED, _A.SUBMIT): _S.UNDER_REVIEW, **_REVIEW, **_COMMON_TAIL},
    # The leading group's own vote is the decision; no one above it reviews.
    Path.DISTRICT: {**_MEETING, (_S.DECIDED, _A.PUBLISH): _S.IN_NOTICE, **_COMMON_TAIL},
    # The township decides per household without a village meeting; the district reviews.
    Path.TOWNSHIP: {(_S.DRAFT, _A.SUBMIT): _S.UNDER_REVIEW, **_REVIEW, **_COMMON_TAIL},
}


def path_of(kind: MatterKind | str) -> Path:
    return PATH_OF_KIND[parse_kind(kind)]


def parse_kind(kind: MatterKind | str, field_name: str = "kind") -> MatterKind:
    try:
        return MatterKind(kind)
    except ValueError:
        raise InputError(
            f"未知的事项类型“{kind}”，应为 {', '.join(k.value for k in MatterKind)}",
            f"unknown matter kind {kind!r}",
            field_name,
        ) from None


def next_state(kind: MatterKind | str, state: State | str, action: Action | str, *, passed: bool | None = None) -> State:
    """The state after `action`, or Conflict naming the current state and the wanted action."""
    path = path_of(kind)
    st, act = State(state), Action(action)
    target = TRANSITIONS[path].get((st, act))
    if target is None:
        allowed = "、".join(ACTION_LABELS[a] for a in allowed_actions(kind, st)) or "无"
        raise Conflict(
            f"事项当前状态为“{STATE_LABELS[st]}”（{st.value}），不能“{ACTION_LABELS[act]}”（{act.value}）；可办理：{allowed}",
            f"matter is {st.value}; cannot {act.value}",
            "state",
            code="invalid_transition",
        )
    if act is Action.DECIDE and passed is False:
        return State.REJECTED
    return target


def allowed_actions(kind: MatterKind | str, state: State | str) -> list[Action]:
    """The steps one may ask for in `state` (outcomes such as `reopen` or `no_quorum` follow from other steps)."""
    st = State(state)
    return [a for (s, a) in TRANSITIONS[path_of(kind)] if s is st and a not in OUTCOME_ACTIONS]


def has_meeting(kind: MatterKind | str) -> bool:
    return (State.DRAFT, Action.CALL_MEETING) in TRANSITIONS[path_of(kind)]


def has_review(kind: MatterKind | str) -> bool:
    return (State.UNDER_REVIEW, Action.APPROVE) in TRANSITIONS[path_of(kind)]


# ---------------------------------------------------------------- meetings


class MeetingType(StrEnum):
    VILLAGERS = "villagers_meeting"  # 村民会议
    REPRESENTATIVES = "representatives_meeting"  # 村民代表会议
    LEADING_GROUP = "leading_group_meeting"  # 区扶贫开发领导小组会议


MEETING_TYPE.require(MeetingType)
MEETING_LABELS: dict[MeetingType, str] = {t: MEETING_TYPE.zh(t) for t in MeetingType}

MEETING_TYPES_OF_PATH: dict[Path, tuple[MeetingType, ...]] = {
    Path.VILLAGE: (MeetingType.VILLAGERS, MeetingType.REPRESENTATIVES),
    Path.DISTRICT: (MeetingType.LEADING_GROUP,),
    Path.TOWNSHIP: (),
}


def parse_meeting_type(value: str, kind: MatterKind | str, field_name: str = "type") -> MeetingType:
    """Accepts the code or the Chinese name; the type must suit the matter's path."""
    by_label = {v: k for k, v in MEETING_LABELS.items()}
    mt = by_label.get(value)
    if mt is None:
        try:
            mt = MeetingType(value)
        except ValueError:
            raise InputError(
                f"未知的会议类型“{value}”，应为 村民会议、村民代表会议 或 领导小组会议",
                f"unknown meeting type {value!r}",
                field_name,
            ) from None
    allowed = MEETING_TYPES_OF_PATH[path_of(kind)]
    if mt not in allowed:
        names = "、".join(MEETING_LABELS[m] for m in allowed) or "无需会议"
        raise InputError(
            f"此类事项不能由{MEETING_LABELS[mt]}决定，应为：{names}",
            f"a {parse_kind(kind).value} matter cannot be decided by a {mt.value}",
            field_name,
        )
    return mt


@dataclass(frozen=True)
class Threshold:
    """`part / whole` must be more than (`strict`) or at least `fraction`."""

    fraction: Fraction
    strict: bool

    def met(self, part: int, whole: int) -> bool:
        if whole <= 0:
            return False
        lhs, rhs = part * self.fraction.denominator, whole * self.fraction.numerator
        return lhs > rhs if self.strict else lhs >= rhs

    def needed(self, whole: int) -> int:
        """The smallest count that meets the threshold."""
        exact = whole * self.fraction
        floor = exact.numerator // exact.denominator
        if self.strict:
            return floor + 1
        return floor if floor == exact else floor + 1

    def at_least_as_strict_as(self, other: Threshold) -> bool:
        if self.fraction != other.fraction:
            return self.fraction > other.fraction
        return self.strict or not other.strict

    def text(self) -> str:
        return f"{'>' if self.strict else '>='}{self.fraction}"

    @classmethod
    def parse(cls, value: Any, field_name: str) -> Threshold:
        """`">1/2"` or `">=2/3"`."""
        s = str(value).strip()
        m = re.fullmatch(r"(>=|>)\s*(\d+)\s*/\s*(\d+)", s)
        if not m or int(m.group(3)) == 0 or int(m.group(2)) > int(m.group(3)):
            raise InputError(
                f"比例“{s}”格式不对，应写作 >1/2 或 >=2/3", f"bad threshold {s!r}; write >1/2 or >=2/3", field_name
            )
        return cls(Fraction(int(m.group(2)), int(m.group(3))), m.group(1) == ">")


@dataclass(frozen=True)
class QuorumRules:
    """Quorum and majority. The defaults are the law's (村民委员会组织法 第22、26条); a county may only be stricter."""

    villagers_adults: Threshold = Threshold(Fraction(1, 2), True)  # 本村18周岁以上村民过半数
    villagers_households: Threshold = Threshold(Fraction(2, 3), False)  # 或本村三分之二以上的户的代表
    representatives: Threshold = Threshold(Fraction(2, 3), False)  # 村民代表会议 三分之二以上组成人员参加
    passing: Threshold = Threshold(Fraction(1, 2), True)  # 经到会人员的过半数同意
    leading_group: Threshold = Threshold(Fraction(1, 2), True)  # 领导小组 过半数成员到会


LAW = QuorumRules()
LAW_MEETING_NOTICE_DAYS = 10  # 召开村民会议，应当提前十天通知村民
# 公示 days (WORKFLOW.md "Notice days"): 10 by default for every kind; 5 only for a beneficiary roster whose
# households are all monitoring households (防返贫监测对象) alone.
DEFAULT_NOTICE_DAYS = 10
MONITORING_ROSTER_NOTICE_DAYS = 5
DEFAULT_NOTICE_DAYS_BY_KIND: dict[MatterKind, int] = dict.fromkeys(MatterKind, DEFAULT_NOTICE_DAYS)


# An event held on paper may be recorded up to this many days after it was held (a county may ask for fewer).
DECLARED_TIME_DAYS = 30


@dataclass(frozen=True)
class CountyRules:
    """A county's workflow settings; each may only be stricter than the law and the policy defaults."""

    quorum: QuorumRules = field(default_factory=QuorumRules)
    meeting_notice_days: int = LAW_MEETING_NOTICE_DAYS
    notice_days: Mapping[MatterKind, int] = field(default_factory=lambda: dict(DEFAULT_NOTICE_DAYS_BY_KIND))
    # How long before it is recorded an event held on paper (a meeting, a vote) may have been held.
    declared_time_days: int = DECLARED_TIME_DAYS
    # The notice days of a roster of monitoring households alone (5 at least).
    monitoring_roster_notice_days: int = MONITORING_ROSTER_NOTICE_DAYS
    # Office complaint numbers printed on notices (监督举报电话): region code (the county, a township or a
    # village) → a landline or hotline; never a personal mobile number.
    complaint_phones: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "quorum": {name: getattr(self.quorum, name).text() for name in _QUORUM_FIELDS},
            "meeting_notice_days": self.meeting_notice_days,
            "notice_days": {k.value: v for k, v in sorted(self.notice_days.items())},
            "declared_time_days": self.declared_time_days,
            "monitoring_roster_notice_days": self.monitoring_roster_notice_days,
        }
        if self.complaint_phones:
            out["complaint_phones"] = dict(sorted(self.complaint_phones.items()))
        return out

    def complaint_phone(self, region_code: str) -> str | None:
        """The complaint number set for exactly this region (county, township or village), if any."""
        return self.complaint_phones.get(region_code)

    @classmethod
    def from_stored(cls, data: Mapping[str, Any] | None) -> CountyRules:
        """Settings as a county saved them. Before every roster needed 10 days, a roster's minimum was 5 and the
        saved settings carry it (`notice_days.beneficiary_roster` below 10): that number was meant for rosters of
        monitoring households, and is read as `monitoring_roster_notice_days`; other rosters take the default."""
        data = dict(data or {})
        nd = dict(data.get("notice_days") or {})
        roster = nd.get(MatterKind.BENEFICIARY_ROSTER.value)
        if isinstance(roster, int) and not isinstance(roster, bool) and roster < DEFAULT_NOTICE_DAYS:
            del nd[MatterKind.BENEFICIARY_ROSTER.value]
            data["notice_days"] = nd
            data.setdefault("monitoring_roster_notice_days", roster)
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> CountyRules:
        """Read settings; anything looser than the law or policy default is refused, naming the field."""
        data = dict(data or {})
        unknown = set(data) - {"quorum", "meeting_notice_days", "notice_days", "declared_time_days",
                               "monitoring_roster_notice_days", "complaint_phones"}
        if unknown:
            name = sorted(unknown)[0]
            raise InputError(f"未知的设置项“{name}”", f"unknown setting {name!r}", name)
        q_in = dict(data.get("quorum") or {})
        q: dict[str, Threshold] = {}
        for name, value in q_in.items():
            if name not in _QUORUM_FIELDS:
                raise InputError(f"未知的设置项“{name}”", f"unknown setting {name!r}", f"quorum.{name}")
            t = Threshold.parse(value, f"quorum.{name}")
            law = getattr(LAW, name)
            if not t.at_least_as_strict_as(law):
                raise InputError(
                    f"不得低于法定标准（{law.text()}）", f"may not be looser than the law ({law.text()})", f"quorum.{name}"
                )
            q[name] = t
        mnd = _int_at_least(data.get("meeting_notice_days", LAW_MEETING_NOTICE_DAYS), LAW_MEETING_NOTICE_DAYS,
                            "meeting_notice_days")
        nd = dict(DEFAULT_NOTICE_DAYS_BY_KIND)
        for k, v in dict(data.get("notice_days") or {}).items():
            kind = parse_kind(k, f"notice_days.{k}")
            nd[kind] = _int_at_least(v, DEFAULT_NOTICE_DAYS_BY_KIND[kind], f"notice_days.{k}")
        dtd = data.get("declared_time_days", DECLARED_TIME_DAYS)
        if isinstance(dtd, bool) or not isinstance(dtd, int) or not 1 <= dtd <= DECLARED_TIME_DAYS:
            raise InputError(f"应为1至{DECLARED_TIME_DAYS}天", f"must be 1 to {DECLARED_TIME_DAYS} days",
                             "declared_time_days")
        mrd = _int_at_least(data.get("monitoring_roster_notice_days", MONITORING_ROSTER_NOTICE_DAYS),
                            MONITORING_ROSTER_NOTICE_DAYS, "monitoring_roster_notice_days")
        return cls(QuorumRules(**q), mnd, nd, dtd, mrd, _complaint_phones(data.get("complaint_phones")))


# An office number: a landline with or without its area code and extension (0452-2345678, 0452-2345678-801)
# or a short public hotline (12317, 12345).
_OFFICE_PHONE_RE = re.compile(r"(?:0\d{2,3}-?)?[2-9]\d{6,7}(?:-\d{1,6})?|1\d{4}")


def _complaint_phones(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError("应为“区划代码: 电话”的对照", "must map region codes to phone numbers", "complaint_phones")
    out: dict[str, str] = {}
    for code, number in value.items():
        field_name = f"complaint_phones.{code}"
        if not isinstance(code, str) or not code.isdigit() or len(code) not in (6, 9, 12):
            raise InputError("区划代码应为 6、9 或 12 位数字", "region codes must be 6, 9 or 12 digits", field_name)
        text = str(number).strip() if isinstance(number, (str, int)) and not isinstance(number, bool) else ""
        if _PHONE_RE.search(text):
            raise InputError("监督电话应为办公电话或热线，不得填写个人手机号", "a complaint number must be an office "
                             "line or a hotline, never a personal mobile number", field_name)
        if not _OFFICE_PHONE_RE.fullmatch(text):
            raise InputError("应为固定电话（如 0452-2345678）或热线（如 12317）",
                             "must be a landline (0452-2345678) or a hotline (12317)", field_name)
        out[code] = text
    return out


_QUORUM_FIELDS = ("villagers_adults", "villagers_households", "representatives", "passing", "leading_group")


def _int_at_least(value: Any, minimum: int, field_name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError("应为整数天数", "must be a whole number of days", field_name)
    if value < minimum:
        raise InputError(f"不得少于{minimum}天", f"must be at least {minimum} days", field_name)
    return value


def check_meeting_notice(called_at: datetime, scheduled_at: datetime, min_days: int = LAW_MEETING_NOTICE_DAYS) -> None:
    """A meeting must be called at least `min_days` before it sits; both times aware (the message shows them
    to people in Beijing time, which a naive time cannot be placed in)."""
    if called_at.tzinfo is None or scheduled_at.tzinfo is None:
        raise ValueError("check_meeting_notice needs aware times")
    if scheduled_at - called_at < timedelta(days=min_days):
        raise InputError(
            f"会议须至少提前{min_days}天通知：召集于 {for_people(called_at)}，开会于 {for_people(scheduled_at)}",
            f"the meeting must be called at least {min_days} days ahead: called at "
            f"{for_people(called_at, lang='en')}, sitting at {for_people(scheduled_at, lang='en')}",
            "scheduled_at",
            code="meeting_notice_too_short",
        )


ADULT_AGE = 18  # 年满十八周岁的村民 (村民委员会组织法 第13、22条)


def adult_on(birth: date, day: date, age: int = ADULT_AGE) -> bool:
    """Whether someone born on `birth` is `age` or over on `day`: born on or before the same day `age` years
    earlier (the birthday itself counts; one born on 29 February comes of age on 1 March in a common year)."""
    if day.year - age < 1:
        return False  # no one alive then was of age: the calendar starts at year 1
    try:
        cutoff = day.replace(year=day.year - age)
    except ValueError:  # 29 February of a leap year, `age` years back a common year
        cutoff = day.replace(year=day.year - age, day=28)
    return birth <= cutoff


@dataclass(frozen=True)
class VillageCount:
    """A village's eligible adults and households on a meeting day, counted from its living members (household,
    birth date); a member whose birth date is unknown counts as an adult (the stricter quorum) and is reported."""

    adults: int
    households: int
    unknown_birth: int


def count_villagers(members: Iterable[tuple[Any, date | None]], day: date) -> VillageCount:
    """Adults (18+ on `day`) among the given living members of the village's registered households, and the
    households with at least one of them (a household is represented at a 村民会议 by an adult)."""
    adults = unknown = 0
    households: set[Any] = set()
    for household, birth in members:
        if birth is None:
            unknown += 1
        elif not adult_on(birth, day):
            continue
        adults += 1
        households.add(household)
    return VillageCount(adults, len(households), unknown)


@dataclass(frozen=True)
class Eligible:
    """Who could attend: adults (18+), households, representatives, or leading-group members."""

    adults: int = 0
    households: int = 0
    representatives: int = 0
    members: int = 0


@dataclass(frozen=True)
class Present:
    adults: int = 0
    households: int = 0
    representatives: int = 0
    members: int = 0


def check_eligible(meeting_type: MeetingType, eligible: Eligible) -> None:
    needed: dict[MeetingType, tuple[str, ...]] = {
        MeetingType.VILLAGERS: ("adults", "households"),
        MeetingType.REPRESENTATIVES: ("representatives",),
        MeetingType.LEADING_GROUP: ("members",),
    }
    for name in needed[meeting_type]:
        value = getattr(eligible, name)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise InputError(
                f"{MEETING_LABELS[meeting_type]}须填写应到人数（大于0的整数）",
                f"the eligible count must be a positive integer for a {meeting_type.value}",
                f"eligible.{name}",
            )


def check_present(eligible: Eligible, present: Present) -> None:
    for name in ("adults", "households", "representatives", "members"):
        p, e = getattr(present, name), getattr(eligible, name)
        if isinstance(p, bool) or not isinstance(p, int) or p < 0:
            raise InputError("到会人数应为非负整数", "present count must be a non-negative integer", f"present.{name}")
        if p > e:
            raise InputError(f"到会 {p} 超过应到 {e}", f"present {p} exceeds eligible {e}", f"present.{name}")


def attendees_of(meeting_type: MeetingType, present: Present) -> int:
    """Those present who may vote: adults at a villagers' meeting, representatives, or members."""
    if meeting_type is MeetingType.VILLAGERS:
        return present.adults
    if meeting_type is MeetingType.REPRESENTATIVES:
        return present.representatives
    return present.members


@dataclass(frozen=True)
class Tally:
    votes_for: int
    against: int
    abstain: int

    @property
    def cast(self) -> int:
        return self.votes_for + self.against + self.abstain


def check_tally(tally: Tally, attendees: int) -> None:
    for name, v in (("for", tally.votes_for), ("against", tally.against), ("abstain", tally.abstain)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise InputError("票数应为非负整数", "vote count must be a non-negative integer", f"votes.{name}")
    if tally.cast > attendees:
        raise InputError(
            f"表决票数合计 {tally.cast} 超过到会人数 {attendees}",
            f"{tally.cast} votes cast by {attendees} present",
            "votes",
        )


def tally_ballots(ballots: Iterable[tuple[str, str]], attendee_keys: Iterable[str]) -> Tally:
    """Count per-attendee votes (`for | against | abstain`); each attendee votes at most once."""
    keys = set(attendee_keys)
    seen: set[str] = set()
    counts = dict.fromkeys(VOTE.codes, 0)
    for i, (who, vote) in enumerate(ballots):
        where = f"ballots[{i}]"
        if vote not in counts:
            raise InputError(f"表决意见“{vote}”应为 for/against/abstain（赞成/反对/弃权）", f"bad vote {vote!r}",
                             f"{where}.vote")
        if keys and who not in keys:
            raise InputError(f"“{who}”不在到会名单上", f"{who!r} is not on the attendance list", f"{where}.attendee")
        if who in seen:
            raise InputError(f"“{who}”重复表决", f"{who!r} voted twice", f"{where}.attendee")
        seen.add(who)
        counts[vote] += 1
    return Tally(counts["for"], counts["against"], counts["abstain"])


# The Chinese words for a vote (赞成, 同意, 反对, 弃权) → its code.
VOTE_ALIASES = {word: code for word, code in VOTE.readings().items() if word != code}


@dataclass(frozen=True)
class Decision:
    quorum_met: bool
    passed: bool
    reasons_zh: tuple[str, ...]
    reasons_en: tuple[str, ...]

    @property
    def action(self) -> Action:
        """`decide` when the meeting had quorum (passed or rejected), else `no_quorum` (it decided nothing)."""
        return Action.DECIDE if self.quorum_met else Action.NO_QUORUM

    @property
    def outcome(self) -> State:
        if not self.quorum_met:
            return State.DRAFT
        return State.DECIDED if self.passed else State.REJECTED


def decide(meeting_type: MeetingType, eligible: Eligible, present: Present, tally: Tally,
           rules: QuorumRules = LAW) -> Decision:
    """Quorum first (a meeting without quorum decides nothing), then more than half of those present for."""
    zh: list[str] = []
    en: list[str] = []
    if meeting_type is MeetingType.VILLAGERS:
        by_adults = rules.villagers_adults.met(present.adults, eligible.adults)
        by_households = rules.villagers_households.met(present.households, eligible.households)
        quorum = by_adults or by_households
        if not quorum:
            zh.append(
                f"未达法定人数：到会成年村民 {present.adults}/{eligible.adults}（须{rules.villagers_adults.text()}），"
                f"到会户代表 {present.households}/{eligible.households}（须{rules.villagers_households.text()}）"
            )
            en.append("no quorum: neither enough adults nor enough households represented")
    elif meeting_type is MeetingType.REPRESENTATIVES:
        quorum = rules.representatives.met(present.representatives, eligible.representatives)
        if not quorum:
            zh.append(f"未达法定人数：到会村民代表 {present.representatives}/{eligible.representatives}"
                      f"（须{rules.representatives.text()}）")
            en.append("no quorum: too few representatives present")
    else:
        quorum = rules.leading_group.met(present.members, eligible.members)
        if not quorum:
            zh.append(f"未达法定人数：到会成员 {present.members}/{eligible.members}（须{rules.leading_group.text()}）")
            en.append("no quorum: too few members present")
    attendees = attendees_of(meeting_type, present)
    majority = quorum and rules.passing.met(tally.votes_for, attendees)
    if quorum and not majority:
        zh.append(f"赞成票 {tally.votes_for} 未达到会人数 {attendees} 的{rules.passing.text()}")
        en.append(f"{tally.votes_for} for out of {attendees} present is not a majority")
    return Decision(quorum, majority, tuple(zh), tuple(en))


# ---------------------------------------------------------------- notice


def notice_window(posted_at: datetime, days: int) -> datetime:
    """When the window ends: `days` whole days after posting."""
    return posted_at + timedelta(days=days)


@dataclass(frozen=True)
class NoticeDays:
    """How many days a notice must run, and why (shown on the notice and its printed copy)."""

    days: int
    monitoring_roster: bool
    county_set: bool

    def basis(self, lang: str = "zh", posted_days: int | None = None) -> str:
        """Why the notice runs its days, in Chinese or English (`posted_days`: the days it was posted for, when
        more than the least)."""
        if self.monitoring_roster:
            zh = f"名单所列均为防返贫监测对象，公示不少于{MONITORING_ROSTER_NOTICE_DAYS}天"
            en = f"every household on the roster is a monitoring household: at least " \
                 f"{MONITORING_ROSTER_NOTICE_DAYS} days"
        else:
            zh = f"各类事项公示不少于{DEFAULT_NOTICE_DAYS}天"
            en = f"every kind of matter: at least {DEFAULT_NOTICE_DAYS} days"
        if self.county_set:
            zh += f"；本县规定不少于{self.days}天"
            en += f"; the county sets at least {self.days} days"
        if posted_days is not None and posted_days > self.days:
            zh += f"；本次公示{posted_days}天"
            en += f"; this notice runs {posted_days} days"
        return zh if lang == "zh" else en


def monitoring_roster(kind: MatterKind | str, statuses: Iterable[str]) -> bool:
    """Whether a matter is a beneficiary roster of monitoring households (防返贫监测对象) alone: at least one
    household, and every one `monitored`."""
    listed = list(statuses)
    return parse_kind(kind) is MatterKind.BENEFICIARY_ROSTER and bool(listed) and all(
        s == "monitored" for s in listed)


def notice_days_for(kind: MatterKind | str, rules: CountyRules | None = None, *,
                monitoring_only: bool = False) -> NoticeDays:
    """The least number of days a notice of `kind` runs: the county's setting for the kind (10 at least), or for
    a roster of monitoring households alone its monitoring setting (5 at least)."""
    r = rules or CountyRules()
    mk = parse_kind(kind)
    if monitoring_only and mk is MatterKind.BENEFICIARY_ROSTER:
        days = r.monitoring_roster_notice_days
        return NoticeDays(days, True, days != MONITORING_ROSTER_NOTICE_DAYS)
    days = r.notice_days[mk]
    return NoticeDays(days, False, days != DEFAULT_NOTICE_DAYS_BY_KIND[mk])


def check_notice_days(kind: MatterKind | str, days: int, rules: CountyRules | None = None, *,
                      monitoring_only: bool = False) -> None:
    minimum = notice_days_for(kind, rules, monitoring_only=monitoring_only).days
    if isinstance(days, bool) or not isinstance(days, int) or days < minimum:
        raise InputError(f"公示期不得少于{minimum}天", f"the notice must run at least {minimum} days", "window_days")


def window_open(posted_at: datetime, ends_at: datetime, at: datetime) -> bool:
    return posted_at <= at < ends_at


# ---------------------------------------------------------------- review


@dataclass(frozen=True)
class Blocker:
    code: str
    message_zh: str
    message_en: str


def review_blockers(
    *,
    quorum_met: bool | None,
    passed: bool | None,
    warnings: Iterable[Mapping[str, Any]],
    justification: str | None,
    blacklisted: Iterable[str],
) -> list[Blocker]:
    """Why a township may not approve (refused, not merely warned). `quorum_met=None` when the path has no meeting."""
    out: list[Blocker] = []
    if quorum_met is False:
        out.append(Blocker("no_quorum", "会议未达法定人数，决定无效", "the meeting had no quorum"))
    elif passed is False:
        out.append(Blocker("vote_failed", "表决未获到会人员过半数同意", "the vote did not pass"))
    flat = [w for w in warnings if w.get("code") == "flat_distribution"]
    if flat and not (justification or "").strip():
        buckets = "、".join(str(w.get("bucket", "")) for w in flat)
        out.append(Blocker("flat_without_justification",
                           f"分配方案存在平均分配（泛福利化）倾向（{buckets}），须附书面说明",
                           "flat_distribution warning without a written justification"))
    for name in blacklisted:
        out.append(Blocker("blacklisted_party", f"实施主体“{name}”已列入失信黑名单，不得参与",
                           f"entity {name!r} is blacklisted"))
    return out


# ---------------------------------------------------------------- privacy of posted content

_ID_RE = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
_PHONE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
# Bank cards are 16-19 digits; region codes (12) and contract numbers stay below this.
_LONG_DIGITS_RE = re.compile(r"(?<!\d)\d{16,}(?!\d)")
FORBIDDEN_KEYS = frozenset({"id_number", "phone", "bank_account", "health_note", "health", "contact"})
# Hashes and signed notes are opaque and may hold digit runs by chance.
OPAQUE_KEYS = frozenset({"checkpoint", "document_digest", "preview_digest", "root", "ledger_checkpoint"})


def personal_data_in(obj: Any, path: str = "$", known_ids: frozenset[str] = frozenset()) -> list[str]:
    """Paths of anything in a posted document that looks like an ID number, phone, bank account or health note.

    `known_ids` are identifiers known not to be personal data (registered household numbers,
    which are a village code and a serial, as long as a bank card): a string equal to one is let through.
    """
    found: list[str] = []
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            p = f"{path}.{k}"
            if str(k) in FORBIDDEN_KEYS:
                found.append(p)
            if str(k) in OPAQUE_KEYS:
                continue
            found.extend(personal_data_in(v, p, known_ids))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            found.extend(personal_data_in(v, f"{path}[{i}]", known_ids))
    elif isinstance(obj, str) and obj not in known_ids and (
            _ID_RE.search(obj) or _PHONE_RE.search(obj) or _LONG_DIGITS_RE.search(obj)):
        found.append(path)
    return found


# ---------------------------------------------------------------- one decision per pool

# Matter kinds that decide how one pool of money is shared, and what the pool is (WORKFLOW.md): a village's
# income of one year, the district's allocation of one year, a village's roster of one year.
POOL_KINDS = frozenset({MatterKind.VILLAGE_ALLOCATION, MatterKind.DISTRICT_ALLOCATION, MatterKind.BENEFICIARY_ROSTER})

# States in which a matter no longer holds its pool: a failed vote ends it, a withdrawal frees it.
POOL_RELEASED = frozenset({State.REJECTED, State.WITHDRAWN})


def pool_key(kind: MatterKind | str, region: str, year: int | None) -> str | None:
    """The pool a matter of `kind` decides (`village_allocation:231002001001:2025`), or None for kinds that
    decide no pool. At most one live matter holds a key; the payment batch of its execution carries it too."""
    mk = MatterKind(kind)
    if mk not in POOL_KINDS:
        return None
    if year is None:
        raise ValueError(f"a {mk.value} matter needs its year to name its pool")
    return f"{mk.value}:{region}:{year}"

