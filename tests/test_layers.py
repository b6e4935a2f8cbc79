"""The layers of docs/ARCHITECTURE.md, read from the source: every import of every module of
the project (at module level, inside functions, under TYPE_CHECKING; absolute and relative),
parsed with `ast`, nothing imported.

    cache_conformance (application), pytest_cache_conformance (the plugin)
        -> conformance (harness), proofs, implementations -> model

* `model` imports no other package of the project, no third-party library but attrs, and
  no I/O module of the standard library;
* `implementations` imports only `model` of the project;
* `conformance` and `proofs` import only `model` of the project;
* nothing imports `cache_conformance` but itself and the plugin;
* the plugin imports nothing of the project when pytest loads it;
* no import cycle among the project's modules;
* no module reads another module's private names (`from m import _x`, `m._x`, `Class._x`
  for a name imported from another module, `param._x` for a parameter annotated with a
  class imported from another module), and no private module (`pkg/_x.py`) is imported
  from outside its package. Dunder names are public.

A `__main__` module is an entry point nobody imports (`python -m conformance` runs the
application's command line): it is exempt from the layer rules, not from the others.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import attrs
import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("model", "implementations", "conformance", "proofs", "cache_conformance")
PLUGIN = "pytest_cache_conformance"
PROJECT = (*PACKAGES, PLUGIN)

#: What each layer may import of the project (itself included).
ALLOWED = {
    "model": {"model"},
    "implementations": {"implementations", "model"},
    "conformance": {"conformance", "model"},
    "proofs": {"proofs", "model"},
    "cache_conformance": set(PROJECT) - {PLUGIN},
    PLUGIN: set(PROJECT),
}

#: model is pure Python + attrs: no other third-party library ...
MODEL_THIRD_PARTY = {"attrs", "typing_extensions"}
#: ... and none of the standard library's I/O: files, processes, sockets, databases, event loops.
IO_MODULES = {
    "os", "io", "pathlib", "shutil", "tempfile", "glob", "fileinput", "mmap", "socket", "ssl",
    "select", "selectors", "socketserver", "subprocess", "signal", "sqlite3", "dbm", "shelve",
    "asyncio", "multiprocessing", "concurrent", "threading", "http", "urllib", "ftplib",
    "smtplib", "imaplib", "poplib", "telnetlib", "xmlrpc", "webbrowser", "wsgiref",
}


@attrs.frozen
class Import:
    importer: str  # module name
    target: str  # the module it reaches: pkg.name when that is a module, else pkg
    name: str | None  # the name imported from `target`'s parent, for `from pkg import name`
    where: str  # path:line and context, for messages

    def __str__(self) -> str:
        return f"{self.importer} -> {self.target}  ({self.where})"


@attrs.frozen
class Module:
    name: str
    path: Path
    tree: ast.Module

    @property
    def layer(self) -> str:
        return self.name.split(".")[0]

    @property
    def is_main(self) -> bool:
        return self.name.rsplit(".", 1)[-1] == "__main__"

    @property
    def package(self) -> str:
        """The package relative imports start from."""
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]


def _discover() -> dict[str, Module]:
    paths = [p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py")) if "__pycache__" not in p.parts]
    paths.append(ROOT / f"{PLUGIN}.py")
    modules = {}
    for path in paths:
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        modules[name] = Module(name, path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return modules


def _rel(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _is_project(name: str) -> bool:
    return name.split(".")[0] in PROJECT


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Imports(ast.NodeVisitor):
    """Every import statement of one module, wherever it is, with where it is."""

    def __init__(self, module: Module, modules: dict[str, Module]) -> None:
        self.module = module
        self.modules = modules
        self.scope: list[str] = []
        self.typing_only = 0
        self.found: list[tuple[ast.stmt, str, str | None, str | None]] = []  # node, target, name, bound as
        self.visit(module.tree)

    def _where(self, node: ast.stmt) -> str:
        context = f"in {'.'.join(self.scope)}()" if self.scope else "module level"
        if self.typing_only:
            context += ", under TYPE_CHECKING"
        return f"{_rel(self.module.path)}:{node.lineno}, {context}"

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        self.typing_only += 1
        for child in node.body:
            self.visit(child)
        self.typing_only -= 1
        for child in node.orelse:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.found.append((node, alias.name, None, self._where(node)))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.module.package.split(".")
            base = base[: len(base) - (node.level - 1)]
            source = ".".join([*base, *([node.module] if node.module else [])])
        else:
            source = node.module or ""
        for alias in node.names:
            name = None if alias.name == "*" else alias.name
            self.found.append((node, source, name, self._where(node)))


@attrs.frozen
class Source:
    """What the project's imports bring in: the module, the imports as edges, and which local
    names refer to which project module (and object in it)."""

    modules: dict[str, Module]
    imports: list[Import]
    bound: dict[str, dict[str, tuple[str, str]]]  # module -> local name -> (module, object path)
    private_imports: list[str]


def _nearest_module(name: str, modules: dict[str, Module]) -> str:
    parts = name.split(".")
    while len(parts) > 1 and ".".join(parts) not in modules:
        parts.pop()
    return ".".join(parts)


def _private_module_offence(importer: str, target: str) -> str | None:
    """`target` has a private component: fine from inside the package that holds it."""
    parts = target.split(".")
    for i, part in enumerate(parts):
        if _is_private(part):
            owner = ".".join(parts[:i])
            if importer != owner and not importer.startswith(owner + "."):
                return f"imports the private module {target} from outside {owner}"
            return None
    return None


def _scan(modules: dict[str, Module]) -> Source:
    imports: list[Import] = []
    bound: dict[str, dict[str, tuple[str, str]]] = {}
    private: list[str] = []
    for module in modules.values():
        names = bound.setdefault(module.name, {})
        for node, source, name, where in _Imports(module, modules).found:
            if not _is_project(source):
                imports.append(Import(module.name, source, name, where))
                continue
            if isinstance(node, ast.Import):
                target = _nearest_module(source, modules)
                alias = next(a for a in node.names if a.name == source)
                if alias.asname:
                    names[alias.asname] = (target, "")
                else:
                    top = source.split(".")[0]
                    names[top] = (top, "")
            elif name is not None and f"{source}.{name}" in modules:
                target = f"{source}.{name}"
                alias = next(a for a in node.names if a.name == name)
                names[alias.asname or name] = (target, "")
            else:
                target = _nearest_module(source, modules)
                if name is not None:
                    alias = next(a for a in node.names if a.name == name)
                    names[alias.asname or name] = (target, name)
                    if _is_private(name) and target != module.name:
                        private.append(f"{module.name} imports {name} from {target}  ({where})")
            imports.append(Import(module.name, target, name, where))
            offence = _private_module_offence(module.name, target)
            if offence:
                private.append(f"{module.name} {offence}  ({where})")
    return Source(modules, imports, bound, private)


@pytest.fixture(scope="module")
def source() -> Source:
    return _scan(_discover())


def _fail(title: str, offences: list[str], fix: str) -> None:
    if offences:
        listed = "\n".join(f"  {o}" for o in sorted(set(offences)))
        pytest.fail(f"{title} ({len(set(offences))}):\n{listed}\n{fix}", pytrace=False)


def _project_edges(source: Source, layer: str) -> Iterator[Import]:
    for imp in source.imports:
        module = source.modules[imp.importer]
        if module.layer == layer and not module.is_main and _is_project(imp.target):
            yield imp


# -- the scanner itself: it must see what the rules are about ------------------------------

def test_the_scanner_sees_every_kind_of_import(tmp_path: Path) -> None:
    code = '''
from typing import TYPE_CHECKING
import model.state
from . import sibling
from .sibling import _hidden
if TYPE_CHECKING:
    from conformance.run import Run
def f(run: "Run"):
    from ..other import thing
    import proofs.graph as g
    return run._feed, g._private, model.state._x, model.state.__name__
'''
    path = tmp_path / "pkg" / "sub" / "mod.py"
    path.parent.mkdir(parents=True)
    path.write_text(code)
    mod = Module("cache_conformance.sub.mod", path, ast.parse(code))
    modules = {m: Module(m, path, ast.parse("")) for m in (
        "model.state", "cache_conformance.sub.sibling", "cache_conformance.other", "conformance.run", "proofs.graph")}
    modules[mod.name] = mod
    found = [(target, name, where.rsplit(", ", 1)[-1]) for _, target, name, where in _Imports(mod, modules).found]
    assert ("model.state", None, "module level") in found
    assert ("cache_conformance.sub", "sibling", "module level") in found
    assert ("cache_conformance.sub.sibling", "_hidden", "module level") in found
    assert ("conformance.run", "Run", "under TYPE_CHECKING") in found
    assert ("cache_conformance.other", "thing", "in f()") in found
    assert ("proofs.graph", None, "in f()") in found
    scanned = _scan(modules)
    edges = {(i.importer, i.target) for i in scanned.imports if i.importer == mod.name}
    assert ("cache_conformance.sub.mod", "cache_conformance.sub.sibling") in edges  # `from . import sibling`
    assert ("cache_conformance.sub.mod", "conformance.run") in edges
    assert any("imports _hidden from cache_conformance.sub.sibling" in p for p in scanned.private_imports)
    reads = _private_reads(scanned, mod)
    assert any("Run._feed of conformance.run" in r for r in reads)
    assert any("_private of proofs.graph" in r for r in reads)
    assert any("_x of model.state" in r for r in reads)
    assert not any("__name__" in r for r in reads)


def test_every_package_is_scanned(source: Source) -> None:
    layers = {m.layer for m in source.modules.values()}
    assert layers == set(PROJECT)
    assert len(source.imports) > 100


def test_every_top_level_package_has_a_layer() -> None:
    # A new package must be placed in the layers (here and in docs/ARCHITECTURE.md) before
    # the rules above can say anything about it.
    found = {p.parent.name for p in ROOT.glob("*/__init__.py")} | {p.stem for p in ROOT.glob("*.py")}
    unknown = sorted(found - set(PROJECT) - {"tests"})
    assert not unknown, f"top-level packages with no layer in tests/test_layers.py: {', '.join(unknown)}"


# -- the layers ------------------------------------------------------------------------------

@pytest.mark.parametrize("layer", [layer for layer in ALLOWED if layer != "cache_conformance"])
def test_each_layer_imports_only_the_layers_below_it(source: Source, layer: str) -> None:
    allowed = ALLOWED[layer]
    offences = [f"{imp}: imports {imp.target.split('.')[0]}" for imp in _project_edges(source, layer)
                if imp.target.split(".")[0] not in allowed]
    _fail(f"upward or sideways imports from {layer} (it may import only {', '.join(sorted(allowed))})",
          offences, "Move the code to the layer that may use both, or invert the dependency "
                    "(the lower layer takes a value or a callable).")


def test_nothing_imports_the_application(source: Source) -> None:
    offences = [str(imp) for imp in source.imports
                if imp.target.split(".")[0] == "cache_conformance"
                and source.modules[imp.importer].layer not in ("cache_conformance", PLUGIN)
                and not source.modules[imp.importer].is_main]
    _fail("imports of cache_conformance (the application) from below it", offences,
          "Only the application, the plugin and __main__ entry points may import it.")


def test_model_is_pure(source: Source) -> None:
    stdlib = sys.stdlib_module_names
    offences = []
    for imp in source.imports:
        if source.modules[imp.importer].layer != "model" or _is_project(imp.target):
            continue
        top = imp.target.split(".")[0]
        if top in IO_MODULES:
            offences.append(f"{imp}: I/O module")
        elif top not in stdlib and top not in MODEL_THIRD_PARTY:
            offences.append(f"{imp}: third-party library (model may use {', '.join(sorted(MODEL_THIRD_PARTY))})")
    _fail("model imports a library it must not", offences,
          "model/ is pure Python + attrs: no I/O, no solver, no test framework, no client library.")


def test_loading_the_plugin_imports_nothing_of_the_project(source: Source) -> None:
    offences = [str(imp) for imp in source.imports
                if imp.importer == PLUGIN and _is_project(imp.target) and "module level" in imp.where]
    _fail("the pytest plugin imports the project when pytest loads it", offences,
          "Import the harness inside the fixture: pytest loads the plugin in every run of every user.")


# -- cycles ----------------------------------------------------------------------------------

def test_no_import_cycle(source: Source) -> None:
    graph = nx.DiGraph()
    graph.add_nodes_from(source.modules)
    for imp in source.imports:
        if _is_project(imp.target) and imp.target != imp.importer:
            edge = graph.get_edge_data(imp.importer, imp.target)
            wheres = (edge or {}).get("where", [])
            if imp.where not in wheres:  # `from m import a, b`: one line, one place
                wheres.append(imp.where)
            graph.add_edge(imp.importer, imp.target, where=wheres)
    offences = []
    for component in sorted((c for c in nx.strongly_connected_components(graph) if len(c) > 1), key=min):
        cycle = nx.find_cycle(graph.subgraph(component))
        path = " -> ".join([a for a, _ in cycle] + [cycle[0][0]])
        edges = "".join(f"\n      {a} -> {b}  ({'; '.join(graph.edges[a, b]['where'])})"
                        for a, b in graph.subgraph(component).edges)
        offences.append(f"cycle {path}\n    every import among {', '.join(sorted(component))}:{edges}")
    _fail("import cycles among the project's modules", offences,
          "Break each cycle: move what both sides need into a module both import, or pass it in.")


# -- private names ---------------------------------------------------------------------------

def _resolve(expr: ast.expr, names: dict[str, tuple[str, str]], modules: dict[str, Module]) -> tuple[str, str] | None:
    """(module, object path in it) that `expr` denotes through the module's imports."""
    if isinstance(expr, ast.Name):
        return names.get(expr.id)
    if isinstance(expr, ast.Attribute):
        inner = _resolve(expr.value, names, modules)
        if inner is None:
            return None
        mod, obj = inner
        if not obj and f"{mod}.{expr.attr}" in modules:
            return f"{mod}.{expr.attr}", ""
        return mod, f"{obj}.{expr.attr}" if obj else expr.attr
    return None


def _annotation_names(annotation: ast.expr | None) -> Iterator[str]:
    if annotation is None:
        return
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return
    for node in ast.walk(annotation):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield from _annotation_names(node)
        elif isinstance(node, ast.Name):
            yield node.id


def _private_reads(source: Source, module: Module) -> list[str]:
    names = source.bound.get(module.name, {})
    path = _rel(module.path)
    out = []

    def read(node: ast.Attribute, owner: tuple[str, str], how: str = "") -> None:
        mod, obj = owner
        if not obj and f"{mod}.{node.attr}" in source.modules:  # a private module
            offence = _private_module_offence(module.name, f"{mod}.{node.attr}")
            if offence:
                out.append(f"{module.name} {offence}  ({path}:{node.lineno})")
        elif mod != module.name:
            what = f"{obj}.{node.attr}" if obj else node.attr
            out.append(f"{module.name} reads {what} of {mod}{how}  ({path}:{node.lineno})")

    for node in ast.walk(module.tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            owner = _resolve(node.value, names, source.modules)
            if owner is not None:
                read(node, owner)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args
            params = {}
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
                if arg is None:
                    continue
                for n in _annotation_names(arg.annotation):
                    if n in names and names[n][1]:
                        params[arg.arg] = names[n]
                        break
            for inner in ast.walk(node):
                if (isinstance(inner, ast.Attribute) and _is_private(inner.attr)
                        and isinstance(inner.value, ast.Name) and inner.value.id in params):
                    read(inner, params[inner.value.id], f" through the parameter {inner.value.id!r} of {node.name}()")
    return out


def test_no_module_reads_another_modules_private_names(source: Source) -> None:
    offences = list(source.private_imports)
    for module in source.modules.values():
        offences += _private_reads(source, module)
    _fail("private names read from another module", offences,
          "Give the name a public spelling in its module (and __all__), or move the code that "
          "needs it into that module.")
