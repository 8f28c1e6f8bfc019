"""The frontline inbox and the case page, one module per page.

Server-rendered pages; HTMX swaps fragments in place when it is there, and every form and link
also works as a plain GET/POST without JavaScript. Reads go through cases.selectors (so a case of
another team is a 404), writes through cases.services (so the inbox, the bulk actions and the API
behave the same); these views only parse input, call them and render.

    inbox.py      /cases/ and /cases/bulk/
    case_page.py  /cases/<reference>/ and its actions
    playbooks.py  the playbooks beside a case and their steps
    common.py     what the pages share (visible teams, HTMX fragments)
"""

from cases.views.case_page import case_action, case_detail
from cases.views.inbox import bulk, bulk_fields, inbox, inbox_filters
from cases.views.playbooks import case_playbooks, playbook_step

__all__ = ["bulk", "bulk_fields", "case_action", "case_detail", "case_playbooks", "inbox", "inbox_filters", "playbook_step"]
