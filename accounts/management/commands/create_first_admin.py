"""The first sign-in of a new installation (docs/deployment.md: the first admin).

    python manage.py create_first_admin --username admin --email admin@example.com

The password comes from CLOSELOOP_ADMIN_PASSWORD, or is asked for twice when a terminal is
attached. Idempotent: when that user already exists nothing changes (the password of a working
admin is never overwritten by a re-run of a deployment script); --if-no-admin makes it do nothing
as soon as any admin exists, for a start-up script that runs on every deploy.
"""

from __future__ import annotations

import getpass
import os
import sys

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Role, User

PASSWORD_ENV = "CLOSELOOP_ADMIN_PASSWORD"


class Command(BaseCommand):
    help = (
        "Create the first administrator (role admin, Django superuser). Password from "
        f"{PASSWORD_ENV} or a prompt. Does nothing when the user already exists."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.environ.get("CLOSELOOP_ADMIN_USERNAME", "admin"))
        parser.add_argument("--email", default=os.environ.get("CLOSELOOP_ADMIN_EMAIL", ""))
        parser.add_argument(
            "--if-no-admin", action="store_true", help="Do nothing when any administrator exists already."
        )

    def handle(self, *args, username: str, email: str, if_no_admin: bool, **options):
        username = username.strip()
        if not username:
            raise CommandError("--username must not be empty.")
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"User {username!r} exists already; nothing changed.")
            return
        admins = User.objects.filter(role=Role.ADMIN) | User.objects.filter(is_superuser=True)
        if if_no_admin and admins.exists():
            self.stdout.write("An administrator exists already; nothing changed (--if-no-admin).")
            return
        if not email:
            raise CommandError("--email is needed (password reset and notifications go there).")
        password = os.environ.get(PASSWORD_ENV) or self._prompt()
        user = User(username=username, email=email, role=Role.ADMIN, is_staff=True, is_superuser=True)
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError("Password refused: " + " ".join(exc.messages)) from None
        user.set_password(password)
        with transaction.atomic():
            user.save()
        self.stdout.write(self.style.SUCCESS(f"Administrator {username!r} created; sign in at /login/."))

    def _prompt(self) -> str:
        if not sys.stdin.isatty():
            raise CommandError(f"Set {PASSWORD_ENV}, or run this in a terminal to be asked for the password.")
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ.")
        return password
