"""SCIM 2.0 provisioning at /scim/v2/ (RFC 7643/7644), on django-scim2.

- auth.py: bearer-token authentication with a CX admin's SCIM-scoped API token (hashed at rest);
- adapters.py: Users <-> accounts.User, Groups <-> accounts.Team (members: memberships);
- patch.py: PATCH operations turned into the changes services.py takes;
- filters.py: `filter=userName eq "bjensen"` and friends as Django querysets;
- services.py: the writes (create, update, deprovision, team membership), through
  accounts.services.users.user_update (so deprovisioning ends sessions) and accounts.teams;
- views.py / urls.py: django-scim2's views, answering 400/404/409 with a SCIM error document for
  anything a client sends wrong, never 500.
"""
