"""`daipin calc FILE` and `daipin examples`: run the exact calculation engine from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

EXIT_BAD_INPUT = 2


class DocumentError(Exception):
    """The file could not be read or parsed; carries both languages."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        self.message_zh = message_zh
        self.message_en = message_en
        super().__init__(f"{message_zh} / {message_en}")


def _yaml_loader() -> Any:
    """A YAML loader that keeps numbers exact: floats come back as FloatLiteral (refused later), dates as text."""
    import yaml

    from daipin.domain.numbers import FloatLiteral

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class ExactLoader(base):  # type: ignore[misc, valid-type]
        pass

    def float_literal(loader: Any, node: Any) -> FloatLiteral:
        return FloatLiteral(loader.construct_scalar(node))

    def text(loader: Any, node: Any) -> str:
        return str(loader.construct_scalar(node))

    def mapping(loader: Any, node: Any) -> dict[Any, Any]:
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in out:
                raise DocumentError(f"字段 {key} 重复", f"duplicate field {key!r}")
            out[key] = loader.construct_object(value_node, deep=True)
        return out

    # YAML 1.2's booleans only: to YAML 1.1 `on`, `off`, `yes` and `no` are booleans too, and a record's `on:`
    # (the date something happened) would become the key True.
    import re

    bool_tag = "tag:yaml.org,2002:bool"
    ExactLoader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != bool_tag]
        for first, resolvers in base.yaml_implicit_resolvers.items()}
    ExactLoader.add_implicit_resolver(bool_tag, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
    ExactLoader.add_constructor("tag:yaml.org,2002:float", float_literal)
    ExactLoader.add_constructor("tag:yaml.org,2002:timestamp", text)
    ExactLoader.add_constructor("tag:yaml.org,2002:map", mapping)
    return ExactLoader


def load_document(text: str, *, name: str = "-") -> Any:
    """Parse a JSON or YAML document exactly (no binary floats); JSON when the name or text says so."""
    from daipin.domain.numbers import DuplicateKeyError, loads_exact_json

    suffix = Path(name).suffix.lower()
    as_json = suffix == ".json" or (suffix not in (".yaml", ".yml") and text.lstrip().startswith(("{", "[")))
    if as_json:
        import json

        try:
            return loads_exact_json(text)
        except DuplicateKeyError as exc:
            raise DocumentError(
                f"字段 {exc.key} 在同一对象中出现两次", f"field {exc.key!r} appears twice in one object"
            ) from exc
        except json.JSONDecodeError as exc:
            raise DocumentError(
                f"JSON 格式错误：第 {exc.lineno} 行第 {exc.colno} 列：{exc.msg}",
                f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            ) from exc
    import yaml

    try:
        return yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise DocumentError(f"YAML 格式错误：{exc}", f"invalid YAML: {exc}") from exc


def read_document(file: str) -> Any:
    """Read FILE (or stdin for `-`) and parse it."""
    if file == "-":
        return load_document(sys.stdin.read(), name="-")
    path = Path(file)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DocumentError(f"找不到文件 {file}", f"no such file: {file}") from exc
    except UnicodeDecodeError as exc:
        raise DocumentError(f"文件 {file} 不是 UTF-8 文本", f"{file} is not UTF-8 text") from exc
    except OSError as exc:
        raise DocumentError(
            f"无法读取文件 {file}：{exc.strerror}", f"cannot read {file}: {exc.strerror}"
        ) from exc
    return load_document(text, name=file)


def dumps_result(result: Any) -> str:
    """The result as printed: UTF-8 JSON, two-space indent, key order as built (deterministic)."""
    import json

    return json.dumps(result, ensure_ascii=False, indent=2)


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(EXIT_BAD_INPUT)


def calc(
    file: str = typer.Argument(
        ..., help="计算文档（JSON 或 YAML），- 表示标准输入 / the document (JSON or YAML), - for stdin"
    ),
    fmt: str = typer.Option("json", "--format", "-f", help="输出格式 json 或 table / output format"),
) -> None:
    """按 ENGINE.md 精确计算：结算、村级分配、区级分配、清算 / run the exact calculation a document describes."""
    from daipin.domain.engine import EngineInputError, calculate

    if fmt not in ("json", "table"):
        raise _fail(f"--format 应为 json 或 table / --format must be json or table, not {fmt!r}")
    try:
        doc = read_document(file)
        result = calculate(doc)
    except DocumentError as exc:
        raise _fail(f"输入有误 / invalid input:\n{exc.message_zh} / {exc.message_en}") from None
    except EngineInputError as exc:
        raise _fail(f"输入有误 / invalid input:\n{exc.report()}") from None
    if fmt == "table":
        from daipin.domain.engine.tables import render

        typer.echo(render(result), nl=False)
    else:
        typer.echo(dumps_result(result))


def example_files(directory: str | None = None) -> list[Path]:
    """The worked example documents: the packaged copy of docs/examples unless a directory is given."""
    if directory is not None:
        root = Path(directory)
    else:
        from importlib.resources import files

        root = Path(str(files("daipin") / "data" / "examples"))
    return sorted(p for p in root.glob("*.json") if not p.name.endswith(".expected.json"))


def examples(
    directory: str = typer.Option(None, "--dir", help="示例目录 / a directory of example documents"),
    fmt: str = typer.Option("table", "--format", "-f", help="输出格式 table 或 json / output format"),
) -> None:
    """运行全部示例并打印结果表 / run the engine over the worked examples and print their tables."""
    from daipin.domain.engine import EngineInputError, calculate
    from daipin.domain.engine.tables import render

    paths = example_files(directory)
    if not paths:
        raise _fail("没有找到示例文档 / no example documents found")
    failed = 0
    for path in paths:
        typer.echo(f"=== {path.name} ===")
        try:
            result = calculate(read_document(str(path)))
        except (DocumentError, EngineInputError) as exc:
            failed += 1
            typer.echo(f"{path.name}: {exc}", err=True)
            continue
        typer.echo(render(result) if fmt == "table" else dumps_result(result))
    if failed:
        raise typer.Exit(EXIT_BAD_INPUT)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the top-level app."""
    app.command("calc")(calc)
    app.command("examples")(examples)
