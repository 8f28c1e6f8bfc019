"""A bit per named segment on each case, its customer's (segments.membership): the reports by segment
group the period's cases by them. The four indexes the reports read cases from (opened in a period,
by team or not; closed in a period, by team or not) now hold the bits too, so those reads stay
index-only; replaced online as in 0033 (the migration is therefore not atomic). The column starts at
0; the trigger that sets it and the first fill are segments 0004's."""

from django.db import migrations, models
from django.db.models import Q

from core.online_indexes import replace_index

CLOSED_COVER = ["root_cause", "close_business_seconds", "response_touchpoint", "response_survey_id",
                "response_source_id"]
TEAM_CREATED = ["status", "closed_at", "root_cause", "reopen_count", "first_contacted_at", "first_contact_due",
                "resolution_due", "value_at_risk", "first_contact_business_seconds", "close_business_seconds",
                "response_touchpoint", "response_survey_id", "response_source_id", "id", "response_location"]
CREATED = ["status", "response_touchpoint", "response_survey_id", "response_source_id", "response", "team",
           "closed_at", "root_cause", "reopen_count", "first_contacted_at", "first_contact_due", "resolution_due",
           "value_at_risk", "first_contact_business_seconds", "close_business_seconds", "response_location", "id"]
CLOSED = Q(status="closed")
# name -> (fields, include before, condition)
INDEXES = {
    "cases_case_closed_team": (["team", "-closed_at"], CLOSED_COVER, CLOSED),
    "cases_case_closed_at": (["-closed_at"], ["team", *CLOSED_COVER], CLOSED),
    "cases_case_team_created": (["team", "created_at"], TEAM_CREATED, None),
    "cases_case_created": (["created_at"], CREATED, None),
}


def _index(name: str, with_bits: bool) -> models.Index:
    fields, include, condition = INDEXES[name]
    return models.Index(fields=fields, name=name, include=[*include, *(["segment_bits"] if with_bits else [])],
                        condition=condition)


def _rebuild(with_bits: bool):
    steps = [replace_index("cases.Case", _index(name, with_bits), f"{name}_new") for name in INDEXES]

    def rebuild(apps, schema_editor):
        for step in steps:
            step(apps, schema_editor)

    return rebuild


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("cases", "0033_created_index_covers_kpis"), ("surveys", "0026_segment_bits")]

    operations = [
        migrations.AddField(
            model_name="case",
            name="segment_bits",
            field=models.BigIntegerField(db_default=0, default=0, editable=False),
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(_rebuild(True), _rebuild(False), elidable=False)],
            state_operations=[
                *(migrations.RemoveIndex(model_name="case", name=name) for name in INDEXES),
                *(migrations.AddIndex(model_name="case", index=_index(name, True)) for name in INDEXES),
            ],
        ),
    ]
