from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import ApiToken
from accounts.services.tokens import DEFAULT_EXPIRY_DAYS, token_create


class Command(BaseCommand):
    help = ("Create a new named API token for USERNAME and print its key once (only its hash is kept). "
            "Use it as 'Authorization: Token <key>'; list and revoke tokens on the API tokens page.")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="Command line", help="What the token is for (shown in token lists).")
        parser.add_argument("--days", type=int, default=DEFAULT_EXPIRY_DAYS,
                            help=f"Days until it expires (default {DEFAULT_EXPIRY_DAYS}).")
        parser.add_argument("--no-expiry", action="store_true", help="The token never expires.")
        parser.add_argument("--read-only", action="store_true", help="GET requests only.")
        parser.add_argument("--scim", action="store_true",
                            help="A SCIM provisioning token (/scim/v2/ only, CX admins only): give it to the "
                                 "identity provider's provisioning client as its bearer token.")

    def handle(self, *args, username, name, days, no_expiry, read_only, scim, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        if not user.is_active:
            raise CommandError(f"{username!r} is inactive; activate the account first.")
        try:
            created = token_create(user=user, name=name, expires_in_days=None if no_expiry else days,
                                   read_only=read_only, scope=ApiToken.Scope.SCIM if scim else ApiToken.Scope.API)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(created.key)
