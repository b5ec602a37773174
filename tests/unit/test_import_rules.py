"""The layering rules, checked on the import graph of the source (no import is executed).

Every import counts, also one inside a function: a lazy import hides a dependency from
the import-time cost, not from the design. Rules:
- the pure core (imaging, ingest, progress: all of it, the assessment too) imports no
  store, configuration, wiring, use cases or Streamlit, so it runs and is tested without
  a database or a page;
- pages and tracker.ui (the edges) import only tracker.app, tracker.ui, tracker.domain,
  tracker.glossary (plain words, pure) and tracker.errors: the use cases are their one
  door (tracker.ui.context, which opens the App, may also import the wiring and the
  settings);
- no module of tracker imports Streamlit but tracker.ui (the edge) and tracker.web.asgi (the
  server's entry, which is Streamlit's ASGI app); the server's routes (tracker.web) import
  no tracker.ui: they reach the use cases as the pages do, through tracker.app;
- the runtime never imports the development package (tracker_dev: renderer, validation);
- all SQL is in tracker.store: no other module imports SQLAlchemy at run time (an import
  under `if TYPE_CHECKING:` names a type only) or reaches into a unit of work's session
  (`uow.session.execute(...)`); use cases call the repository and the store's queries;
- no import cycles among tracker's modules.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PURE = ("tracker.imaging", "tracker.ingest", "tracker.progress")
FORBIDDEN_IN_PURE = (
    "tracker.store",
    "tracker.app",
    "tracker.config",
    "tracker.bootstrap",
    "tracker.application",
    "tracker.ui",
    "streamlit",
    "sqlalchemy",
)
SQL_HOME = ("tracker.store",)


@cache
def _modules() -> dict[str, Path]:
    out = {}
    for path in (ROOT / "tracker").rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def _is_type_checking(node: ast.AST) -> bool:
    """`if TYPE_CHECKING:` (or `typing.TYPE_CHECKING`): a block that never runs."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes(tree: ast.AST, *, runtime_only: bool) -> list[ast.AST]:
    """Every node of the tree; with `runtime_only`, not those of `if TYPE_CHECKING:` blocks."""
    found: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        found.append(node)
        for child in ast.iter_child_nodes(node):
            if runtime_only and _is_type_checking(child):
                assert isinstance(child, ast.If)
                stack.extend(child.orelse)
            else:
                stack.append(child)
    return found


@cache  # the rules read the same files again; the source does not change during a run
def _imports(name: str, path: Path, *, runtime_only: bool = False) -> frozenset[str]:
    """Every module name imported by the file (also `from a import b` as a.b)."""
    return frozenset(
        _imports_in(name, path.read_text(encoding="utf-8"), path.name == "__init__.py", runtime_only)
    )


def _imports_in(name: str, source: str, is_package: bool, runtime_only: bool) -> set[str]:
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _nodes(ast.parse(source), runtime_only=runtime_only):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        for imported in _imports(name, path):
            while imported and imported not in modules:  # a.b.function → a.b
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                edges.add(imported)
        graph[name] = edges
    return graph


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_the_pure_core_imports_no_store_configuration_or_streamlit() -> None:
    modules = _modules()
    broken = {}
    for name, path in modules.items():
        if not _within(name, PURE):
            continue
        bad = sorted(m for m in _imports(name, path) if _within(m, FORBIDDEN_IN_PURE))
        if bad:
            broken[name] = bad
    assert not broken, broken


def test_only_the_ui_package_imports_streamlit() -> None:
    modules = _modules()
    users = sorted(
        name
        for name, path in modules.items()
        if any(_within(m, ("streamlit",)) for m in _imports(name, path))
        and not _within(name, ("tracker.ui",))
    )
    assert users == ["tracker.web.asgi"], users


def test_the_server_routes_use_the_use_cases_not_the_pages() -> None:
    users = sorted(
        name
        for name, path in _modules().items()
        if _within(name, ("tracker.web",)) and any(_within(m, ("tracker.ui",)) for m in _imports(name, path))
    )
    assert users == [], users


def test_the_runtime_never_imports_the_development_package() -> None:
    users = sorted(
        name
        for name, path in _modules().items()
        if any(_within(m, ("tracker_dev",)) for m in _imports(name, path))
    )
    assert users == [], users
    assert (ROOT / "tracker_dev" / "synth").is_dir() and not (ROOT / "tracker" / "synth").exists()


def _sql_outside_the_store(name: str, source: str) -> list[str]:
    """What in the module is SQL: SQLAlchemy imported at run time, or a unit of work's
    session used directly (`x.session.y`, as in `uow.session.execute(...)`)."""
    bad = sorted(m for m in _imports_in(name, source, False, True) if _within(m, ("sqlalchemy",)))
    for node in ast.walk(ast.parse(source)):
        inner = node.value if isinstance(node, ast.Attribute) else None
        if isinstance(node, ast.Attribute) and isinstance(inner, ast.Attribute) and inner.attr == "session":
            bad.append(f"line {node.lineno}: .session.{node.attr}")
    return bad


def test_the_sql_check_finds_sql() -> None:
    def found(source: str) -> list[str]:
        return _sql_outside_the_store("tracker.app.example", source)

    assert found("from sqlalchemy import select\n") == ["sqlalchemy", "sqlalchemy.select"]
    assert found("def f():\n    import sqlalchemy.exc\n") == ["sqlalchemy.exc"]
    assert found("def f(uow):\n    return uow.session.get(1, 2)\n") == ["line 2: .session.get"]
    assert found("if TYPE_CHECKING:\n    from sqlalchemy import Engine\n") == []
    assert found("def f(uow):\n    return queries.client_names(uow.session, 1)\n") == []


def test_all_sql_is_in_the_store() -> None:
    broken = {}
    for name, path in _modules().items():
        if _within(name, SQL_HOME):
            continue
        bad = _sql_outside_the_store(name, path.read_text(encoding="utf-8"))
        if bad:
            broken[name] = bad
    assert not broken, broken


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            step = next(edges, None)
            if step is not None:
                if step not in index:
                    index[step] = low[step] = counter
                    counter += 1
                    stack.append(step)
                    on_stack.add(step)
                    work.append((step, iter(sorted(graph.get(step, ())))))
                elif step in on_stack:
                    low[node] = min(low[node], index[step])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


EDGE_ALLOWED = ("tracker.app", "tracker.ui", "tracker.domain", "tracker.errors", "tracker.glossary")
# The edge's composition root: it opens the App from the settings (and nothing else does).
COMPOSITION_ROOT = {"tracker.ui.context": ("tracker.bootstrap", "tracker.config")}


def _edge_files() -> dict[str, Path]:
    files = {f"pages.{p.stem}": p for p in sorted((ROOT / "pages").glob("*.py"))}
    files["app"] = ROOT / "app.py"
    files.update({name: path for name, path in _modules().items() if _within(name, ("tracker.ui",))})
    return files


def test_pages_and_ui_call_only_the_application_layer() -> None:
    """Pages read widgets, call a use case and show its result: everything else they need
    (types, constants) comes through tracker.app, so a page cannot reach the store, the
    imaging code or the wiring around the use cases."""
    broken = {}
    for name, path in _edge_files().items():
        allowed = EDGE_ALLOWED + COMPOSITION_ROOT.get(name, ())
        bad = sorted(
            m
            for m in _imports(name, path)
            if _within(m, ("tracker",)) and m != "tracker" and not _within(m, allowed)
        )
        if bad:
            broken[name] = bad
    assert not broken, broken


def test_the_edge_rule_sees_a_page_that_reaches_past_the_application_layer(tmp_path: Path) -> None:
    page = tmp_path / "page.py"
    page.write_text("from tracker.app import courses\nfrom tracker.store.models import Photo\n")
    imported = _imports("pages.page", page)
    assert "tracker.store.models" in imported and not _within("tracker.store.models", EDGE_ALLOWED)
