"""Contact governance (issue #23 item 7): one answer to "may we ask this person now?" for every
survey tool, marketing automation and the product's own recovery checks.

- `models`: the policy (one row) and the ledger of survey contacts tools report;
- `services`: the decision (`contact_decision`), recording contacts, changing the policy;
- `selectors`: the report of over-contacted customers and answers received in breach;
- `views`, `api`: the settings page, the report, `/api/v1/contact-policy/`.

docs/contact-policy.md says what each rule means and how a tool calls the endpoint.
"""
