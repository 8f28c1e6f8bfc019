from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.two_factor.services import two_factor_reset


class Command(BaseCommand):
    help = ("Remove USERNAME's authenticator app and backup codes (a lost phone), as a CX admin does on the "
            "users page: they sign in with their password next time, and set up a new app then if their role "
            "requires one. For the CX admin who cannot sign in to do it on the page.")

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        try:
            two_factor_reset(by=None, user_id=user.pk)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"Reset the second factor of {username}: they sign in with their password next time.")
