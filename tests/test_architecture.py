"""Architecture rules that keep the tree shaped like the design."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
UI_MODULES = ("textual", "plotext", "textual_plotext", "rich", "modelyard.app")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_store_never_imports_ui_code() -> None:
    for path in (REPO / "store").rglob("*.py"):
        for name in _imports(path):
            assert not name.startswith(UI_MODULES), f"{path} imports {name}"


def test_cli_listing_path_imports_neither_textual_nor_polars() -> None:
    code = ("import sys; from modelyard.app.cli import main, commands, output, show;"
            "from modelyard.store import Store;"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'polars', 'rich')];"
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_is_clean() -> None:
    folders = [f for f in ("store", "app", "tests", "bench") if (REPO / f).is_dir()]
    out = subprocess.run([sys.executable, "-m", "ruff", "check", *folders], cwd=REPO,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_top_level_package_exposes_the_writer_sdk() -> None:
    import modelyard

    assert callable(modelyard.new_version)
    code = "import sys, modelyard; print(sorted(m for m in sys.modules if m.startswith('textual')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


# -- layering of store/ ---------------------------------------------------------------------
# Runtime imports only (module level and inside functions); `if TYPE_CHECKING:` blocks never
# run and are left out, so a type hint may name a module above.

STORE = REPO / "store"
PACKAGE = "modelyard.store"


def _module_name(path: Path) -> str:
    parts = path.relative_to(STORE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """The store modules `path` imports when it runs: `from a.b import c` counts as a.b.c
    when that is a module, else as a.b."""
    tree = ast.parse(path.read_text(), str(path))
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, base] if base else up)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in modules else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {m for m in found if m in modules and m != me}


def store_import_graph() -> dict[str, set[str]]:
    paths = sorted(STORE.rglob("*.py"))
    modules = {_module_name(p) for p in paths}
    return {_module_name(p): _runtime_imports(p, modules) for p in paths}


def _part(module: str) -> str:
    """The part of the design a module belongs to: its folder under store/, or its name."""
    rest = module.removeprefix(PACKAGE).lstrip(".")
    return rest.split(".")[0] if rest else ""


# what each part may import from the store (besides itself); errors and names are leaves
LEAVES = {"errors", "names", "safe_yaml"}
ALLOWED = {
    "disk": LEAVES,
    "query": LEAVES,
    "index": LEAVES | {"disk", "query"},
    "series": LEAVES,
    "policy": LEAVES | {"disk", "index", "query", "check"},
    "check": LEAVES | {"disk", "index"},
}


def test_each_part_of_store_imports_only_the_parts_below_it() -> None:
    graph = store_import_graph()
    wrong = []
    for module, imports in sorted(graph.items()):
        allowed = ALLOWED.get(_part(module))
        if allowed is None:
            continue
        for name in sorted(imports):
            part = _part(name)
            if part != _part(module) and part not in allowed and name != PACKAGE:
                wrong.append(f"{module} imports {name}")
    assert not wrong, "\n".join(wrong)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of `graph`, as the modules around it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state:
                found = walk(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = walk(start)
            if found:
                return found
    return None


def test_no_import_cycle_among_store_modules() -> None:
    graph = store_import_graph()
    # a package's __init__ re-exporting its modules is not a cycle of the design
    graph = {m: {i for i in imps if not m.startswith(i + ".")} for m, imps in graph.items()}
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_cycle_finder_reports_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_only_the_store_api_touches_store_private_members() -> None:
    """No store/ or app/ module outside store/api.py reaches into a Store's `_` members
    (the index and the policy service are what it composes; ask them, or the Store)."""
    private = {n.name for n in _store_class().body if isinstance(n, ast.FunctionDef)
               and n.name.startswith("_") and not n.name.startswith("__")}
    private |= {"_policy_ctx", "_policy", "_db", "_database"}
    wrong = []
    for folder in ("store", "app"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if path == STORE / "api.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Attribute) and node.attr in private and not (
                        isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                    wrong.append(f"{path.relative_to(REPO)}:{node.lineno} .{node.attr}")
    assert not wrong, "\n".join(wrong)


def _store_class() -> ast.ClassDef:
    tree = ast.parse((STORE / "api.py").read_text())
    return next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Store")


def test_every_sql_statement_against_the_index_lives_in_store_index() -> None:
    """Code outside store/index/ (and the query compiler, which writes the SQL of a query)
    hands the index no SQL: it never calls `.execute` on a connection."""
    wrong = []
    for path in sorted(STORE.rglob("*.py")):
        part = _part(_module_name(path))
        if part in ("index", "query") or path.parts[-3:-1] == ("ingest", "mlflow"):
            continue  # store/ingest/mlflow reads MLflow's own database, not the index
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in ("execute", "executemany"):
                wrong.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not wrong, "\n".join(wrong)
