"""A small schema for YAML read with its line numbers: each mistake (an
unknown key, a wrong type, a missing field) is one UserError naming the
file, the line, the key and the fix. Validates the composed node tree, so
the line is where the mistake is, not where the document starts."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import UserError


@dataclass(frozen=True)
class Spec:
    """A value's shape. kind: str | int | number | bool | list | map | obj | any | scalar."""
    kind: str
    example: str = ""                     # how to write it, shown in the fix
    fields: dict[str, "Field"] = field(default_factory=dict)   # obj
    item: "Spec | None" = None            # list items, map values
    choices: tuple[str, ...] = ()
    one_of: tuple[tuple[str, ...], ...] = ()   # obj: exactly one key of a group must be present


@dataclass(frozen=True)
class Field:
    spec: Spec
    required: bool = False
    doc: str = ""


_TYPE_WORDS = {"str": "a string", "int": "an integer", "number": "a number", "bool": "true or false",
               "list": "a list", "map": "a mapping", "obj": "a mapping", "scalar": "a string or number"}


def _where(source: str, node: yaml.Node) -> str:
    return f"{source}:{node.start_mark.line + 1}"


def check(node: yaml.Node, spec: Spec, source: str, path: str) -> None:
    """Raise a UserError at the first mistake in `node` against `spec`."""
    kind = spec.kind
    if kind == "any":
        return
    if kind in ("str", "int", "number", "bool", "scalar"):
        if not isinstance(node, yaml.ScalarNode):
            raise UserError(f"{_where(source, node)}: {path} must be {_TYPE_WORDS[kind]}, not a "
                            f"{'list' if isinstance(node, yaml.SequenceNode) else 'mapping'}{_eg(spec, path)}")
        value = yaml.safe_load(yaml.serialize(node))
        ok = {"str": lambda v: isinstance(v, str),
              "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
              "bool": lambda v: isinstance(v, bool),
              "scalar": lambda v: isinstance(v, (str, int, float, bool))}[kind](value)
        if not ok:
            raise UserError(f"{_where(source, node)}: {path} must be {_TYPE_WORDS[kind]}, got {value!r}{_eg(spec, path)}")
        if spec.choices and value not in spec.choices:
            raise UserError(f"{_where(source, node)}: {path} is {value!r}; use one of {', '.join(spec.choices)}")
        return
    if kind == "list":
        if not isinstance(node, yaml.SequenceNode):
            raise UserError(f"{_where(source, node)}: {path} must be a list{_eg(spec, path)}")
        for i, child in enumerate(node.value):
            check(child, spec.item or Spec("any"), source, f"{path}[{i}]")
        return
    if not isinstance(node, yaml.MappingNode):
        raise UserError(f"{_where(source, node)}: {path} must be a mapping{_eg(spec, path)}")
    seen: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if key in seen:
            raise UserError(f"{_where(source, key_node)}: {path}.{key} is given twice; keep one")
        seen[key] = value_node
        if kind == "map":
            check(value_node, spec.item or Spec("any"), source, f"{path}.{key}" if path else key)
            continue
        if key not in spec.fields:
            allowed = ", ".join(spec.fields)
            raise UserError(f"{_where(source, key_node)}: unknown key {key!r} in {path or 'the project file'}; "
                            f"allowed: {allowed}")
        check(value_node, spec.fields[key].spec, source, f"{path}.{key}" if path else key)
    if kind == "obj":
        for name, f in spec.fields.items():
            if f.required and name not in seen:
                raise UserError(f"{_where(source, node)}: {path or 'the project file'} needs {name!r}; add "
                                f"{name}: {f.spec.example or '...'}{f' ({f.doc})' if f.doc else ''}")
        for group in spec.one_of:
            present = [k for k in group if k in seen]
            if len(present) != 1:
                raise UserError(f"{_where(source, node)}: {path} needs exactly one of {', '.join(group)}"
                                f"{' (has ' + ', '.join(present) + ')' if present else ''}")


def _eg(spec: Spec, path: str) -> str:
    return f"; write e.g. {path.rsplit('.', 1)[-1]}: {spec.example}" if spec.example else ""


def compose(text: str, source: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise UserError(f"{source}{line}: not valid YAML: {exc.problem or exc.context}; fix the syntax")
    except yaml.YAMLError as exc:
        raise UserError(f"{source}: not valid YAML: {str(exc).splitlines()[0]}; fix the syntax")


def line_of(node: yaml.Node, *keys: str) -> int:
    """The line of the value at `keys` (1-based), or of the deepest found."""
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            break
        nxt = next((v for k, v in node.value if str(k.value) == key), None)
        if nxt is None:
            break
        node = nxt
    return node.start_mark.line + 1


def value(node: yaml.Node) -> Any:
    return yaml.safe_load(yaml.serialize(node))
