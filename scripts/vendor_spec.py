r"""Vendor one operation of a HubSpot OpenAPI description into ``specs/``.

HubSpot publishes one OpenAPI document per API. We keep only the batch
operation each endpoint of ours uses, give it a readable ``operationId`` (the
generator names modules after it), keep the components it reaches and nothing
else, drop ``"example": null`` (Prism would answer ``null``), and apply the
corrections recorded in ``specs/overrides.yaml``, each with its reason.

Usage::

    python scripts/vendor_spec.py --all              # every spec in specs/sources.yaml
    python scripts/vendor_spec.py --all --check      # fail if specs/ would change
    python scripts/vendor_spec.py --name crm-communications-v3 --fetch URL --save-upstream PATH
    python scripts/vendor_spec.py --upstream FILE --method post --path /x/batch \\
        --operation-id batch_x --tag x --name x --output specs/x.json

The functions here are pure (document in, document out) so that the tests can
drive them on small fixtures.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "specs" / "sources.yaml"
OVERRIDES = ROOT / "specs" / "overrides.yaml"

Json = Any
MARK = "x-hubspot-batch"
"""The extension on a vendored operation that names the library's endpoint and API version."""
ACTIONS = (
    "set",
    "remove",
    "remove_required",
    "add_properties",
    "replace_content_type",
    "open_response_enums",
    "drop_undeclared_security",
)


class VendorError(Exception):
    """A description or an override cannot be applied as asked."""


# --------------------------------------------------------------------------- refs


def _refs(node: Json) -> Iterator[str]:
    """Every ``$ref`` string found anywhere below ``node``."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _split_ref(ref: str) -> tuple[str, str]:
    prefix = "#/components/"
    if not ref.startswith(prefix):
        raise VendorError(f"only local component refs are supported, got {ref!r}")
    kind, _, name = ref[len(prefix) :].partition("/")
    return kind, name


def reachable(doc: Json, roots: Iterable[Json]) -> set[tuple[str, str]]:
    """Components (kind, name) reachable from ``roots`` through ``$ref``."""
    seen: set[tuple[str, str]] = set()
    stack = [ref for root in roots for ref in _refs(root)]
    components = doc.get("components", {})
    while stack:
        key = _split_ref(stack.pop())
        if key in seen:
            continue
        kind, name = key
        try:
            target = components[kind][name]
        except KeyError as exc:
            raise VendorError(f"dangling $ref #/components/{kind}/{name}") from exc
        seen.add(key)
        stack.extend(_refs(target))
    return seen


# --------------------------------------------------------------------------- trim


def _drop_null_examples(node: Json) -> Json:
    if isinstance(node, dict):
        return {k: _drop_null_examples(v) for k, v in node.items() if not (k == "example" and v is None)}
    if isinstance(node, list):
        return [_drop_null_examples(v) for v in node]
    return node


def _prune_components(doc: Json) -> None:
    """Remove every component the paths no longer reach."""
    operations = list(doc.get("paths", {}).values())
    keep = reachable(doc, operations)
    components = doc.get("components", {})
    for kind in list(components):
        if kind == "securitySchemes":
            continue
        for name in list(components[kind]):
            if (kind, name) not in keep:
                del components[kind][name]
        if not components[kind]:
            del components[kind]


def trim(doc: Json, method: str, path: str, operation_id: str, tag: str) -> Json:
    """Keep one operation and what it reaches; rename it; drop null examples."""
    doc = copy.deepcopy(doc)
    paths = doc.get("paths", {})
    if path not in paths or method not in paths[path]:
        raise VendorError(f"{method.upper()} {path} is not in the upstream description")
    path_item = paths[path]
    operation = path_item[method]
    operation["operationId"] = operation_id
    operation["tags"] = [tag]
    kept_item = {k: v for k, v in path_item.items() if k in ("parameters", "summary", "description")}
    kept_item[method] = operation
    doc["paths"] = {path: kept_item}
    used_tags = {tag}
    doc["tags"] = [t for t in doc.get("tags", []) if t.get("name") in used_tags] or [{"name": tag}]
    security = operation.get("security", doc.get("security", []))
    scheme_names = {name for requirement in security for name in requirement}
    schemes = doc.get("components", {}).get("securitySchemes", {})
    for name in list(schemes):
        if name not in scheme_names:
            del schemes[name]
    _prune_components(doc)
    result: Json = _drop_null_examples(doc)
    return result


# --------------------------------------------------------------------------- overrides


def _pointer_parts(pointer: str) -> list[str]:
    if not pointer.startswith("/"):
        raise VendorError(f"JSON pointer must start with '/': {pointer!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]


def _resolve_parent(doc: Json, pointer: str) -> tuple[Json, str]:
    parts = _pointer_parts(pointer)
    node = doc
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(pointer)
    return node, parts[-1]


def _schema(doc: Json, name: str) -> Json:
    try:
        return doc["components"]["schemas"][name]
    except KeyError:
        raise KeyError(f"#/components/schemas/{name}") from None


def _walk_schema(schema: Json) -> Iterator[Json]:
    """The schema and its inline sub-schemas (not following ``$ref``)."""
    if not isinstance(schema, dict) or "$ref" in schema:
        return
    yield schema
    for key in ("properties",):
        for sub in schema.get(key, {}).values():
            yield from _walk_schema(sub)
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            yield from _walk_schema(schema[key])
    for key in ("allOf", "oneOf", "anyOf"):
        for sub in schema.get(key, []):
            yield from _walk_schema(sub)


def _open_response_enums(doc: Json) -> bool:
    """Response-only schemas accept values HubSpot adds later: drop their enums.

    The known values stay in ``x-known-values`` and the description. A schema
    reached by both a request and a response cannot be both strict and open:
    that is an error the override file must resolve.
    """
    operations = [op for item in doc["paths"].values() for op in item.values() if isinstance(op, dict)]
    request_roots = [op.get("requestBody", {}) for op in operations] + [op.get("parameters", []) for op in operations]
    response_roots = [op.get("responses", {}) for op in operations]
    request_side = {name for kind, name in reachable(doc, request_roots) if kind == "schemas"}
    response_side = {name for kind, name in reachable(doc, response_roots) if kind == "schemas"}
    changed = False
    for name in sorted(response_side):
        for sub in _walk_schema(_schema(doc, name)):
            if "enum" not in sub:
                continue
            if name in request_side:
                raise VendorError(
                    f"schema {name} has an enum and is used by both requests and responses; "
                    "split it with an override before opening response enums"
                )
            known = sub.pop("enum")
            sub["x-known-values"] = known
            note = "Known values: " + ", ".join(str(v) for v in known) + " (others may appear)."
            sub["description"] = f"{sub['description']} {note}" if sub.get("description") else note
            changed = True
    return changed


def _drop_undeclared_security(doc: Json) -> bool:
    """Drop security requirements that name a scheme the document does not declare.

    HubSpot's descriptions list internal schemes (cookies, internal keys) in
    ``security`` without declaring them in ``components.securitySchemes``,
    which makes the document invalid for strict readers.
    """
    declared = set(doc.get("components", {}).get("securitySchemes", {}))
    lists = [doc] + [op for item in doc["paths"].values() for op in item.values() if isinstance(op, dict)]
    changed = False
    for holder in lists:
        requirements = holder.get("security")
        if not isinstance(requirements, list):
            continue
        kept = [r for r in requirements if set(r) <= declared]
        if len(kept) != len(requirements):
            holder["security"] = kept
            changed = True
    return changed


def apply_override(doc: Json, override: Json) -> bool:
    """Apply one override entry to ``doc`` in place; False when its target is absent."""
    action = next(a for a in ACTIONS if a in override)
    arg = override[action]
    try:
        if action == "set":
            parent, key = _resolve_parent(doc, arg["pointer"])
            parent[int(key) if isinstance(parent, list) else key] = copy.deepcopy(arg["value"])
        elif action == "remove":
            parent, key = _resolve_parent(doc, arg["pointer"])
            if isinstance(parent, list):
                del parent[int(key)]
            elif key in parent:
                del parent[key]
            else:
                raise KeyError(arg["pointer"])
        elif action == "remove_required":
            schema = _schema(doc, arg["schema"])
            names = arg["properties"]
            if names == "all":
                schema.pop("required", None)
            else:
                stale = [n for n in names if n not in schema.get("required", [])]
                if stale:  # HubSpot fixed it (or the name is wrong): say so instead of passing silently
                    raise KeyError(f"{arg['schema']}.required has no {', '.join(stale)}")
                remaining = [r for r in schema.get("required", []) if r not in names]
                if remaining:
                    schema["required"] = remaining
                else:
                    schema.pop("required", None)
        elif action == "add_properties":
            schema = _schema(doc, arg["schema"])
            for prop, prop_schema in arg["properties"].items():
                schema.setdefault("properties", {})[prop] = copy.deepcopy(prop_schema)
        elif action == "replace_content_type":
            return _replace_content_type(doc, arg["from"], arg["to"])
        elif action == "open_response_enums":
            return _open_response_enums(doc)
        elif action == "drop_undeclared_security":
            return _drop_undeclared_security(doc)
    except KeyError:
        return False
    return True


def _replace_content_type(doc: Json, old: str, new: str) -> bool:
    changed = False
    holders = [
        r
        for item in doc["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
        for r in op.get("responses", {}).values()
    ]
    holders += list(doc.get("components", {}).get("responses", {}).values())
    for response in holders:
        content = response.get("content", {})
        if old in content:
            response["content"] = {(new if k == old else k): v for k, v in content.items()}
            changed = True
    return changed


def load_overrides(path: Path = OVERRIDES) -> list[Json]:
    """Read and check the override file: every entry has an id, a reason and one action."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))["overrides"]
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"{path.name} entry {index} ({entry.get('id', '?')})"
        if not entry.get("id") or entry["id"] in seen:
            raise VendorError(f"{where}: needs a unique id")
        seen.add(entry["id"])
        if not str(entry.get("reason", "")).strip():
            raise VendorError(f"{where}: every override needs a reason")
        actions = [a for a in ACTIONS if a in entry]
        if len(actions) != 1:
            raise VendorError(f"{where}: needs exactly one action of {', '.join(ACTIONS)}")
        if "specs" not in entry:
            raise VendorError(f"{where}: say which specs it applies to ('*' for all)")
    return entries


def _applies_to(entry: Json, name: str) -> bool:
    specs = entry["specs"]
    return bool(specs == "*" or name in specs)


def apply_overrides(doc: Json, name: str, overrides: list[Json]) -> tuple[Json, list[str]]:
    """Apply every override for spec ``name``; return the document and the ids applied.

    An override that names this spec explicitly must find its target; a
    wildcard one is skipped where its target is absent.
    """
    doc = copy.deepcopy(doc)
    applied: list[str] = []
    for entry in overrides:
        if not _applies_to(entry, name):
            continue
        if apply_override(doc, entry):
            applied.append(entry["id"])
        elif entry["specs"] != "*":
            raise VendorError(f"override {entry['id']} does not apply to {name}: its target is missing")
    _prune_components(doc)
    return doc, applied


# --------------------------------------------------------------------------- vendor


def vendor(
    upstream: Json,
    *,
    name: str,
    method: str,
    path: str,
    operation_id: str,
    tag: str,
    overrides: list[Json],
    source: str,
    endpoint: str | None = None,
    api_version: str | None = None,
) -> tuple[Json, list[str]]:
    """Upstream description in, vendored spec out (plus the override ids applied).

    ``endpoint`` and ``api_version`` (from ``specs/sources.yaml``) are stamped
    on the operation as ``x-hubspot-batch``: the wrapper finds its endpoints,
    paths, scopes and models by that mark, so a newly vendored version needs
    no code change to be usable.
    """
    raw = json.dumps(upstream, sort_keys=True).encode()
    doc = trim(upstream, method, path, operation_id, tag)
    if endpoint is not None:
        if not api_version:
            raise VendorError(f"{name}: an entry naming an endpoint must also give its api_version")
        doc["paths"][path][method][MARK] = {"endpoint": endpoint, "api-version": str(api_version)}
    doc, applied = apply_overrides(doc, name, overrides)
    doc.setdefault("info", {})["x-vendored"] = {
        "source": source,
        "source-sha256": hashlib.sha256(raw).hexdigest(),
        "operation": f"{method.upper()} {path}",
        "overrides": applied,
        "tool": "scripts/vendor_spec.py",
    }
    _validate(doc, name)
    return doc, applied


def _validate(doc: Json, name: str) -> None:
    from openapi_spec_validator import validate

    try:
        validate(doc)
    except Exception as exc:  # the validator raises several unrelated types
        raise VendorError(f"{name}: vendored document is not valid OpenAPI: {exc}") from exc


def dump(doc: Json) -> str:
    """The one serialisation used for every file in specs/ (stable, diff-friendly)."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def load_document(source: str) -> Json:
    """Read a description from a local path (JSON or YAML) or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        import httpx

        response = httpx.get(source, timeout=60.0, follow_redirects=True)
        response.raise_for_status()
        text = response.text
    else:
        text = Path(source).read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        return json.loads(text)
    return _json_keys(yaml.load(text, Loader=_JsonCompatibleLoader))


class _JsonCompatibleLoader(yaml.SafeLoader):
    """YAML as JSON sees it: dates stay strings (``2023-11-07T05:31:56Z`` in examples)."""


_JsonCompatibleLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _json_keys(node: Json) -> Json:
    """Mapping keys as strings, as in JSON (YAML reads ``200:`` as an int)."""
    if isinstance(node, dict):
        return {str(k): _json_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_json_keys(v) for v in node]
    return node


def load_sources(path: Path = SOURCES) -> list[Json]:
    """The entries of specs/sources.yaml."""
    entries: list[Json] = yaml.safe_load(path.read_text(encoding="utf-8"))["specs"]
    return entries


def _vendor_entry(entry: Json, overrides: list[Json], *, upstream_source: str | None, check: bool) -> bool:
    source = upstream_source or str(ROOT / entry["upstream"])
    upstream = load_document(source)
    doc, applied = vendor(
        upstream,
        name=entry["name"],
        method=entry["method"],
        path=entry["path"],
        operation_id=entry["operation_id"],
        tag=entry["tag"],
        overrides=overrides,
        source=entry["upstream"] if upstream_source is None else upstream_source,
        endpoint=entry.get("endpoint"),
        api_version=entry.get("api_version"),
    )
    out = ROOT / entry["output"]
    text = dump(doc)
    if check:
        current = out.read_text(encoding="utf-8") if out.exists() else None
        if current != text:
            print(f"DRIFT: {entry['output']} is not what vendoring {entry['upstream']} produces")
            return False
        return True
    out.write_text(text, encoding="utf-8")
    print(f"wrote {entry['output']} ({len(applied)} overrides: {', '.join(applied) or 'none'})")
    return True


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--all", action="store_true", help="vendor every spec in specs/sources.yaml")
    parser.add_argument("--name", help="the spec name in specs/sources.yaml (or a new one with the flags below)")
    parser.add_argument("--check", action="store_true", help="write nothing; fail if a spec would change")
    parser.add_argument("--fetch", metavar="URL_OR_PATH", help="read the upstream description from here")
    parser.add_argument("--save-upstream", metavar="PATH", help="also store the fetched description here")
    parser.add_argument("--upstream")
    parser.add_argument("--method")
    parser.add_argument("--path")
    parser.add_argument("--operation-id")
    parser.add_argument("--tag")
    parser.add_argument("--output")
    parser.add_argument("--endpoint", help="the library's endpoint name (communications, timeline_events, ...)")
    parser.add_argument("--api-version", help="the API version this operation is (2026-09, v3, ...)")
    parser.add_argument("--overrides", default=str(OVERRIDES))
    args = parser.parse_args(argv)

    try:
        overrides = load_overrides(Path(args.overrides))
        sources = load_sources()
        if args.all:
            entries = sources
        elif args.name:
            known = {e["name"]: e for e in sources}
            if args.name in known:
                entry = dict(known[args.name])
            else:
                missing = [
                    f for f in ("upstream", "method", "path", "operation_id", "tag", "output") if not getattr(args, f)
                ]
                if missing and not args.fetch:
                    flags = ", ".join("--" + m.replace("_", "-") for m in missing)
                    parser.error(f"{args.name} is not in sources.yaml; give {flags}")
                entry = {"name": args.name}
            for field in ("upstream", "method", "path", "operation_id", "tag", "output", "endpoint", "api_version"):
                if getattr(args, field):
                    entry[field] = getattr(args, field)
            entries = [entry]
        else:
            parser.error("give --all or --name")
        if args.fetch and args.save_upstream:
            Path(args.save_upstream).write_text(dump(load_document(args.fetch)), encoding="utf-8")
        ok = all([_vendor_entry(e, overrides, upstream_source=args.fetch, check=args.check) for e in entries])
    except VendorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
