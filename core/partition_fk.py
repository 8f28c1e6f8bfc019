"""A foreign key into a table partitioned by time whose joins name the partition too.

A join on the id alone cannot tell PostgreSQL which partition holds the row: it probes the id index
of every partition (docs/deployment.md, "What a join on id alone costs"). When the referencing row
keeps a copy of the referenced row's time (kept by the database: cases.response_keys for a case's
opening response), `PartitionForeignKey(..., time_field="response_answered_at", to_time_field=
"answered_at")` adds `referenced.answered_at >= referencing.response_answered_at AND
referenced.answered_at <= referencing.response_answered_at` to the ON clause of every join Django
makes through the key, forward (select_related, filters, values) or reverse. PostgreSQL then prunes:
at planning time when the time is a constant, at run time (each probe of a nested loop) when it
comes from the joined row.

Two inequalities rather than one equality, for the planner's estimates: it takes the id match and
the time match as independent, and an equality of two near-unique columns multiplied the join's
estimate by about one in a million (one row expected where 113 came), so the inbox lost its plan
that stops after one page and the API list hash-joined every case to every response (501 ms
against 40 ms at 100,000 cases, docs/benchmarks_partitions.md). Each inequality between two columns is estimated at
one in three: a ninth of the rows expected, and the same plans as the join on id alone. The index
scan and the pruning see the same bounds (one month, one row).

Everything else is an ordinary ForeignKey: the column, its writes, `instance.<name>` (a lookup by id,
which does not read the copy: an instance in memory may hold a stale one) and on_delete. The copy
must equal the referenced row's time: a row whose copy differs is not joined (an inner join drops
it), which is why the copy is kept by triggers, not by the code that writes."""

from __future__ import annotations

from django.db import models
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual
from django.db.models.sql.where import AND, WhereNode


class PartitionForeignKey(models.ForeignKey):
    def __init__(self, *args, time_field: str, to_time_field: str, **kwargs):
        self.time_field = time_field
        self.to_time_field = to_time_field
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["time_field"] = self.time_field
        kwargs["to_time_field"] = self.to_time_field
        return name, path, args, kwargs

    def get_extra_restriction(self, alias, related_alias):
        """`alias` is the referenced table's, `related_alias` the referencing one's (a reverse join
        swaps them back: ForeignObjectRel.get_extra_restriction). A subquery pushdown passes no
        alias for one side: the join then stays on the id alone, as before."""
        if alias is None or related_alias is None:
            return None
        to_col = self.remote_field.model._meta.get_field(self.to_time_field).get_col(alias)
        from_col = self.model._meta.get_field(self.time_field).get_col(related_alias)
        return WhereNode([GreaterThanOrEqual(to_col, from_col), LessThanOrEqual(to_col, from_col)], connector=AND)
