"""The import contract (DESIGN.md "Layout"): dependencies point one way and nothing imports upward.

core (types, errors, config, model key) <- store <- stages (listener, sentiment, alerts, advocates)
<- CLI and dashboard (and the spine's orchestration: service loop, demo, importer, status).

Read from the source with `ast` (every import, also those inside functions; `if TYPE_CHECKING:` blocks
are ignored because they never run), so a new module is checked without being listed here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("brandpulse", "listener", "sentiment", "alerts", "advocates", "dashboard")
CORE = {"brandpulse", "brandpulse.types", "brandpulse.errors", "brandpulse.config", "brandpulse.model_key"}
STAGES = ("listener", "sentiment", "alerts", "advocates")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    is_pkg = path.name == "__init__.py"

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            for alias in node.names:  # `from pkg import submodule`
                found.add(f"{target}.{alias.name}")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    files = {
        _module_name(p): p
        for pkg in PACKAGES
        for p in (REPO / pkg).rglob("*.py")
        if "migrations" not in p.parts and "demo_data" not in p.parts
    }
    graph: dict[str, set[str]] = {}
    for mod, path in files.items():
        graph[mod] = {imp for imp in _imports(path, mod) if imp in files and imp != mod}
    return graph


def _layer(module: str) -> int:
    if module in CORE:
        return 0
    if module == "brandpulse.store" or module.startswith("brandpulse.store."):
        return 1
    if module.split(".")[0] in STAGES:
        return 2
    return 3  # CLI, dashboard, the service loop and other orchestration in brandpulse/


GRAPH = _graph()


def test_the_graph_is_read() -> None:
    assert "brandpulse.store.engine" in GRAPH["brandpulse.store.schema"] or GRAPH, "no modules found"
    assert any(_layer(m) == 2 for m in GRAPH) and any(_layer(m) == 1 for m in GRAPH)


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _layer(m) < 3))
def test_nothing_imports_upward(module: str) -> None:
    layer = _layer(module)
    bad = sorted(dep for dep in GRAPH[module] if _layer(dep) > layer)
    assert not bad, f"{module} (layer {layer}) imports a higher layer: {bad}"


@pytest.mark.parametrize("stage", STAGES)
def test_stages_talk_only_through_the_store(stage: str) -> None:
    bad = sorted(
        f"{m} -> {d}"
        for m, deps in GRAPH.items()
        if m.split(".")[0] == stage
        for d in deps
        if _layer(d) == 2 and d.split(".")[0] != stage
    )
    assert not bad, f"stage {stage} imports another stage: {bad}"


def test_no_import_cycles() -> None:
    # Tarjan's strongly connected components over package-internal module imports; a package
    # importing its own submodules (`pkg/__init__` re-exporting) is not a cycle unless a submodule imports it back.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def strongconnect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH.get(v, ()):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            strongconnect(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_contract_catches_an_upward_import(tmp_path: Path) -> None:
    """The checker itself: a store module importing a stage is found."""
    fake = tmp_path / "brandpulse" / "store" / "bad.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("from sentiment import scorer\n", encoding="utf-8")
    deps = _imports(fake, "brandpulse.store.bad")
    assert "sentiment.scorer" in deps
    assert _layer("brandpulse.store.bad") < _layer("sentiment.scorer")


SQL_BUILDERS = {"select", "insert", "update", "delete", "text", "func", "and_", "or_", "bindparam", "case"}


def test_sql_lives_in_the_store() -> None:
    """Stages and pages call store functions; none of them builds SQL itself."""
    offenders = []
    for pkg in (*STAGES, "dashboard"):
        for path in (REPO / pkg).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                    names = {a.name for a in node.names} & SQL_BUILDERS
                    if names or (node.module or "").startswith("sqlalchemy.dialects"):
                        offenders.append(f"{path.relative_to(REPO)}: {sorted(names) or node.module}")
    assert not offenders, f"SQL outside brandpulse/store: {offenders}"
