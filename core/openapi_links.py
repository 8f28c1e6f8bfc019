"""OpenAPI links in the published schema (/api/schema/): how the answer of one operation feeds
the next. A client generator or Swagger UI shows them; schemathesis' stateful tests walk them
(create -> read -> update -> action -> delete) with the ids the API really handed out.

Derived from the paths themselves, so a new viewset gets its links without a line here:
- a collection's create (POST `/x/`, 201) links to every operation on its item (`/x/{id}/` and
  `/x/{id}/<action>/`), the parameter taken from the created object's body;
- a collection's list (GET `/x/`, 200) links to the same operations with its first result;
- an item's read (GET `/x/{id}/`, 200) links to the item's other operations.
A link is added only when the answer's schema carries the field the parameter is named after,
so every link resolves against the documented answer. Registered as a drf-spectacular
postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""

from __future__ import annotations

import re

METHODS = ("get", "put", "patch", "delete", "post")
ITEM = re.compile(r"^(?P<collection>.+/)\{(?P<param>[A-Za-z_][A-Za-z0-9_]*)\}/(?P<rest>(?:[^{}/]+/)?)$")


def _resolve(schema: dict, node: dict | None) -> dict:
    while node and "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node or {}


def _body_schema(schema: dict, response: dict) -> dict:
    return _resolve(schema, (response.get("content") or {}).get("application/json", {}).get("schema"))


def _pointer_to(schema: dict, body: dict, field: str) -> str | None:
    """The JSON pointer to `field` in an answer: the object itself, a page's first result, or a
    plain list's first item; None when the documented answer has no such field."""
    if field in body.get("properties", {}):
        return f"/{field}"
    results = body.get("properties", {}).get("results")
    for prefix, items in (("/results/0", _resolve(schema, (results or {}).get("items"))),
                          ("/0", _resolve(schema, body.get("items")) if body.get("type") == "array" else {})):
        if field in items.get("properties", {}):
            return f"{prefix}/{field}"
    return None


def _link_name(method: str, collection: str, rest: str) -> str:
    """`read_saved_views`, `delete_tokens`, `post_cases_close`: unique within one answer."""
    noun = collection.strip("/").rsplit("/", 1)[-1].replace("-", "_")
    if rest:
        return f"{method}_{noun}_{rest.strip('/').replace('-', '_')}"
    verb = {"get": "read", "put": "replace", "patch": "update", "delete": "delete"}[method]
    return f"{verb}_{noun}"


def add_links(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: adds `links` to the 200/201 answers described above."""
    paths = result.get("paths", {})
    targets: dict[str, list[tuple[str, str, str, str, str]]] = {}  # collection -> (path, method, param, rest, opId)
    for path, operations in paths.items():
        match = ITEM.match(path)
        if not match:
            continue
        for method in METHODS:
            if method in operations and operations[method].get("operationId"):
                targets.setdefault(match["collection"], []).append(
                    (path, method, match["param"], match["rest"], operations[method]["operationId"]))

    def link(source_path: str, method: str, status: str, exclude: tuple[str, str] | None = None) -> None:
        response = paths[source_path][method]["responses"].get(status)
        if response is None:
            return
        body = _body_schema(result, response)
        collection = source_path if exclude is None else ITEM.match(source_path)["collection"]
        for path, target_method, param, rest, operation_id in targets.get(collection, []):
            if exclude == (path, target_method):
                continue
            pointer = _pointer_to(result, body, param)
            if pointer is None:
                continue
            response.setdefault("links", {})[_link_name(target_method, collection, rest)] = {
                "operationId": operation_id,
                "parameters": {param: f"$response.body#{pointer}"},
            }

    for path, operations in paths.items():
        if path in targets:  # a collection
            if "post" in operations:
                link(path, "post", "201")
            if "get" in operations:
                link(path, "get", "200")
        match = ITEM.match(path)
        if match and not match["rest"] and "get" in operations:
            link(path, "get", "200", exclude=(path, "get"))
    return result
