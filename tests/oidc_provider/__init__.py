"""A real OpenID Connect provider for the single sign-on tests: django-oauth-toolkit with OIDC on,
in a Django project of its own (its own SQLite file), started by tests/accounts/test_oidc*.py as a
subprocess on a free loopback port (serve.py). Test code only; never part of the product."""
