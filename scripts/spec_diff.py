r"""Report what a new HubSpot OpenAPI description changes for our batch operations.

Read this report before regenerating (see ``scripts/regenerate.py``): it lists,
per operation, the path and method, the parameters, every field of the request
body and of each response body (``$ref``\ s followed; array items as ``field[]``,
map values as ``field{}``, e.g. ``inputs[].properties{}``), the status codes, and
the security schemes, scopes and requirements that NEW adds, removes or changes
compared with OLD.

Usage::

    python scripts/spec_diff.py OLD NEW                       # operations of specs/sources.yaml
    python scripts/spec_diff.py OLD NEW --path /x/batch [--method post]
    python scripts/spec_diff.py OLD NEW --old-path /v3/x/batch --new-path /2026-09/x/batch
    python scripts/spec_diff.py OLD NEW --json                # the same, as JSON
    python scripts/spec_diff.py --count FILE [--path P --method M]
    python scripts/spec_diff.py --count-all                   # name, upstream count, vendored count

Without ``--path``, the operations compared are the ``specs/sources.yaml``
entries whose path is in OLD or NEW; when exactly one entry matches each file,
the two are paired even if the path differs (a renamed path). ``--count``
counts the distinct fields (one per body and dotted path) of the request body
and the 2xx responses. Exit status: 0 without differences, 1 with, 2 on bad
input (missing file, operation not found).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import vendor_spec

Json = Any
Change = dict[str, Any]
ASPECTS = ("type", "format", "required", "nullable", "enum", "additionalProperties", "limits", "content")
LIMITS = ("minItems", "maxItems", "minLength", "maxLength", "minimum", "maximum", "pattern")
GROUPS = ("operation", "parameter", "field", "status code", "scheme", "scope", "requirement")


class DiffError(Exception):
    """The input cannot be compared as asked (bad file, operation not found)."""


# --------------------------------------------------------------------------- reading


def resolve(doc: Json, node: Json) -> Json:
    """``node`` with its local ``$ref`` followed (a non-local ref is returned as is)."""
    seen: set[str] = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        ref = node["$ref"]
        if ref in seen:
            raise DiffError(f"circular $ref {ref}")
        seen.add(ref)
        target = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise DiffError(f"dangling $ref {ref}")
            target = target[part]
        node = target
    return node


def get_operation(doc: Json, method: str, path: str) -> Json | None:
    """The operation object at ``method path``, or None."""
    item = doc.get("paths", {}).get(path)
    operation = item.get(method.lower()) if isinstance(item, dict) else None
    return operation if isinstance(operation, dict) else None


def _facts(doc: Json, schema: Json, required: bool | None) -> dict[str, Any]:
    """The compared facts of one (resolved) schema node."""
    declared = schema.get("type")
    types = declared if isinstance(declared, list) else [declared] if declared else []
    nullable = bool(schema.get("nullable")) or "null" in types
    types = [t for t in types if t != "null"]
    variants = [resolve(doc, s) for key in ("oneOf", "anyOf") for s in schema.get(key, [])]
    if variants:
        kind = "oneOf" if "oneOf" in schema else "anyOf"
        inner = sorted({str(_facts(doc, v, None)["type"]) for v in variants})
        type_ = f"{kind}({'|'.join(inner)})"
    elif types:
        type_ = "|".join(sorted(types))
    else:
        type_ = (
            "array"
            if "items" in schema
            else "object"
            if {"properties", "additionalProperties"} & set(schema)
            else "any"
        )
    extra = schema.get("additionalProperties")
    return {
        "type": type_,
        "format": schema.get("format"),
        "required": required,
        "nullable": nullable,
        "enum": schema.get("enum"),
        "additionalProperties": "schema" if isinstance(extra, dict) else extra,
        "limits": {k: schema[k] for k in LIMITS if k in schema} or None,
    }


def _merged(doc: Json, schema: Json) -> Json:
    """A schema with its ``allOf`` parts merged in (properties and required lists joined)."""
    if "allOf" not in schema:
        return schema
    merged: Json = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema["allOf"]:
        part = _merged(doc, resolve(doc, part))
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**value, **merged.get("properties", {})}
            elif key == "required":
                merged["required"] = sorted(set(merged.get("required", [])) | set(value))
            else:
                merged.setdefault(key, value)
    return merged


def _walk(doc: Json, schema: Json, path: str, required: bool | None, refs: tuple[str, ...], out: dict) -> None:
    """Record ``schema`` at ``path`` in ``out``, then its properties, items and map values."""
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    if isinstance(ref, str):
        if ref in refs:  # a recursive schema: stop here, the field is still recorded
            out.setdefault(path, {**_facts(doc, {}, required), "type": f"recursive {ref.rsplit('/', 1)[-1]}"})
            return
        refs = (*refs, ref)
    schema = _merged(doc, resolve(doc, schema)) if isinstance(schema, dict) else {}
    if path in out:
        return
    out[path] = _facts(doc, schema, required)
    variants = [schema] + [s for key in ("oneOf", "anyOf") for s in schema.get(key, [])]
    for variant in variants:
        if "$ref" in variant:
            if variant["$ref"] in refs:
                continue
            variant, refs = _merged(doc, resolve(doc, variant)), (*refs, variant["$ref"])
        names = set(variant.get("required", []))
        for name, sub in variant.get("properties", {}).items():
            _walk(doc, sub, f"{path}.{name}" if path else name, name in names, refs, out)
        if isinstance(variant.get("items"), dict):
            _walk(doc, variant["items"], f"{path}[]", None, refs, out)
        if isinstance(variant.get("additionalProperties"), dict):
            _walk(doc, variant["additionalProperties"], f"{path}{{}}", None, refs, out)


def body_fields(doc: Json, holder: Json) -> dict[str, dict[str, Any]]:
    """Fields of a request body or response: dotted path -> facts; ``""`` is the body itself."""
    holder = resolve(doc, holder) or {}
    content = holder.get("content") or {}
    media = content.get("application/json") or next((m for m in content.values() if "schema" in m), {})
    out: dict[str, dict[str, Any]] = {}
    _walk(doc, media.get("schema", {}), "", holder.get("required"), (), out)
    out[""]["content"] = sorted(content)
    return out


def count_fields(doc: Json, method: str, path: str, label: str = "the document") -> int:
    """How many distinct (body, dotted path) fields the request body and 2xx responses describe."""
    operation = get_operation(doc, method, path)
    if operation is None:
        raise DiffError(f"{method.upper()} {path} is not in {label}")
    bodies = [operation.get("requestBody", {})]
    bodies += [r for code, r in operation.get("responses", {}).items() if str(code).startswith("2")]
    return sum(len([p for p in body_fields(doc, body) if p]) for body in bodies)


# --------------------------------------------------------------------------- comparing


def _change(section: str, group: str, change: str, name: str, **extra: Any) -> Change:
    """One change record."""
    return {"section": section, "group": group, "change": change, "name": name, **extra}


def _describe(facts: dict[str, Any]) -> str:
    """A short reading of a field's facts: ``integer int64, required, nullable``."""
    words = [" ".join(str(facts[k]) for k in ("type", "format") if facts.get(k))]
    words += [k for k in ("required", "nullable") if facts.get(k)]
    if facts.get("enum"):
        words.append("enum " + ", ".join(map(str, facts["enum"])))
    return ", ".join(words)


def _order(path: str) -> str:
    """Sort key keeping a field's ``[]``/``{}``/``.x`` children right after it."""
    return path.replace(".", "\x00").replace("[]", "\x01").replace("{}", "\x02")


def field_changes(old: dict[str, dict], new: dict[str, dict], section: str, group: str = "field") -> list[Change]:
    """Fields added, removed and changed between two ``body_fields`` (or ``_parameters``) results."""
    changes = [
        _change(section, group, "added", p, new=_describe(new[p])) for p in sorted(set(new) - set(old), key=_order)
    ]
    changes += [
        _change(section, group, "removed", p, old=_describe(old[p])) for p in sorted(set(old) - set(new), key=_order)
    ]
    for path in sorted(set(old) & set(new), key=_order):
        for aspect in ASPECTS:
            before, after = old[path].get(aspect), new[path].get(aspect)
            if aspect == "enum" and before != after:
                values_before, values_after = before or [], after or []
                added = [v for v in values_after if v not in values_before]
                removed = [v for v in values_before if v not in values_after]
                changes.append(_change(section, group, "changed", path, aspect="enum", added=added, removed=removed))
            elif before != after:
                changes.append(_change(section, group, "changed", path, aspect=aspect, old=before, new=after))
    return changes


def _parameters(doc: Json, path: str, operation: Json) -> dict[str, dict[str, Any]]:
    """The parameters of an operation (path-level ones included): ``in name`` -> facts."""
    found: dict[str, dict[str, Any]] = {}
    for raw in doc["paths"][path].get("parameters", []) + operation.get("parameters", []):
        param = resolve(doc, raw)
        found[f"{param.get('in')} {param.get('name')}"] = _facts(
            doc, resolve(doc, param.get("schema", {})), bool(param.get("required"))
        )
    return found


def _security(doc: Json, operation: Json) -> list[dict[str, list[str]]]:
    """The security requirements in force for ``operation``."""
    requirements = operation.get("security", doc.get("security", []))
    return [{k: sorted(v or []) for k, v in r.items()} for r in requirements]


def _requirement_text(requirement: dict[str, list[str]]) -> str:
    """``oauth2[a+b] & hapikey``: every scheme (and scope) one requirement asks for at once."""
    return " & ".join(f"{k}[{'+'.join(v)}]" if v else k for k, v in sorted(requirement.items())) or "(none)"


def _scopes(requirements: list[dict[str, list[str]]]) -> dict[str, list[str]]:
    """Scope name -> the schemes that ask for it."""
    found: dict[str, set[str]] = {}
    for requirement in requirements:
        for scheme, scopes in requirement.items():
            for scope in scopes:
                found.setdefault(scope, set()).add(scheme)
    return {scope: sorted(schemes) for scope, schemes in found.items()}


def security_changes(old_doc: Json, old_op: Json, new_doc: Json, new_op: Json) -> list[Change]:
    """Schemes and scopes added or removed; whole requirements too when one combines several.

    A requirement (one entry of ``security``) naming two schemes, or one scheme
    with two scopes, asks for all of them at once; when neither document has
    such a requirement, the scheme and scope changes say everything.
    """
    old_req, new_req = _security(old_doc, old_op), _security(new_doc, new_op)
    sides = {"added": (new_req, old_req, new_doc), "removed": (old_req, new_req, old_doc)}
    changes: list[Change] = []
    for change, (mine, theirs, doc) in sides.items():
        declared = doc.get("components", {}).get("securitySchemes", {})
        for name in sorted({k for r in mine for k in r} - {k for r in theirs for k in r}):
            kind = declared[name].get("type") if name in declared else "not declared in components"
            changes.append(_change("security", "scheme", change, name, kind=kind))
    for change, (mine, theirs, _doc) in sides.items():
        scopes, other = _scopes(mine), _scopes(theirs)
        changes += [
            _change("security", "scope", change, s, schemes=scopes[s]) for s in sorted(set(scopes) - set(other))
        ]
    if any(len(r) > 1 or any(len(v) > 1 for v in r.values()) for r in old_req + new_req):
        for change, (mine, theirs, _doc) in sides.items():
            names = {_requirement_text(r) for r in mine} - {_requirement_text(r) for r in theirs}
            changes += [_change("security", "requirement", change, n) for n in sorted(names)]
    return changes


def operation_changes(old_doc: Json, old_key: tuple[str, str], new_doc: Json, new_key: tuple[str, str]) -> list[Change]:
    """Every change from ``old_key`` (method, path) in OLD to ``new_key`` in NEW."""
    old_op, new_op = get_operation(old_doc, *old_key), get_operation(new_doc, *new_key)
    if old_op is None or new_op is None:
        missing, doc_name = (old_key, "OLD") if old_op is None else (new_key, "NEW")
        raise DiffError(f"{missing[0].upper()} {missing[1]} is not in {doc_name}")
    changes: list[Change] = []
    if old_key != new_key:
        old_name, new_name = (f"{m.upper()} {p}" for m, p in (old_key, new_key))
        changes.append(_change("operation", "operation", "renamed", new_name, old=old_name, new=new_name))
    old_params, new_params = _parameters(old_doc, old_key[1], old_op), _parameters(new_doc, new_key[1], new_op)
    changes += field_changes(old_params, new_params, "parameters", "parameter")
    changes += field_changes(
        body_fields(old_doc, old_op.get("requestBody", {})),
        body_fields(new_doc, new_op.get("requestBody", {})),
        "request",
    )
    old_responses, new_responses = old_op.get("responses", {}), new_op.get("responses", {})
    for code in sorted(set(old_responses) | set(new_responses)):
        if code not in old_responses or code not in new_responses:
            change, doc, holder = (
                ("added", new_doc, new_responses) if code in new_responses else ("removed", old_doc, old_responses)
            )
            fields = len([p for p in body_fields(doc, holder[code]) if p])
            changes.append(_change("status codes", "status code", change, code, fields=fields))
        else:
            old_fields = body_fields(old_doc, old_responses[code])
            changes += field_changes(old_fields, body_fields(new_doc, new_responses[code]), f"response {code}")
    return changes + security_changes(old_doc, old_op, new_doc, new_op)


def _keys_in(doc: Json, sources: list[Json]) -> list[tuple[str, str]]:
    """The (method, path) of the sources.yaml entries present in ``doc``, in file order."""
    keys = [(e["method"].lower(), e["path"]) for e in sources]
    return sorted({k for k in keys if get_operation(doc, *k) is not None}, key=keys.index)


def pair_operations(old_doc: Json, new_doc: Json, sources: list[Json]) -> list[tuple[Any, Any]]:
    """Pairs (old key or None, new key or None) of the sources.yaml operations found in OLD or NEW."""
    in_old, in_new = _keys_in(old_doc, sources), _keys_in(new_doc, sources)
    if not in_old and not in_new:
        raise DiffError("no operation of specs/sources.yaml is in OLD or NEW; give --path or --old-path/--new-path")
    if len(in_old) == 1 and len(in_new) == 1:
        return [(in_old[0], in_new[0])]
    return [(k if k in in_old else None, k if k in in_new else None) for k in dict.fromkeys(in_old + in_new)]


def _name(key: tuple[str, str] | None) -> str | None:
    """``POST /x/batch`` for the key ``("post", "/x/batch")``."""
    return f"{key[0].upper()} {key[1]}" if key else None


def diff(old_doc: Json, new_doc: Json, pairs: list[tuple[Any, Any]]) -> list[Json]:
    """The report: one entry per pair, with its change records."""
    report = []
    for old_key, new_key in pairs:
        entry = {"old": _name(old_key), "new": _name(new_key)}
        if old_key and new_key:
            entry["changes"] = operation_changes(old_doc, old_key, new_doc, new_key)
        else:
            change, key = ("removed", old_key) if old_key else ("added", new_key)
            entry["changes"] = [_change("operation", "operation", change, _name(key))]
        report.append(entry)
    return report


# --------------------------------------------------------------------------- output


def summarize(changes: list[Change]) -> str:
    """One line: ``3 fields added, 1 removed, 2 changed, 1 status code added``."""
    parts = []
    for group in GROUPS:
        first = True
        for change in ("added", "removed", "renamed", "changed"):
            n = sum(1 for c in changes if c["group"] == group and c["change"] == change)
            if n:
                noun = f" {group}{'' if n == 1 else 's'}" if first else ""
                parts.append(f"{n}{noun} {change}")
                first = False
    return ", ".join(parts) or "no differences"


def _line(c: Change) -> str:
    """One change record as a line of the text report."""
    name = c["name"] or "(body)"
    if c["group"] in ("field", "parameter") and c["change"] == "changed":
        if c["aspect"] == "enum":
            moves = [f"+{v}" for v in c["added"]] + [f"-{v}" for v in c["removed"]]
            return f"changed  {name}: enum {' '.join(map(str, moves))}"
        return f"changed  {name}: {c['aspect']} {json.dumps(c['old'])} -> {json.dumps(c['new'])}"
    if c["group"] in ("field", "parameter"):
        return f"{c['change']:<8} {name} ({c.get('new') or c.get('old')})"
    if c["group"] == "operation" and c["change"] == "renamed":
        return f"renamed  {c['old']} -> {c['new']}"
    if c["group"] == "status code":
        return f"{c['change']:<8} {name} ({c['fields']} body fields)"
    detail = f" ({c['kind']})" if "kind" in c else f" ({', '.join(c['schemes'])})" if "schemes" in c else ""
    label = "" if c["group"] in ("operation", "parameter") else f"{c['group']} "
    return f"{c['change']:<8} {label}{name}{detail}"


def render(report: list[Json]) -> str:
    """The text report: per operation, changes grouped by section, then the summary line."""
    lines: list[str] = []
    for entry in report:
        lines.append(" -> ".join(dict.fromkeys(n for n in (entry["old"], entry["new"]) if n)))
        sections = dict.fromkeys(c["section"] for c in entry["changes"])
        for section in sections:
            lines.append(f"  {section}")
            lines += [f"    {_line(c)}" for c in entry["changes"] if c["section"] == section]
        if not entry["changes"]:
            lines.append("  no differences")
    lines.append(summarize([c for e in report for c in e["changes"]]))
    return "\n".join(lines)


def _load(source: str) -> Json:
    """A description from a path, or a DiffError saying why it cannot be read."""
    try:
        doc = vendor_spec.load_document(source)
    except FileNotFoundError:
        raise DiffError(f"{source}: no such file") from None
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise DiffError(f"{source}: cannot read: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
        raise DiffError(f"{source}: not an OpenAPI description (no paths)")
    return doc


def _count_key(doc: Json, args: argparse.Namespace, sources: list[Json]) -> tuple[str, str]:
    """The operation ``--count`` counts: the one asked for, or the one sources.yaml entry present."""
    if args.path:
        return (args.method or "post").lower(), args.path
    keys = _keys_in(doc, sources)
    if len(keys) != 1:
        raise DiffError(f"{len(keys)} operations of specs/sources.yaml are in {args.count}; give --path and --method")
    return keys[0]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", nargs="?", help="the older description (JSON or YAML)")
    parser.add_argument("new", nargs="?", help="the newer description (JSON or YAML)")
    parser.add_argument("--path", help="the operation's path in both documents")
    parser.add_argument("--method", help="the operation's method (default post)")
    parser.add_argument("--old-path", help="the operation's path in OLD")
    parser.add_argument("--new-path", help="the operation's path in NEW")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--count", metavar="FILE", help="count the fields of one operation of FILE")
    parser.add_argument("--count-all", action="store_true", help="count upstream and vendored fields per source")
    args = parser.parse_args(argv)
    try:
        sources = vendor_spec.load_sources()
        if args.count_all:
            rows = []
            for e in sources:
                key = (e["method"].lower(), e["path"])
                up, vendored = (
                    count_fields(_load(str(vendor_spec.ROOT / e[f])), *key, e[f]) for f in ("upstream", "output")
                )
                rows.append((e["name"], up, vendored))
            out = [dict(zip(("name", "upstream", "vendored"), r, strict=True)) for r in rows]
            print(json.dumps(out, indent=2) if args.json else "\n".join(f"{n}, {u}, {v}" for n, u, v in rows))
            return 0
        if args.count:
            doc = _load(args.count)
            method, path = _count_key(doc, args, sources)
            n = count_fields(doc, method, path, args.count)
            print(json.dumps({"operation": f"{method.upper()} {path}", "fields": n}) if args.json else n)
            return 0
        if not args.old or not args.new:
            parser.error("give OLD and NEW (or --count FILE / --count-all)")
        old_doc, new_doc = _load(args.old), _load(args.new)
        method = (args.method or "post").lower()
        old_path, new_path = args.old_path or args.path, args.new_path or args.path
        if old_path or new_path:
            if not (old_path and new_path):
                parser.error("give --path, or both --old-path and --new-path")
            for doc, path, label in ((old_doc, old_path, args.old), (new_doc, new_path, args.new)):
                if get_operation(doc, method, path) is None:
                    raise DiffError(f"{method.upper()} {path} is not in {label}")
            pairs = [((method, old_path), (method, new_path))]
        else:
            pairs = pair_operations(old_doc, new_doc, sources)
        report = diff(old_doc, new_doc, pairs)
    except DiffError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    changes = [c for e in report for c in e["changes"]]
    if args.json:
        print(json.dumps({"operations": report, "summary": summarize(changes)}, indent=2, default=str))
    else:
        print(render(report))
    return 1 if changes else 0


if __name__ == "__main__":
    sys.exit(main())
