"""The outer loop (issue #23): improvement actions tied to what customers complain about.

- `models`: ActionPlan (owner, due date, status, the root causes, themes and touchpoints it
  targets, the date the change went live), its notes and linked cases;
- `services`: every write to a plan (pages, API and CSV import call them);
- `selectors`: the plan page's before/after figures, lists, overdue plans;
- `views`, `api`: pages under /plans/, `/api/v1/action-plans/` and its CSV.

docs/action-plans.md says how to read the before/after figures.
"""
