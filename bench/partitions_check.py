"""Did the conversions keep everything? Taken before the forward functions and again after, in the
partitions bench's child (bench.bench_partitions):

- every converted table (and each key table it has after): its rows, the sum of their ids and of
  their partition column's seconds;
- every foreign key into the responses (found in the catalogue: into `surveys_surveyresponse`
  before, into its key table `surveys_responsekey` after, the same columns both times): the
  referencing table's rows, the references set, a checksum of the (row id, response id) pairs, and
  how many of them join to a response by id, which after the conversion is a join to the
  partitioned responses; after, every foreign key is validated.

`compare` raises RowsNotKept, naming each difference, when anything differs or a reference does
not resolve: the child exits non-zero and the bench with it."""

from __future__ import annotations

RESPONSES = "surveys_surveyresponse"
RESPONSE_KEYS = "surveys_responsekey"


class RowsNotKept(RuntimeError):
    pass


def _one(cursor, sql: str, params=None):
    cursor.execute(sql, params or [])
    return cursor.fetchone()


def references(cursor, target: str) -> list[tuple[str, str, bool]]:
    """(table, column, validated) of each foreign key into `target` (not those partitions inherit)."""
    cursor.execute(
        "SELECT c.conrelid::regclass::text, a.attname, c.convalidated FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "WHERE c.confrelid = to_regclass(%s) AND c.contype = 'f' AND c.conparentid = 0 ORDER BY 1, 2", [target])
    return [tuple(row) for row in cursor.fetchall()]


def snapshot(tables: list[str], after: bool) -> dict:
    """The counts and checksums described above, as lists (JSON): `tables` the converted ones."""
    from django.conf import settings
    from django.db import connection

    out = {"tables": {}, "keys": {}, "references": {}}
    with connection.cursor() as cursor:
        for table in tables:
            column = settings.PARTITIONED_TABLES[table]["column"]
            out["tables"][table] = [str(v) for v in _one(
                cursor, f'SELECT count(*), sum(id), sum(extract(epoch FROM "{column}")) FROM "{table}"')]
            key_table = settings.PARTITIONED_TABLES[table].get("key_table") or (
                RESPONSE_KEYS if table == RESPONSES else None)
            if after and key_table:
                out["keys"][table] = [key_table, _one(cursor, f'SELECT count(*) FROM "{key_table}"')[0]]
        found = references(cursor, RESPONSE_KEYS if after else RESPONSES)
        out["foreign_keys"] = [[table, column] for table, column, _ in found]
        out["not_validated"] = [f"{table}.{column}" for table, column, valid in found if not valid]
        for table, column, _ in found:
            rows, refs, ids, pairs = _one(
                cursor, f'SELECT count(*), count("{column}"), sum(id), '
                        f'sum(mod(id::numeric * 1000003 + "{column}", 2147483647)) FROM "{table}"')
            resolved = _one(cursor, f'SELECT count(*) FROM "{table}" t JOIN "{RESPONSES}" r ON r.id = t."{column}"')[0]
            out["references"][f"{table}.{column}"] = {
                "rows": rows, "references": refs, "ids": str(ids), "pairs": str(pairs), "resolved": resolved}
    return out


def compare(before: dict, after: dict) -> dict:
    """The summary for the page, or RowsNotKept listing every difference."""
    problems = []
    for table, figures in before["tables"].items():
        if after["tables"].get(table) != figures:
            problems.append(f"{table}: rows / sum of ids / sum of times {figures} before, "
                            f"{after['tables'].get(table)} after")
        if table in after["keys"] and after["keys"][table][1] != int(figures[0]):
            problems.append(f"{table}: {figures[0]} rows but {after['keys'][table][1]} keys in {after['keys'][table][0]}")
    if after["foreign_keys"] != before["foreign_keys"]:
        problems.append(f"foreign keys into the responses {before['foreign_keys']} before, "
                        f"into their keys {after['foreign_keys']} after")
    if after["not_validated"]:
        problems.append(f"foreign keys not validated after: {after['not_validated']}")
    checked = 0
    for name, figures in before["references"].items():
        now = after["references"].get(name)
        if now != figures:
            problems.append(f"{name}: {figures} before, {now} after")
        for label, state in (("before", figures), ("after", now or {})):
            if state and state["resolved"] != state["references"]:
                problems.append(f"{name}: {state['references']} references {label}, "
                                f"{state['resolved']} of them resolve to a response")
        checked += figures["references"]
    if problems:
        raise RowsNotKept("The conversion did not keep every row and reference:\n  " + "\n  ".join(problems))
    return {"kept": True, "references": checked, "foreign_keys": len(after["foreign_keys"]),
            "rows": {table: int(figures[0]) for table, figures in before["tables"].items()},
            "referencing": {name: figures["rows"] for name, figures in before["references"].items()}}
