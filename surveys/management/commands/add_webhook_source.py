import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from surveys.models import Vendor
from surveys.services import source_create


def problems_text(exc: ValidationError) -> str:
    """`field: message` lines, as every door words them (surveys.services.sources)."""
    return "\n".join(f"{field}: {message}" for field, messages in exc.message_dict.items() for message in messages)


class Command(BaseCommand):
    help = ("Create a webhook source and print its address and secret. Mapping and auth are checked as on the "
            "set-up page: an unknown auth option or mapping key is refused, naming it.")

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True)
        parser.add_argument("--vendor", required=True, choices=Vendor.values)
        parser.add_argument("--name", default="")
        parser.add_argument("--secret", default="", help="Signing secret (generated when omitted).")
        parser.add_argument("--map", action="append", default=[], metavar="KEY=PATH",
                            help="Mapping entry, e.g. --map nps=data.answers[0].value --map csat_scale=1-5 "
                                 "--map 'ces=answers[title=How easy was it?].value' "
                                 "--map 'ces_values=Very difficult=1; Difficult=2'")
        parser.add_argument("--auth", action="append", default=[], metavar="KEY=VALUE",
                            help="Auth option, e.g. --auth header=X-Signature --auth algorithm=sha1 --auth api_token=...")
        parser.add_argument("--rate-limit", type=int, default=50, help="Deliveries per second (0 = unlimited).")
        parser.add_argument("--kind", default="", choices=["survey", "review", "support", "chat", "form"],
                            help="What it sends: survey answers, or feedback nobody asked for (default: the "
                                 "tool's own, survey answers but for the support tools' presets).")

    def handle(self, *args, slug, vendor, name, secret, map, auth, rate_limit, kind, **options):
        try:
            source = source_create(
                name=name or slug, slug=slug, vendor=vendor, secret=secret, mapping=self._pairs(map, "--map"),
                auth=self._pairs(auth, "--auth"), rate_limit_per_second=rate_limit, feedback_kind=kind,
            )
        except ValidationError as exc:
            raise CommandError(problems_text(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Created {source.get_vendor_display()} source {source.slug!r}."))
        self.stdout.write(f"URL:    {settings.SITE_URL}{reverse('webhook', args=[source.slug])}")
        self.stdout.write(f"Secret: {source.secret}")
        if source.mapping:
            self.stdout.write(f"Mapping: {json.dumps(source.mapping)}")

    def _pairs(self, items, flag):
        pairs = {}
        for item in items:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise CommandError(f"{flag} expects KEY=VALUE, got {item!r}")
            pairs[key.strip()] = value.strip()
        return pairs
