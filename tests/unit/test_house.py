"""The house's shape, read from the code's own imports (those inside functions too): no import cycle inside
`daipin`, the inner rings import no outer ring, and the two edges (`api`, `web`) do not import each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "daipin"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every daipin module `name` imports, at the top or inside a function; `from pkg import mod` counts as mod."""
    out: set[str] = set()
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("daipin"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("daipin"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in known else target)
    return {m for m in out if m in known and m != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_of_daipin_imports_itself_back_through_others() -> None:
    graph = _graph()
    assert len(graph) > 100  # the whole package was read
    assert _cycles(graph) == []


def _ring(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


# What each ring may import (besides itself and the package's face). Edges never import each other.
ALLOWED = {
    "domain": set(),
    "config": set(),
    "ledger": {"domain", "db", "config"},
    "db": {"domain", "config"},
    "reports": {"domain", "config"},
    "services": {"domain", "ledger", "db", "reports", "config"},
    "bootstrap": {"services", "ledger", "config"},
    "http": {"domain", "db", "services", "bootstrap", "config"},
    "api": {"http", "domain", "db", "services", "config"},
    "web": {"http", "domain", "db", "services", "reports", "config"},
    "server": {"http", "api", "web", "db", "bootstrap", "config"},
    "commands": {"domain", "db", "ledger", "services", "reports", "server", "http", "bootstrap", "config"},
    "cli": {"commands", "db", "bootstrap", "config"},
}


@pytest.mark.parametrize("ring", sorted(ALLOWED))
def test_each_ring_imports_only_the_rings_below_it(ring: str) -> None:
    bad = sorted(f"{m} -> {t}" for m, targets in _graph().items() if _ring(m) == ring
                 for t in targets if _ring(t) not in ALLOWED[ring] | {ring, ""})
    assert bad == []


def test_the_api_and_the_pages_do_not_import_each_other() -> None:
    graph = _graph()
    crossings = sorted(f"{m} -> {t}" for m, targets in graph.items() for t in targets
                       if {_ring(m), _ring(t)} == {"api", "web"})
    assert crossings == []


def test_the_architecture_page_names_every_feature_package_and_ring() -> None:
    page = (SRC.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    features = sorted(p.name for p in (PACKAGE / "services").iterdir() if (p / "__init__.py").exists())
    assert len(features) >= 12
    assert [f for f in features if f"| `{f}` |" not in page] == []
    assert [r for r in ALLOWED if f"`{r}" not in page] == []
