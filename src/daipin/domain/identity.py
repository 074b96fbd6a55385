"""Resident ID numbers (GB 11643) and unified social credit codes (GB 32100): validation via python-stdnum."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from stdnum.cn import ric, uscc  # type: ignore[import-untyped,unused-ignore]
from stdnum.exceptions import (  # type: ignore[import-untyped,unused-ignore]
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)

from daipin.domain.errors import InputError
from daipin.domain.privacy import mask_id


@dataclass(frozen=True)
class ResidentId:
    """A checked resident ID number with what it encodes."""

    number: str
    birth_date: date
    sex: str  # "M" | "F"


class FutureBirth(InvalidComponent):  # type: ignore[misc,unused-ignore]
    """The birth date a number encodes is after the day it is checked on."""


def _reason(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, FutureBirth):
        return "出生日期晚于当日", "birth date is in the future"
    if isinstance(exc, InvalidLength):
        return "长度应为18位", "must be 18 characters long"
    if isinstance(exc, InvalidChecksum):
        return "校验码错误", "bad checksum"
    if isinstance(exc, InvalidComponent):
        return "出生日期或行政区划代码无效", "birth date or region code is invalid"
    if isinstance(exc, InvalidFormat):
        return "格式错误", "bad format"
    return "无效", "invalid"


def parse_resident_id(value: object, field: str = "id_number", today: date | None = None) -> ResidentId:
    """Validate a resident ID number and derive birth date and sex; InputError names the field and reason.

    The checks of `stdnum.cn.ric.validate` (length, format, checksum, birth date, region code), the birth date
    also not after `today` (the actual date unless given), the region code as `_region_known` reads stdnum's
    table: in force at some time since the birth. The region lookup is cached
    because it dominates bulk imports. A whole number (an ID number written without quotes in YAML or JSON) is
    read as its digits.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise InputError("缺少身份证号", "missing resident ID number", field=field)
    number = value.strip().upper().replace(" ", "")
    try:
        if len(number) != 18:
            raise InvalidLength()
        if not number[:-1].isdigit() or not number[:-1].isascii():
            raise InvalidFormat()
        if number[-1] != ric.calc_check_digit(number):
            raise InvalidChecksum()
        try:
            birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        except ValueError as exc:
            raise InvalidComponent() from exc
        if birth > (today or date.today()):
            raise FutureBirth()
        if not _region_known(number[:6], birth.year):
            raise InvalidComponent()
    except ValidationError as exc:
        zh, en = _reason(exc)
        raise InputError(f"身份证号 {mask_id(number)} {zh}", f"resident ID {mask_id(number)}: {en}",
                         field=field, code="bad_id_number") from exc
    sex = "M" if int(number[16]) % 2 == 1 else "F"
    return ResidentId(number=number, birth_date=birth, sex=sex)


@lru_cache(maxsize=65536)
def _region_known(region: str, year: int) -> bool:
    """Whether `region` is a county code of stdnum's GB/T 2260 table that was in force at some time in or after
    the birth year `year`. A number is coded with the county of residence when it is assigned (GB 11643), which
    is at or after birth: someone born in 1970 in a county created in 1983 carries the 1983 code. (stdnum's own
    check asks for the code to be in force in the birth year itself, and so refuses such numbers.)"""
    from stdnum import numdb  # type: ignore[import-untyped,unused-ignore]

    info: dict[str, str] = {}
    for _part, props in numdb.get("cn/loc").info(region):
        info.update(props)
    for county in info.get("county", "").split(","):
        if not county:
            continue
        if not county.startswith("["):
            return True
        end = county[1:].split("]", 1)[0].split("-", 1)[1]
        if not end or int(end) >= year:
            return True
    return False


def check_resident_id(value: object, *, birth_date: date | None = None, sex: str | None = None,
                      field: str = "id_number", today: date | None = None) -> ResidentId:
    """Validate (see `parse_resident_id`) and cross-check the stated birth date and sex against what the number
    encodes. A mismatch names the stated field beside `field` (`members[1].id_number` → `members[1].sex`)."""
    rid = parse_resident_id(value, field, today)
    beside = field.rpartition(".")[0] + "." if "." in field else ""
    if birth_date is not None and birth_date != rid.birth_date:
        raise InputError(f"出生日期 {birth_date.isoformat()} 与身份证号不符", f"birth date {birth_date.isoformat()} "
                         "does not match the resident ID number", field=f"{beside}birth_date", code="id_mismatch")
    if sex is not None:
        s = normalise_sex(sex)
        if s != rid.sex:
            raise InputError("性别与身份证号不符", "sex does not match the resident ID number", field=f"{beside}sex",
                             code="id_mismatch")
    return rid


def normalise_sex(value: str) -> str:
    """"男"/"M"/"male" → "M"; "女"/"F"/"female" → "F"."""
    v = value.strip().lower()
    if v in ("m", "male", "男"):
        return "M"
    if v in ("f", "female", "女"):
        return "F"
    raise InputError(f"性别 {value!r} 无法识别", f"unknown sex {value!r}", field="sex")


def make_resident_id(region: str, birth: date, sequence: int, sex: str) -> str:
    """Build a resident ID number with a correct check digit (fixtures and the sample district)."""
    if len(region) != 6 or not region.isdigit():
        raise InputError("行政区划代码应为6位数字", "region must be 6 digits", field="region")
    seq = sequence % 100 * 10  # the 17th digit carries the sex
    odd = 1 if normalise_sex(sex) == "M" else 0
    seq += (sequence // 100 % 5) * 2 + odd
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    check: str = ric.calc_check_digit(body + "0")  # stdnum expects a placeholder check digit
    return body + check


def validate_uscc(value: object, field: str = "uscc") -> str:
    """Validate a unified social credit code; InputError names the field and reason."""
    if not isinstance(value, str) or not value.strip():
        raise InputError("缺少统一社会信用代码", "missing unified social credit code", field=field)
    try:
        code: str = uscc.validate(value.strip().upper())
    except ValidationError as exc:
        zh, en = _reason(exc)
        raise InputError(f"统一社会信用代码{zh}", f"unified social credit code: {en}", field=field,
                         code="bad_uscc") from exc
    return code


def make_uscc(body17: str) -> str:
    """Append the check character to 17 characters (fixtures and the sample district)."""
    check: str = uscc.calc_check_digit(body17)
    return body17 + check
