"""The shape of the code the Discord layer depends on: no module imports itself round a cycle (type-only imports
count too: a cycle a type checker walks is one a reader walks), and the Discord and render modules stay small."""

from __future__ import annotations

import ast
from pathlib import Path

import bot

ROOT = Path(bot.__file__).parent
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(tree: ast.Module, modules: set[str], own: str) -> set[str]:
    """The modules of ``modules`` an AST imports anywhere (top level, functions, TYPE_CHECKING blocks)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != own:
                found.add(name)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    paths = {module_name(path): path for path in root.rglob("*.py")}
    return {name: imports(ast.parse(path.read_text(encoding="utf-8")), set(paths), name)
            for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_no_module_in_bot_imports_itself_round_a_cycle():
    graph = import_graph(ROOT)
    assert "bot.discord_app.bot" in graph and graph["bot.discord_app.cogs.admin"]
    assert cycles(graph) == []


def test_discord_and_render_modules_stay_small():
    sizes = {str(path.relative_to(ROOT.parent)): len(path.read_text(encoding="utf-8").splitlines())
             for folder in ("discord_app", "render") for path in (ROOT / folder).rglob("*.py")}
    assert len(sizes) > 10
    assert {name: lines for name, lines in sizes.items() if lines > MAX_LINES} == {}
