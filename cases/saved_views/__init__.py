"""Saved views: a person's own named inbox (a view, its filters, its sort and its columns), listed above the
inbox with how many cases each holds.

    models.py    SavedView
    services.py  saved_view_create / saved_view_update / saved_view_delete (writes),
                 saved_views_for(user) and saved_view_count(saved_view) (reads)

The params a saved view holds are validated by the inbox's own CaseFilterSet, so a saved view
can never hold what the filter form refuses; its columns by cases.columns (an unknown one is refused)."""
