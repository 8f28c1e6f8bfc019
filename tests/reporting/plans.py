"""What a statement reads of a table, from PostgreSQL's plan (EXPLAIN VERBOSE: each scan's output,
filter and index condition), to check that a report's statements read only the columns a covering
index holds, so at 10M rows they can be index-only scans."""

from __future__ import annotations

import json
import re

from django.db import connection


def index_columns(name: str) -> set[str]:
    """The columns of an index: its keys and the columns it covers (INCLUDE)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT a.attname FROM pg_index x JOIN pg_attribute a ON a.attrelid = x.indrelid "
                       "AND a.attnum = ANY(x.indkey) WHERE x.indexrelid = %s::regclass", [name])
        return {column for (column,) in cursor.fetchall()}


def _table_columns(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                       "AND NOT attisdropped", [table])
        return {column for (column,) in cursor.fetchall()}


def _scans(node):
    if "Relation Name" in node:
        yield node
    for child in node.get("Plans", []):
        yield from _scans(child)


def explain(sql: str, params=(), *options: str) -> dict:
    """The plan PostgreSQL makes for a statement (EXPLAIN ... FORMAT JSON): its top node."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN ({', '.join((*options, 'FORMAT JSON'))}) {sql}", params)
        plan = cursor.fetchone()[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


def columns_read(statements: list[str], tables: tuple[str, ...]) -> dict[str, set[str]]:
    """Per table of `tables` (a monthly partition counts as its table), the columns the statements' scans
    of it output, filter on or look up by."""
    columns = {table: _table_columns(table) for table in tables}
    read: dict[str, set[str]] = {table: set() for table in tables}
    for sql in statements:
        for node in _scans(explain(sql, (), "VERBOSE")):
            table = next((t for t in tables if re.fullmatch(rf"{t}(_p\d+|_default)?", node["Relation Name"])), None)
            if table is None:
                continue
            text = " ".join([*node.get("Output", []), node.get("Filter", ""), node.get("Index Cond", "")])
            read[table] |= set(re.findall(r"\w+", text)) & columns[table]
    return read
