from django.apps import AppConfig


class OrganisationConfig(AppConfig):
    """Settings pages and API for how the organisation works: teams, business hours, holidays,
    SLA policies, routing and the root-cause taxonomy (the models live in accounts and cases)."""

    name = "organisation"
