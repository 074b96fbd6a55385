"""Checking an engine document before any arithmetic: every error names its field path and reason."""

from __future__ import annotations

import functools
import gc
import re
from collections.abc import Callable, Collection, Mapping
from datetime import date
from typing import Any, ParamSpec, TypeVar

from daipin.domain.errors import InputError
from daipin.domain.numbers import ExactValueError, FloatLiteral, format_decimal, parse_exact

MAX_REPORTED = 50  # a million bad lines should not make a million-line message
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


_P = ParamSpec("_P")
_R = TypeVar("_R")


def without_cyclic_gc(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Pause the cyclic garbage collector during a calculation.

    A calculation builds one result object per input line and no reference cycles, so
    the collector would only rescan the (large) input document again and again.
    Reference counting still frees everything; the collector resumes afterwards.
    """

    @functools.wraps(func)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        if not gc.isenabled():
            return func(*args, **kwargs)
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            gc.enable()

    return run


class Issue:
    """One problem in a document: where and why, in Chinese and English."""

    __slots__ = ("path", "zh", "en")

    def __init__(self, path: str, zh: str, en: str) -> None:
        self.path = path
        self.zh = zh
        self.en = en

    def text(self) -> str:
        return f"{self.path}: {self.zh} / {self.en}"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.path, "message_zh": self.zh, "message_en": self.en}


class EngineInputError(InputError):
    """A calculation document was refused; `issues` lists every problem found (the first is `field`)."""

    def __init__(self, issues: list[Issue], more: int = 0) -> None:
        self.issues = issues
        self.more = more
        first = issues[0]
        extra_zh = f"（另有 {len(issues) - 1 + more} 处错误）" if len(issues) + more > 1 else ""
        extra_en = f" (and {len(issues) - 1 + more} more)" if len(issues) + more > 1 else ""
        super().__init__(first.zh + extra_zh, first.en + extra_en, field=first.path)

    def as_dict(self) -> dict[str, object]:
        """The API error body, with every issue listed."""
        body = super().as_dict()
        body["issues"] = [issue.as_dict() for issue in self.issues]
        if self.more:
            body["more_issues"] = self.more
        return body

    def report(self) -> str:
        """Every issue on its own line, both languages."""
        lines = [issue.text() for issue in self.issues]
        if self.more:
            lines.append(f"……另有 {self.more} 处错误未列出 / … {self.more} more not listed")
        return "\n".join(lines)


def join(base: str, key: str | int) -> str:
    """Field path of a member: `contracts[3]` + `annual_rate` -> `contracts[3].annual_rate`."""
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if base else key


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, FloatLiteral | float):
        return f"浮点数 {value}"
    if isinstance(value, int):
        return f"整数 {value}"
    if isinstance(value, str):
        return "字符串"
    if isinstance(value, Mapping):
        return "对象"
    if isinstance(value, list | tuple):
        return "列表"
    return type(value).__name__


class Issues:
    """Collects the problems of one document; `check()` raises them all at once."""

    def __init__(self) -> None:
        self.items: list[Issue] = []
        self.more = 0

    def __bool__(self) -> bool:
        return bool(self.items)

    def add(self, path: str, zh: str, en: str) -> None:
        if len(self.items) < MAX_REPORTED:
            self.items.append(Issue(path, zh, en))
        else:
            self.more += 1

    def check(self) -> None:
        if self.items:
            raise EngineInputError(self.items, self.more)

    # --- shapes -------------------------------------------------------------------------

    def fields(
        self,
        obj: object,
        path: str,
        required: Collection[str],
        optional: Collection[str] = (),
    ) -> bool:
        """Is `obj` an object with all `required` fields and no others than `optional`?

        An object with an `id` may always carry an informative `name`.
        """
        if not isinstance(obj, Mapping):
            self.add(path or "$", f"应为对象，实为{_type_name(obj)}", "must be an object")
            return False
        ok = True
        keys = obj.keys()
        for key in required:
            if key not in keys:
                self.add(join(path, key), "缺少必填字段", "required field is missing")
                ok = False
        allowed_name = "id" in required or "id" in optional
        for key in keys:
            if key in required or key in optional:
                continue
            if key == "name" and allowed_name:
                if type(obj[key]) is not str:
                    self.add(join(path, key), "名称应为字符串", "name must be a string")
                continue
            self.add(join(path, str(key)), "未知字段", "unknown field")
            ok = False
        return ok

    def items_of(self, obj: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> list[Any]:
        """A list field (an absent optional list is empty)."""
        value = obj.get(key)
        if value is None and not required and key not in obj:
            return []
        if not isinstance(value, list):
            if key in obj:
                self.add(join(path, key), f"应为列表，实为{_type_name(value)}", "must be a list")
            return []
        return value

    # --- scalars --------------------------------------------------------------------------

    def text(self, value: object, path: str) -> str | None:
        """A non-empty string (ids, names, references)."""
        if type(value) is str and value:
            return value
        if type(value) is str:
            self.add(path, "不能为空", "must not be empty")
        else:
            self.add(path, f"应为字符串，实为{_type_name(value)}", "must be a string")
        return None

    def fen(self, value: object, path: str, *, negative: bool = False) -> int | None:
        """Whole fen: an integer, not negative unless allowed."""
        if type(value) is int:
            if value < 0 and not negative:
                self.add(path, f"金额不能为负数（{value}）", f"amount must not be negative ({value})")
                return None
            return value
        if isinstance(value, FloatLiteral | float):
            self.add(
                path,
                f"金额须为整数分，不接受 {value}（1 元写作 100）",
                f"money must be a whole number of fen, not {value} (1 yuan is 100)",
            )
        elif isinstance(value, str):
            self.add(
                path,
                f'金额须为整数分，不接受字符串 "{value}"',
                f'money must be an integer of fen, not the string "{value}"',
            )
        else:
            self.add(
                path, f"金额须为整数分，实为{_type_name(value)}", "money must be an integer number of fen"
            )
        return None

    def count(self, value: object, path: str, *, minimum: int = 0) -> int | None:
        """A whole count (people, members)."""
        if type(value) is int and value >= minimum:
            return value
        if type(value) is int:
            self.add(path, f"应为不小于 {minimum} 的整数", f"must be an integer ≥ {minimum}")
        else:
            self.add(path, f"应为整数，实为{_type_name(value)}", "must be an integer")
        return None

    def exact(
        self,
        value: object,
        path: str,
        *,
        minimum: tuple[int, int] | None = (0, 1),
        maximum: tuple[int, int] | None = None,
        cache: dict[str, tuple[int, int]] | None = None,
    ) -> tuple[int, int] | None:
        """An exact decimal (integer or decimal string) as (numerator, denominator) within bounds."""
        if cache is not None and type(value) is str:
            hit = cache.get(value)
            if hit is not None:
                return hit
        try:
            parsed = parse_exact(value)
        except ExactValueError as exc:
            self.add(path, exc.message_zh, exc.message_en)
            return None
        n, d = parsed
        if minimum is not None and n * minimum[1] < minimum[0] * d:
            low = _show(minimum)
            self.add(path, f"不能小于 {low}", f"must not be less than {low}")
            return None
        if maximum is not None and n * maximum[1] > maximum[0] * d:
            high = _show(maximum)
            self.add(path, f"不能大于 {high}", f"must not be greater than {high}")
            return None
        if cache is not None and type(value) is str:
            cache[value] = parsed
        return parsed

    def flag(self, value: object, path: str) -> bool | None:
        if type(value) is bool:
            return value
        self.add(path, f"应为 true 或 false，实为{_type_name(value)}", "must be true or false")
        return None

    def choice(self, value: object, path: str, allowed: Mapping[str, str]) -> str | None:
        """One of the known codes; `allowed` maps code -> Chinese label for the message."""
        if type(value) is str and value in allowed:
            return value
        known = "、".join(f"{k}（{v}）" for k, v in allowed.items())
        codes = ", ".join(allowed)
        shown = f'"{value}"' if isinstance(value, str) else _type_name(value)
        self.add(
            path, f"未知取值 {shown}，应为 {known} 之一", f"unknown value {shown}: must be one of {codes}"
        )
        return None

    def day(self, value: object, path: str, cache: dict[str, int] | None = None) -> int | None:
        """An ISO date `YYYY-MM-DD` as its proleptic ordinal."""
        if cache is not None and type(value) is str:
            hit = cache.get(value)
            if hit is not None:
                return hit
        if type(value) is str and _ISO_DATE.fullmatch(value):
            try:
                ordinal = date.fromisoformat(value).toordinal()
            except ValueError:
                pass
            else:
                if cache is not None:
                    cache[value] = ordinal
                return ordinal
        self.add(path, "应为 YYYY-MM-DD 格式的有效日期", "must be a valid date written YYYY-MM-DD")
        return None

    def header(self, doc: object, kind: str) -> bool:
        """`version` is 1 and `kind` is the expected one."""
        if not isinstance(doc, Mapping):
            self.add("$", "文档应为 JSON 对象", "the document must be a JSON object")
            return False
        ok = True
        if "version" not in doc:
            self.add("version", "缺少必填字段（应为 1）", "required field is missing (must be 1)")
            ok = False
        elif type(doc["version"]) is not int or doc["version"] != 1:
            self.add(
                "version",
                f"不支持的版本 {doc['version']!r}，仅支持 1",
                f"unsupported version {doc['version']!r}: only 1",
            )
            ok = False
        if doc.get("kind") != kind:
            self.add("kind", f'应为 "{kind}"', f'must be "{kind}"')
            ok = False
        return ok

    def unique(self, seen: dict[str, int], key: str, path: str, list_name: str, index: int) -> None:
        """Record an id; a second use is an error naming the first."""
        first = seen.setdefault(key, index)
        if first != index:
            self.add(
                path,
                f'编号 "{key}" 重复（已见于 {list_name}[{first}]）',
                f'duplicate id "{key}" (first at {list_name}[{first}])',
            )


def _show(bound: tuple[int, int]) -> str:
    return format_decimal(*bound)
