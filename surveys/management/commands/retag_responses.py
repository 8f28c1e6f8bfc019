"""`python manage.py retag_responses [--since DATE] [--theme SLUG ...] [--sentiment]`

Brings responses' theme tags in line with the active themes after admins changed them (the
Themes page already re-tags recent responses for the theme it changed; this is for everything
else, e.g. after an import or a bulk change in the Django admin). Batched, with a progress bar,
and idempotent: a second run changes nothing. --sentiment also recomputes the sentiment and the
language of each comment (for responses recorded before text analytics existed)."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from tqdm import tqdm

from surveys.models import SurveyResponse, Theme
from surveys.services import responses_retag


def _moment(value: str) -> dt.datetime:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--since {value!r} is not a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM).")
        moment = dt.datetime.combine(day, dt.time.min)
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


class Command(BaseCommand):
    help = __doc__.split("\n\n")[1].replace("\n", " ")

    def add_arguments(self, parser):
        parser.add_argument("--since", help="Only responses answered on or after this date (YYYY-MM-DD).")
        parser.add_argument("--theme", action="append", dest="themes", metavar="SLUG",
                            help="Only this active theme (repeatable). Default: every active theme.")
        parser.add_argument("--sentiment", action="store_true", help="Recompute sentiment and language too.")
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, since=None, themes=None, sentiment=False, batch_size=1000, **options):
        since_at = _moment(since) if since else None
        theme_ids = None
        if themes:
            found = dict(Theme.objects.filter(slug__in=themes, status=Theme.Status.ACTIVE).values_list("slug", "id"))
            missing = sorted(set(themes) - set(found))
            if missing:
                raise CommandError(f"No active theme with slug {', '.join(missing)} (see /surveys/themes/).")
            theme_ids = list(found.values())
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        responses = SurveyResponse.objects.all()
        if since_at is not None:
            responses = responses.filter(answered_at__gte=since_at)
        with tqdm(total=responses.count(), unit="response", file=self.stderr._out) as bar:
            result = responses_retag(since=since_at, theme_ids=theme_ids, sentiment=sentiment,
                                     batch_size=batch_size, progress=bar.update)
        self.stdout.write(self.style.SUCCESS(str(result) + "."))
