"""Create a local superuser for the demo, once, with a random password printed one time."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.crypto import get_random_string


class Command(BaseCommand):
    help = "Create the 'admin' superuser for local development if no superuser exists."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("Refusing to create a demo superuser with DEBUG off.")
        users = get_user_model().objects
        if users.filter(is_superuser=True).exists():
            self.stdout.write(
                "Admin: log in with your existing superuser "
                f"(reset with: manage.py changepassword {username})."
            )
            return
        password = get_random_string(16)
        users.create_superuser(username=username, email="", password=password)
        self.stdout.write(f"Admin: created superuser {username!r} with password {password!r}.")
