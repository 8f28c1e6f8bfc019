"""`AnyOf(F("column"), ids)`: the column is one of many ids, with the ids as one parameter.

On PostgreSQL it is `column = ANY(%s)` with the ids as one array: Django expands `__in=[...]` to a
placeholder per value, and with 2,000 values (an account's contacts) preparing each value and
splitting the query around its placeholders cost more CPU than PostgreSQL spent answering it
(about 70 ms of Python per query on the account page under cProfile, docs/benchmarks_customers.md). The plan is
the same: an index scan with the array as its condition. Elsewhere (SQLite) it is the IN list.

The array is read by a sub-select (`= ANY((SELECT %s)::bigint[])`), so the planner sees a value
known only when the query runs rather than 2,000 constants: it no longer estimates each value's
selectivity against the column's statistics, per partition of a partitioned table (12 to 24 ms of
planning for the account page's query over the responses' 22 monthly partitions, against 2 ms;
the plan is the same index-only scan of each partition, docs/benchmarks_customers.md).
Used as a filter expression: `queryset.filter(AnyOf(F("customer_id"), ids))`."""

from __future__ import annotations

from django.db.models import Lookup


class AnyOf(Lookup):
    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self):
        return [int(value) for value in self.rhs]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY((SELECT %s)::bigint[])", [*lhs_params, values]
        if not values:
            return "1 = 0", []
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]
