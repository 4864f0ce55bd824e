"""What a function's code can reach, read from the source (never imported, never run).

template.yaml grants each function its secrets and permissions by hand; this module
says from the code what each function needs, so a test can hold the two together
(tests/unit/test_template_operations.py, tests/unit/test_function_secrets.py).

The reading is an over-approximation at the grain Relay's code is written in:

- Units: a module's top level (its statements, class bodies, decorators), each
  top-level function, each method. A top-level function is reached only when
  something reached names it: relay.shortener.service builds the redirect's Redis
  client inside `redirects()`, and the click consumer imports the same module
  without ever calling it.
- A unit reaches the modules it imports (at module level or inside itself; never
  under `if TYPE_CHECKING:`), the functions and classes it names (a bare name, a
  name imported with `from m import f`, an attribute of an imported module such as
  `service.click_counter`), and methods by their name: `x.send(...)` reaches `send`
  of every reached class, unless the code says what `x` is (`self`, an attribute
  whose type `__init__` or the class annotates, a call whose return type is
  annotated, a parameter's or a variable's), when it reaches that class's `send`
  only; a list, dict or string the code says it is (`[]`, `names: list[str]`,
  `item["pk"]`) and a library's object (`client: redis.Redis`, the Powertools
  resolver, and anything typed `Any`, which is how Relay types the boto3 and redis
  clients it is handed) reach none. Protocols count as unknown (any implementation
  may answer). Dunder methods run when their
  class is reached, `__call__` when a stored object is called; every method of a
  class with a library base counts (the library calls them).
- A function's entry is its `functions/<name>/app.py`, all of whose units count as
  reached (the resolver's routes are registered by decorators).

`aws_calls` lists the boto3 operations that reached code calls: a method whose name
is an operation of a service the same code makes a client of (a string literal such
as "sqs" given to a call), on anything but `self`. `table_uses` splits DynamoDB's by
table: each table has its store module (`<name>_table.py`), built from a setting
(`LinksTable(client, settings().links_table)`), and what a store's methods call is
done to its table.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGES = ROOT / "layers" / "relay"
FUNCTIONS = ROOT / "functions"

# The AWS services Relay's code may make clients of (boto3's names).
SERVICES = (
    "dynamodb",
    "sqs",
    "sns",
    "s3",
    "apigatewaymanagementapi",
    "secretsmanager",
    "cognito-idp",
    "ses",
    "sesv2",
)


@dataclass
class Unit:
    """A module's top level (`name` None), a top-level function (`name`) or a method
    (`Class.method`)."""

    module: str
    name: str | None
    node: ast.AST
    imports: set[str] = field(default_factory=set)
    bindings: dict[str, tuple[str, str | None]] = field(default_factory=dict)


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    top: Unit
    defs: dict[str, Unit]
    classes: dict[str, dict[str, Unit]]
    # Classes with a base that is not Relay's (a library's, a builtin): the library may
    # call any method they override, so all of them count once the class is reached.
    open_classes: set[str] = field(default_factory=set)


def _module_path(name: str) -> Path | None:
    base = PACKAGES.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _is_type_checking(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _is_def(node: ast.AST) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    """Every node under `node`, skipping `if TYPE_CHECKING:` blocks."""
    for child in ast.iter_child_nodes(node):
        if _is_type_checking(child):
            assert isinstance(child, ast.If)
            for other in child.orelse:
                yield other
                yield from _walk(other)
            continue
        yield child
        yield from _walk(child)


def _imports_of(unit: Unit, nodes: Iterator[ast.AST]) -> None:
    """Record what `nodes` import into `unit`: modules and the names they bind."""
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                unit.imports.add(alias.name)
                if alias.asname:
                    unit.bindings[alias.asname] = (alias.name, None)
                else:
                    top = alias.name.split(".")[0]
                    unit.bindings[top] = (top, None)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            unit.imports.add(node.module)
            for alias in node.names:
                bound = alias.asname or alias.name
                submodule = f"{node.module}.{alias.name}"
                if _module_path(submodule) is not None:
                    unit.imports.add(submodule)
                    unit.bindings[bound] = (submodule, None)
                else:
                    unit.bindings[bound] = (node.module, alias.name)


def _top_nodes(tree: ast.Module) -> Iterator[ast.AST]:
    """A module's own top level: everything but function bodies (their decorators run at
    import, so they are in) and methods' bodies."""
    for node in tree.body:
        if _is_type_checking(node):
            continue
        if _is_def(node):
            assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            for part in node.decorator_list:
                yield part
                yield from _walk(part)
            continue
        if isinstance(node, ast.ClassDef):
            parts: list[ast.AST] = [*node.bases, *node.keywords, *node.decorator_list]
            for piece in parts:
                yield piece
                yield from _walk(piece)
            for item in node.body:
                if _is_def(item):
                    assert isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                    for part in item.decorator_list:
                        yield part
                        yield from _walk(part)
                else:
                    yield item
                    yield from _walk(item)
            continue
        yield node
        yield from _walk(node)


_FUNCTION_MODULES: dict[str, Path] = {}


@functools.cache
def module(name: str) -> Module | None:
    """Relay's module `name` (or a function's app module), parsed; None when the module
    is not Relay's own (a library: what it does is not ours to read)."""
    path = _FUNCTION_MODULES.get(name) or _module_path(name)
    if path is None:
        return None
    tree = ast.parse(path.read_text(), str(path))
    top = Unit(name, None, tree)
    _imports_of(top, _top_nodes(tree))
    defs: dict[str, Unit] = {}
    classes: dict[str, dict[str, Unit]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            defs[node.name] = Unit(name, node.name, node)
        elif isinstance(node, ast.ClassDef):
            classes[node.name] = {
                item.name: Unit(name, f"{node.name}.{item.name}", item)
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            }
    for unit in [*defs.values(), *(m for c in classes.values() for m in c.values())]:
        _imports_of(unit, _walk(unit.node))
    parsed = Module(name, path, tree, top, defs, classes)
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(not _is_ours(parsed, b) for b in node.bases):
            parsed.open_classes.add(node.name)
    return parsed


def _is_ours(own: Module, base: ast.expr) -> bool:
    """Whether a class's base is one of Relay's classes."""
    if isinstance(base, ast.Name):
        if base.id in own.classes:
            return True
        bound = own.top.bindings.get(base.id)
        return bound is not None and bound[1] is not None and _module_path(bound[0]) is not None
    return False


def _nodes_of(unit: Unit) -> Iterator[ast.AST]:
    if unit.name is None:
        assert isinstance(unit.node, ast.Module)
        yield from _top_nodes(unit.node)
    else:
        for node in ast.iter_child_nodes(unit.node):
            if isinstance(node, ast.arguments | ast.expr) and node in getattr(
                unit.node, "decorator_list", []
            ):
                continue
            if _is_type_checking(node):
                continue
            yield node
            yield from _walk(node)


class _Reach:
    """The fixpoint: units reached, classes reached, attribute names used."""

    def __init__(self) -> None:
        self.units: dict[tuple[str, str | None], Unit] = {}
        self.classes: set[tuple[str, str]] = set()
        self.attributes: set[str] = set()
        # (module, class, attribute) used on something whose class the code says.
        self.typed: set[tuple[str, str, str]] = set()
        self.todo: list[Unit] = []

    def add(self, unit: Unit) -> None:
        if (unit.module, unit.name) not in self.units:
            self.units[(unit.module, unit.name)] = unit
            self.todo.append(unit)

    def add_module(self, name: str) -> Module | None:
        target = module(name)
        if target is not None:
            self.add(target.top)
        return target

    def add_name(self, module_name: str, name: str) -> None:
        target = self.add_module(module_name)
        if target is None:
            return
        if name in target.defs:
            self.add(target.defs[name])
        elif name in target.classes:
            self.classes.add((module_name, name))

    def visit(self, unit: Unit) -> None:
        own = module(unit.module)
        assert own is not None
        for imported in unit.imports:
            self.add_module(imported)

        def binding(name: str) -> tuple[str, str | None] | None:
            return unit.bindings.get(name) or own.top.bindings.get(name)

        for node in _nodes_of(unit):
            if isinstance(node, ast.Name):
                if node.id in own.defs or node.id in own.classes:
                    self.add_name(own.name, node.id)
                    continue
                bound = binding(node.id)
                if bound is not None and bound[1] is not None:
                    self.add_name(bound[0], bound[1])
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                # Calling a stored object (`self._enqueue(jobs)`) runs its __call__.
                self._calls_object(node.func, unit, own)
            if isinstance(node, ast.Attribute):
                typed = _type_of(node.value, unit, own)
                if typed in (BUILTIN, LIBRARY):
                    pass
                elif typed is not None and not _is_protocol(*typed):
                    self.typed.add((*typed, node.attr))
                else:
                    self.attributes.add(node.attr)
                if isinstance(node.value, ast.Name):
                    bound = binding(node.value.id)
                    if bound is not None and bound[1] is None:
                        self.add_name(bound[0], node.attr)
                        self.add_module(f"{bound[0]}.{node.attr}")

    def _calls_object(self, func: ast.Attribute, unit: Unit, own: Module) -> None:
        owner = unit.name.split(".")[0] if unit.name and "." in unit.name else None
        if not (isinstance(func.value, ast.Name) and func.value.id == "self" and owner):
            return
        if func.attr in own.classes.get(owner, {}):
            return
        typed = _type_of(func, unit, own)
        if typed in (BUILTIN, LIBRARY):
            return
        if typed is not None and not _is_protocol(*typed):
            self.typed.add((*typed, "__call__"))
        else:
            self.attributes.add("__call__")

    def run(self) -> None:
        while True:
            while self.todo:
                self.visit(self.todo.pop())
            before = len(self.units)
            for module_name, class_name in sorted(self.classes):
                target = module(module_name)
                assert target is not None
                for method_name, method in target.classes[class_name].items():
                    dunder = method_name.startswith("__") and method_name.endswith("__")
                    dunder = dunder and method_name != "__call__"
                    called = (
                        method_name in self.attributes
                        or (module_name, class_name, method_name) in self.typed
                        or class_name in target.open_classes
                    )
                    if dunder or called:
                        self.add(method)
            if len(self.units) == before and not self.todo:
                return


def _is_protocol(module_name: str, class_name: str) -> bool:
    """A Protocol's methods are its implementations': a call on one may reach any."""
    target = module(module_name)
    assert target is not None
    for node in target.tree.body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            return any(
                (isinstance(b, ast.Name) and b.id in ("Protocol", "ABC"))
                or (isinstance(b, ast.Subscript) and getattr(b.value, "id", "") == "Protocol")
                for b in node.bases
            )
    return False


def _resolve(annotation: ast.expr | None, own: Module) -> tuple[str, str] | None:
    """The Relay class an annotation names (`Deliverer`, `Attachments | None`), if one."""
    if annotation is None:
        return None
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        return _resolve(ast.parse(annotation.value, mode="eval").body, own)
    if _is_builtin_annotation(annotation):
        return BUILTIN
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        for side in (annotation.left, annotation.right):
            if not (isinstance(side, ast.Constant) and side.value is None):
                return _resolve(side, own)
        return None
    if isinstance(annotation, ast.Name):
        if annotation.id in own.classes:
            return (own.name, annotation.id)
        if annotation.id in _BUILTIN_TYPES:
            return BUILTIN
        if annotation.id == "Any":
            # How Relay's code types the clients it is handed (boto3's, redis'): their
            # methods are the library's. (Calls to AWS are found where they are written,
            # whatever the receiver's type.)
            return LIBRARY
        bound = own.top.bindings.get(annotation.id) or _type_only_binding(own, annotation.id)
        if bound is not None and bound[1] is not None:
            target = module(bound[0])
            if target is not None and bound[1] in target.classes:
                return (bound[0], bound[1])
            if target is None and _is_library(bound[0]):
                return LIBRARY
    if isinstance(annotation, ast.Attribute) and isinstance(annotation.value, ast.Name):
        bound = own.top.bindings.get(annotation.value.id) or _type_only_binding(
            own, annotation.value.id
        )
        if bound is not None and bound[1] is None and _is_library(bound[0]):
            return LIBRARY
    return None


def _is_library(module_name: str) -> bool:
    """A module outside Relay whose classes are concrete (not typing's Any or Protocol)."""
    return module(module_name) is None and module_name.split(".")[0] not in (
        "typing",
        "typing_extensions",
        "collections",
        "relay",
    )


def _type_only_binding(own: Module, name: str) -> tuple[str, str | None] | None:
    """A name imported under `if TYPE_CHECKING:` (annotations only)."""
    for node in own.tree.body:
        if _is_type_checking(node):
            probe = Unit(own.name, None, node)
            _imports_of(probe, _walk(node))
            if name in probe.bindings:
                return probe.bindings[name]
    return None


def _method(own: Module, class_name: str, name: str) -> ast.FunctionDef | None:
    unit = own.classes.get(class_name, {}).get(name)
    node = unit.node if unit is not None else None
    return node if isinstance(node, ast.FunctionDef) else None


def _attribute_type(own: Module, class_name: str, attr: str) -> tuple[str, str] | None:
    """The class of `self.<attr>` in `class_name`, from the class's annotations or the
    annotated parameter its __init__ stores there."""
    for node in ast.walk(own.tree):
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            for item in node.body:
                if (
                    isinstance(item, ast.AnnAssign)
                    and isinstance(item.target, ast.Name)
                    and item.target.id == attr
                ):
                    return _resolve(item.annotation, own)
    init = _method(own, class_name, "__init__")
    if init is None:
        return None
    params = {a.arg: a.annotation for a in [*init.args.args, *init.args.kwonlyargs]}
    for node in ast.walk(init):
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):
            if (
                isinstance(node.target, ast.Attribute)
                and node.target.attr == attr
                and isinstance(node.target.value, ast.Name)
                and node.target.value.id == "self"
            ):
                return _resolve(node.annotation, own)
            continue
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and target.attr == attr
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
            ):
                if isinstance(value, ast.Name) and value.id in params:
                    return _resolve(params[value.id], own)
                if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
                    return _resolve(value.func, own)
    return None


BUILTIN = ("builtins", "")
# An object of a library's class (redis.Redis, a Powertools resolver): what it has and
# returns is the library's, never one of Relay's classes.
LIBRARY = ("library", "")
_BUILTIN_TYPES = {"list", "dict", "set", "frozenset", "tuple", "str", "bytes", "int", "float"}
_BUILTIN_MAKERS = _BUILTIN_TYPES | {"sorted", "reversed", "enumerate", "zip", "range"}


def _is_builtin_annotation(annotation: ast.expr | None) -> bool:
    if isinstance(annotation, ast.Subscript):
        annotation = annotation.value
    return isinstance(annotation, ast.Name) and annotation.id in _BUILTIN_TYPES


def _is_builtin_value(value: ast.expr | None) -> bool:
    literal = (ast.List, ast.Dict, ast.Set, ast.Tuple, ast.ListComp, ast.DictComp, ast.SetComp)
    if isinstance(value, (*literal, ast.JoinedStr)):
        return True
    if isinstance(value, ast.Constant) and isinstance(value.value, str | bytes):
        return True
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id in _BUILTIN_MAKERS
    )


def _unit_of(own: Module, name: str | None) -> Unit | None:
    if name is None:
        return own.top
    if "." not in name:
        return own.defs.get(name)
    class_name, method = name.split(".", 1)
    return own.classes.get(class_name, {}).get(method)


_LOCALS_BUSY: set[tuple[str, str | None]] = set()


@functools.cache
def _local_types(unit_key: tuple[str, str | None]) -> dict[str, tuple[str, str]]:
    """What the code says the names of a unit are: parameters by their annotations,
    variables assigned one kind of value (`pipe = self._client.pipeline()`, `names =
    []`); a module's top level for its globals (`app = make_resolver()`). Names bound
    by loops, `with` or several different values are left out (unknown)."""
    own = module(unit_key[0])
    assert own is not None
    unit = _unit_of(own, unit_key[1])
    if unit is None or unit_key in _LOCALS_BUSY:
        return {}
    _LOCALS_BUSY.add(unit_key)
    try:
        found: dict[str, tuple[str, str] | None] = {}

        def note(name: str, kind: tuple[str, str] | None) -> None:
            found[name] = kind if name not in found or found[name] == kind else None

        body: list[ast.AST]
        if isinstance(unit.node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = unit.node.args
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
                if arg.arg not in ("self", "cls"):
                    note(arg.arg, _resolve(arg.annotation, own))
            body = list(ast.walk(unit.node))
        else:
            body = list(_top_nodes(own.tree))
        for node in body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        note(target.id, _type_of(node.value, unit, own, locals_=False))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                note(node.target.id, _resolve(node.annotation, own))
            elif isinstance(node, ast.For | ast.comprehension | ast.withitem | ast.AugAssign):
                bound = getattr(node, "target", None) or getattr(node, "optional_vars", None)
                for name in ast.walk(bound) if bound is not None else []:
                    if isinstance(name, ast.Name):
                        found[name.id] = None
            elif isinstance(node, ast.NamedExpr):
                found[node.target.id] = None
        return {name: kind for name, kind in found.items() if kind is not None}
    finally:
        _LOCALS_BUSY.discard(unit_key)


def _type_of(
    expr: ast.expr, unit: Unit, own: Module, *, locals_: bool = True
) -> tuple[str, str] | None:
    """The Relay class of `expr`'s value, where the code says it (else None: any class);
    BUILTIN for a list, dict, set or string, LIBRARY for a library's object."""
    owner = unit.name.split(".")[0] if unit.name and "." in unit.name else None
    if isinstance(expr, ast.Name) and isinstance(unit.node, ast.FunctionDef | ast.AsyncFunctionDef):
        args = unit.node.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            if arg.arg == expr.id and arg.arg not in ("self", "cls"):
                return _resolve(arg.annotation, own)
    if isinstance(expr, ast.Name) and expr.id not in ("self", "cls") and locals_:
        known = _local_types((unit.module, unit.name)).get(expr.id)
        if known is None and unit.name is not None:
            known = _local_types((unit.module, None)).get(expr.id)
        if known is not None:
            return known
    if _is_builtin_value(expr):
        return BUILTIN
    if (
        isinstance(expr, ast.Subscript)
        and isinstance(expr.slice, ast.Constant)
        and isinstance(expr.slice.value, str)
    ):
        # item["pk"], entry["Keys"]: JSON and DynamoDB items are keyed by strings;
        # Relay's objects are not kept in dicts under literal keys.
        return BUILTIN
    if isinstance(expr, ast.Name) and expr.id == "self" and owner is not None:
        return (own.name, owner)
    if (
        isinstance(expr, ast.Attribute)
        and isinstance(expr.value, ast.Name)
        and expr.value.id == "self"
        and owner is not None
    ):
        return _attribute_type(own, owner, expr.attr)
    if isinstance(expr, ast.Attribute) and _type_of(expr.value, unit, own) == LIBRARY:
        return LIBRARY
    if isinstance(expr, ast.Call):
        func = expr.func
        if isinstance(func, ast.Name):
            if func.id in own.defs:
                node = own.defs[func.id].node
                assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                return _resolve(node.returns, own)
            resolved = _resolve(func, own)
            if resolved is not None:
                return resolved
            bound = own.top.bindings.get(func.id) or unit.bindings.get(func.id)
            if bound is not None and bound[1] is not None:
                target = module(bound[0])
                if target is not None and bound[1] in target.defs:
                    node = target.defs[bound[1]].node
                    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                    return _resolve(node.returns, target)
        if isinstance(func, ast.Name) and _type_of(func, unit, own) == LIBRARY:
            return LIBRARY  # calling a library's callable (Powertools' next middleware)
        if isinstance(func, ast.Attribute):
            receiver = _type_of(func.value, unit, own)
            if receiver == LIBRARY:
                return LIBRARY
            if receiver is not None and receiver != BUILTIN:
                target = module(receiver[0])
                if target is not None:
                    method = _method(target, receiver[1], func.attr)
                    if method is not None:
                        return _resolve(method.returns, target)
    return None


@functools.cache
def reached(function_dir: str) -> tuple[Unit, ...]:
    """Every unit the function in functions/<function_dir> reaches."""
    name = f"functions.{function_dir}.app"
    _FUNCTION_MODULES[name] = FUNCTIONS / function_dir / "app.py"
    entry = module(name)
    assert entry is not None, function_dir
    reach = _Reach()
    reach.add(entry.top)
    for unit in entry.defs.values():
        reach.add(unit)
    for class_name in entry.classes:
        reach.classes.add((name, class_name))
    reach.run()
    return tuple(reach.units.values())


def reaches(function_dir: str, module_name: str, name: str | None = None) -> bool:
    """Whether the function reaches `module_name` (its function `name`, when given)."""
    return any(u.module == module_name and u.name == name for u in reached(function_dir))


def functions() -> list[str]:
    """Every function folder with an app.py."""
    return sorted(p.parent.name for p in FUNCTIONS.glob("*/app.py"))


# ---------------------------------------------------------------- AWS calls
@functools.cache
def _operations(service: str) -> dict[str, str]:
    """boto3's method names of `service` -> the API operation's name."""
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(op): op for op in model.operation_names}


def _literal_services(nodes: list[ast.AST]) -> set[str]:
    made: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Call):
            for arg in node.args[:1]:
                if isinstance(arg, ast.Constant) and arg.value in SERVICES:
                    made.add(str(arg.value))
    return made


@dataclass(frozen=True)
class AwsCall:
    service: str
    operation: str
    where: str  # module:line, for a failing test's message


def _unit_nodes(unit: Unit) -> list[ast.AST]:
    return list(_nodes_of(unit))


def aws_calls(function_dir: str) -> set[AwsCall]:
    """The AWS operations the function's reached code calls (presigned requests count as
    the operation they sign, which the holder of the URL performs with our rights)."""
    units = reached(function_dir)
    nodes = {(u.module, u.name): _unit_nodes(u) for u in units}
    services = _literal_services([n for ns in nodes.values() for n in ns])
    calls: set[AwsCall] = set()
    for (module_name, _), unit_nodes in nodes.items():
        for node in unit_nodes:
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name == "get_secret":  # Powertools' parameters utility
                where = f"{module_name}:{node.lineno}"
                calls.add(AwsCall("secretsmanager", "GetSecretValue", where))
                continue
            if not isinstance(node.func, ast.Attribute):
                continue
            receiver = node.func.value
            if isinstance(receiver, ast.Name) and receiver.id in ("self", "cls"):
                continue
            method = node.func.attr
            where = f"{module_name}:{node.lineno}"
            if method == "generate_presigned_post" and "s3" in services:
                calls.add(AwsCall("s3", "PutObject", where))
                if "tagging" in _dict_keys(node):  # the upload also sets the object's tags
                    calls.add(AwsCall("s3", "PutObjectTagging", where))
                continue
            if method == "get_paginator":  # the operation it pages through, by its name
                paged = _keyword(node, "operation_name")
                for service in services:
                    if paged in _operations(service):
                        calls.add(AwsCall(service, _operations(service)[paged], where))
                continue
            if method == "generate_presigned_url":
                signed = _keyword(node, "ClientMethod")
                for service in services:
                    if signed in _operations(service):
                        calls.add(AwsCall(service, _operations(service)[signed], where))
                continue
            for service in services:
                operation = _operations(service).get(method)
                if operation is not None:
                    calls.add(AwsCall(service, operation, where))
    return calls


def _dict_keys(call: ast.Call) -> set[str]:
    """String keys of the dicts written in a call's arguments (Fields, Conditions...)."""
    return {
        str(key.value)
        for node in ast.walk(call)
        if isinstance(node, ast.Dict)
        for key in node.keys
        if isinstance(key, ast.Constant) and isinstance(key.value, str)
    }


def _keyword(call: ast.Call, name: str) -> str | None:
    for keyword in call.keywords:
        if keyword.arg == name and isinstance(keyword.value, ast.Constant):
            return str(keyword.value.value)
    if call.args and isinstance(call.args[0], ast.Constant):
        return str(call.args[0].value)
    return None


def settings_fields(function_dir: str) -> set[str]:
    """The settings (relay.platform.config.Settings fields) reached code reads."""
    config = module("relay.platform.config")
    assert config is not None
    fields: set[str] = set()
    for node in ast.walk(config.tree):
        if isinstance(node, ast.ClassDef) and node.name == "Settings":
            fields = {
                item.target.id
                for item in node.body
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
            }
    read: set[str] = set()
    for unit in reached(function_dir):
        if unit.module == "relay.platform.config":
            continue
        for node in _nodes_of(unit):
            if isinstance(node, ast.Attribute) and node.attr in fields:
                read.add(node.attr)
    return read


@functools.cache
def settings_env() -> dict[str, str]:
    """Settings field -> the environment variable it is parsed from."""
    config = module("relay.platform.config")
    assert config is not None
    env: dict[str, str] = {}
    for node in ast.walk(config.tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id != "Settings":
                continue
            for keyword in node.keywords:
                for inner in ast.walk(keyword.value):
                    if (
                        isinstance(inner, ast.Call)
                        and inner.args
                        and isinstance(inner.args[0], ast.Constant)
                        and isinstance(inner.args[0].value, str)
                        and inner.args[0].value.isupper()
                    ):
                        assert keyword.arg is not None
                        env[keyword.arg] = inner.args[0].value
                        break
    return env


def names_used(function_dir: str, candidates: set[str], only_module: str | None = None) -> set[str]:
    """Which of `candidates` (string literals: index names, say) reached code uses: in a
    function or method reached, or in a module constant (`INDEX = "ByOwner"`) that one
    names. A module's top level alone does not count: importing a store to read one item
    does not query its index."""
    units = [u for u in reached(function_dir) if only_module in (None, u.module)]
    used: set[str] = set()
    referenced: set[tuple[str, str]] = set()
    for unit in units:
        if unit.name is None:
            continue
        for node in _nodes_of(unit):
            if isinstance(node, ast.Constant) and node.value in candidates:
                used.add(str(node.value))
            elif isinstance(node, ast.Name):
                referenced.add((unit.module, node.id))
    for unit in units:
        if unit.name is not None:
            continue
        assert isinstance(unit.node, ast.Module)
        for node in unit.node.body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and node.value.value in candidates
                and any(
                    isinstance(t, ast.Name) and (unit.module, t.id) in referenced
                    for t in node.targets
                )
            ):
                used.add(str(node.value.value))
    return used


# ---------------------------------------------------------------- DynamoDB, table by table
_ENTRY_KINDS = ("Put", "Update", "Delete", "ConditionCheck")
_DYNAMO = "relay.platform.dynamo"


@dataclass
class TableUse:
    """What a function does to one table: the API operations its code calls on the
    table's store, the kinds of transaction entries the store builds, the indexes it
    names."""

    operations: set[str] = field(default_factory=set)
    entries: set[str] = field(default_factory=set)
    indexes: set[str] = field(default_factory=set)


def _direct(unit: Unit) -> tuple[set[str], set[str], set[str]]:
    """(DynamoDB operations called, transaction entry kinds built, helper defs of
    relay.platform.dynamo named) in one unit."""
    ops = _operations("dynamodb")
    own = module(unit.module)
    assert own is not None
    operations: set[str] = set()
    entries: set[str] = set()
    helpers: set[str] = set()
    for node in _nodes_of(unit):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = node.func.value
            on_self = isinstance(receiver, ast.Name) and receiver.id in ("self", "cls")
            if not on_self and node.func.attr in ops:
                operations.add(ops[node.func.attr])
        if isinstance(node, ast.Dict):
            entries |= {str(k.value) for k in node.keys if isinstance(k, ast.Constant)} & set(
                _ENTRY_KINDS
            )
        if isinstance(node, ast.Name):
            bound = unit.bindings.get(node.id) or own.top.bindings.get(node.id)
            if unit.module == _DYNAMO and node.id in own.defs:
                helpers.add(node.id)
            elif bound is not None and bound[0] == _DYNAMO and bound[1] is not None:
                helpers.add(bound[1])
    return operations, entries, helpers


def _with_helpers(unit: Unit) -> tuple[set[str], set[str]]:
    """A unit's operations and entry kinds, with those of the storage kit's helpers it
    calls (batch_write, query_pages, put_new...), followed through each other."""
    operations, entries, helpers = _direct(unit)
    dynamo = module(_DYNAMO)
    assert dynamo is not None
    seen: set[str] = set()
    while helpers - seen:
        name = (helpers - seen).pop()
        seen.add(name)
        if name not in dynamo.defs:
            continue
        more_ops, more_entries, more_helpers = _direct(dynamo.defs[name])
        operations |= more_ops
        entries |= more_entries
        helpers |= more_helpers
    return operations, entries


def _store_fields(function_dir: str) -> dict[str, str]:
    """Store module -> the settings field its table's name comes from, where reached
    code builds the store: `LinksTable(client, settings().links_table)`."""
    fields = {f for f in settings_env() if f.endswith("_table")}
    found: dict[str, str] = {}
    for unit in reached(function_dir):
        own = module(unit.module)
        assert own is not None
        for node in _nodes_of(unit):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            store = _resolve(node.func, own)
            if store is None or not store[0].endswith("_table"):
                continue
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                if isinstance(arg, ast.Attribute) and arg.attr in fields:
                    found[store[0]] = arg.attr
    return found


def table_uses(function_dir: str, index_names: set[str]) -> dict[str, TableUse]:
    """Settings field of each table the function's code uses -> what it does there.

    Calls made in a store module (`<name>_table.py`, one per table) belong to that
    store's table, with the storage kit's helpers the store calls. What other modules
    call or build (the outbox's `put_new` entry in relay.platform.events) belongs to
    the tables the code names by their setting without a store (the events table); with
    none, their calls (none today but TransactWriteItems, which has no IAM action of
    its own) belong to every table the function uses."""
    stores = _store_fields(function_dir)
    storeless = {f for f in settings_fields(function_dir) if f.endswith("_table")} - set(
        stores.values()
    )
    uses = {f: TableUse() for f in [*stores.values(), *storeless]}
    for unit in reached(function_dir):
        if unit.module == _DYNAMO:
            continue
        operations, entries = _with_helpers(unit)
        if unit.module in stores:
            targets = [uses[stores[unit.module]]]
        elif storeless:
            operations -= {"TransactWriteItems"}
            targets = [uses[f] for f in storeless]
        else:
            operations -= {"TransactWriteItems"}
            entries = set()
            targets = list(uses.values())
        for use in targets:
            use.operations |= operations
            use.entries |= entries
    for store, setting in stores.items():
        uses[setting].indexes |= names_used(function_dir, index_names, only_module=store)
    return {
        f: use for f, use in uses.items() if use.operations or use.entries or f in stores.values()
    }
