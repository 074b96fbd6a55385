"""The base of every step's typed input (a command): checked on arrival, a refusal names the field in both languages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from daipin.domain.errors import InputError
from daipin.domain.localtime import BEIJING

# What a validation found, in Chinese, by its error type (pydantic's `type`, with its `ctx`). The API's error
# mapping (daipin.http.errors) and the commands of the pages and the command line word it the same way.
_ZH_REASONS: dict[str, str] = {
    "missing": "缺少此项",
    "extra_forbidden": "不接受此项",
    "string_type": "应为文字",
    "string_too_short": "过短（至少 {min_length} 个字）",
    "string_too_long": "过长（最多 {max_length} 个字）",
    "string_pattern_mismatch": "格式不对",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "date_type": "应为日期（YYYY-MM-DD）",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "datetime_type": "应为时间",
    "datetime_parsing": "时间格式不对",
    "datetime_from_date_parsing": "时间格式不对",
    "literal_error": "应为 {expected} 之一",
    "enum": "应为 {expected} 之一",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "不能大于 {le}",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "json_invalid": "不是有效的 JSON",
    "json_type": "不是有效的 JSON",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "decimal_type": "应为数字",
    "decimal_parsing": "应为数字",
    "value_error": "取值无效",
    "from_registry": "不再填写：由系统在召集会议时按登记册计算",
}


def zh_reason(error: Mapping[str, Any]) -> str:
    """One validation error's reason in Chinese (its type's wording; "取值无效" for a type not listed)."""
    template = _ZH_REASONS.get(str(error.get("type", "")), "取值无效")
    try:
        return template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError, ValueError):
        return template.split("{", 1)[0].rstrip("（ ") or "取值无效"


def input_error(exc: ValidationError) -> InputError:
    """The first thing a validation found, as the project's InputError naming the field."""
    errors = exc.errors()
    first: Mapping[str, Any] = errors[0] if errors else {"loc": (), "msg": "invalid"}
    field = ".".join(str(p) for p in first.get("loc", ())) or "body"
    return InputError(f"输入有误：{field} {zh_reason(first)}", f"{field}: {first.get('msg', 'invalid')}", field)


def _utc_read_as_beijing(value: datetime) -> datetime:
    # A bound year keeps the zone conversion from overflowing on a year 1 or 9999 sent to the API.
    if not 2000 <= value.year <= 2100:
        raise ValueError("the year must be between 2000 and 2100")
    return (value if value.tzinfo is not None else value.replace(tzinfo=BEIJING)).astimezone(UTC)


# A time a person gives: Beijing time unless it names its zone; kept as aware UTC.
When = Annotated[datetime, AfterValidator(_utc_read_as_beijing)]


class Command(BaseModel):
    """One step's input: typed fields, no unknown ones, not changed once built."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> Self:
        """The command from plain values (a form's, the command line's), or InputError naming the first bad field."""
        try:
            return cls.model_validate(dict(values))
        except ValidationError as exc:
            raise input_error(exc) from None

    @classmethod
    def form_values(cls, form: Mapping[str, Any]) -> dict[str, Any]:
        """This step's fields from an HTML form; a blank field is left out, so the step's default or `missing`
        applies (others, such as the CSRF token or the button's name, are not this step's and are not read)."""
        out: dict[str, Any] = {}
        for name in cls.model_fields:
            value = form.get(name)
            if isinstance(value, str) and value.strip():
                out[name] = value.strip()
        return out

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> Self:
        return cls.parse(cls.form_values(form))
