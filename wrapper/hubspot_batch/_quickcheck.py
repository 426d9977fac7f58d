"""A yes/no test per endpoint that spares the full checker for rows that are plainly fine.

:func:`compile_quick` turns the same request-item schema as
:func:`~hubspot_batch._validate.compile_schema` into one generated Python
function. It returns True only for a ``dict`` row that

- the full checker would pass as it is,
- needs nothing changed by :func:`~hubspot_batch._engine.prepare_row` (no
  ``None`` to drop, no ``datetime`` to convert), and
- holds only exact ``str``, ``bool``, 64-bit ``int``, ``None`` (inside
  free-form objects only), ``list`` and ``dict`` with string keys, which
  :func:`~hubspot_batch._json.encode_plain` may write.

Anything else, including valid rows it does not try to prove valid
(``oneOf``, floats, subclasses of ``str``, ``None`` for an optional field),
gets False, and the row goes the full way: problems are always reported by
the full checker, never by this one.

Code is generated (one function per object schema, the way attrs builds
``__init__``) because every row goes through here, and it runs in a fraction
of the time of the full checker's composed closures.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from ._validate import _DATE_TIME, INT32, INT64, _resolve

__all__ = ["QuickCheck", "compile_quick"]

QuickCheck = Callable[[Any], bool]
"""``check(row) -> bool``: True when the row is a dict that needs no further look."""

_PLAIN_DEPTH = 32


def _plain(value: Any, depth: int = 0) -> bool:
    """Whether free-form ``value`` holds only what :func:`~hubspot_batch._json.encode_plain` may write."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(INT64[0] <= value <= INT64[1])
    if depth >= _PLAIN_DEPTH:
        return False
    if kind is dict:
        return all(type(key) is str and _plain(item, depth + 1) for key, item in value.items())
    if kind is list:
        return all(_plain(item, depth + 1) for item in value)
    return False


class _Source:
    """The generated module: object-checking functions and the constants they use."""

    def __init__(self) -> None:
        self.functions: list[str] = []
        self.count = 0
        self.constants: dict[str, Any] = {"_date_time": _DATE_TIME.match, "_missing": object(), "_plain": _plain}

    def constant(self, value: Any) -> str:
        name = f"_c{len(self.constants)}"
        self.constants[name] = value
        return name

    def test(
        self, schema: Mapping[str, Any], document: Mapping[str, Any], var: str, filled: frozenset[str] = frozenset()
    ) -> str:
        """A Python expression that is True only when ``var`` certainly matches ``schema`` (never for None)."""
        schema = _resolve(schema, document)
        if any(key in schema for key in ("oneOf", "anyOf", "allOf", "not")):
            return "False"  # proven by the full checker only
        kind = schema.get("type")
        if kind is None and "properties" in schema:
            kind = "object"
        enum = schema.get("enum")
        fmt = schema.get("format")
        if kind == "string":
            test = f"type({var}) is str"
            if enum:
                test += f" and {var} in {self.constant(frozenset(e for e in enum if isinstance(e, str)))}"
            if fmt == "date-time":
                test += f" and _date_time({var}) is not None"
            return test
        if kind == "integer":
            low, high = INT32 if fmt == "int32" else INT64
            test = f"type({var}) is int and {low} <= {var} <= {high}"
            if enum:
                allowed = frozenset(e for e in enum if type(e) is int)
                test += f" and {var} in {self.constant(allowed)}"
            return test
        if kind == "number":  # floats are left to the full way (orjson writes some differently)
            return f"type({var}) is int and {INT64[0]} <= {var} <= {INT64[1]}"
        if kind == "boolean":
            return f"type({var}) is bool"
        if kind == "array":
            item = self.test(schema.get("items", {}), document, "_x")
            return f"type({var}) is list and all({item} for _x in {var})"
        if kind == "object":
            return f"{self.object_function(schema, document, filled)}({var})"
        if kind is None and not schema:  # any value
            return f"{var} is not None and _plain({var})"
        return "False"

    def object_function(
        self, schema: Mapping[str, Any], document: Mapping[str, Any], filled: frozenset[str] = frozenset()
    ) -> str:
        """Generate a function testing one object schema; return its name.

        ``filled``: required fields that may be absent (the client fills them in).
        """
        name = f"_object{self.count}"
        self.count += 1
        declared: Mapping[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", ())) - filled
        extra = schema.get("additionalProperties")
        lines = [f"def {name}(v):", "    if type(v) is not dict:", "        return False"]
        if isinstance(extra, Mapping):  # a map: undeclared keys must be strings with matching values
            lines += ["    for _k, _x in v.items():"]
            if declared:
                lines += [f"        if _k in {self.constant(frozenset(declared))}:", "            continue"]
            lines += [
                f"        if type(_k) is not str or not ({self.test(extra, document, '_x')}):",
                "            return False",
            ]
        elif declared and extra is not True:  # closed: every key must be a declared field
            lines += [f"    if not {self.constant(frozenset(declared))}.issuperset(v):", "        return False"]
        else:  # free-form: string keys, plain values
            lines += [
                "    for _k, _x in v.items():",
                f"        if _k not in {self.constant(frozenset(declared))} and not (type(_k) is str and _plain(_x)):",
                "            return False",
            ]
        for field, sub in declared.items():
            test = self.test(sub, document, "_x")
            field_name = repr(field) if type(field) is str else self.constant(field)
            if field in required:
                lines += [f"    _x = v.get({field_name})", f"    if not ({test}):", "        return False"]
            else:
                lines += [
                    f"    _x = v.get({field_name}, _missing)",
                    f"    if _x is not _missing and not ({test}):",
                    "        return False",
                ]
        for field in sorted(required - set(declared)):  # required but undeclared: present and not None
            lines += [f"    if v.get({self.constant(field)}) is None:", "        return False"]
        lines.append("    return True")
        self.functions.append("\n".join(lines))
        return name


def compile_quick(
    schema: Mapping[str, Any], document: Mapping[str, Any], *, filled: Collection[str] = ()
) -> QuickCheck:
    """Compile a request-item ``schema`` into a :data:`QuickCheck` (see the module's docstring).

    ``filled`` names the top-level fields the client fills in when they are
    missing (ids, trace ids): the row is tested before they are, so they may
    be absent, but not ``None``.
    """
    source = _Source()
    top = source.test(schema, document, "row", frozenset(filled))
    if not top.startswith("_object"):  # a row is an object; anything else is left to the full checker
        return lambda row: False
    name = top.split("(", 1)[0]
    namespace: dict[str, Any] = dict(source.constants)
    code = "\n\n".join(source.functions)
    exec(compile(code, f"<quick check of {schema.get('title', 'a request item')}>", "exec"), namespace)
    check: QuickCheck = namespace[name]
    return check
