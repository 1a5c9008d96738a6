"""`manage.py reencrypt_credentials`: re-encrypt every credential set under the first key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from devices.collection.collectors import CollectionError
from devices.collection.credentials import credentials_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt the stored device credentials with the first key of "
        "DEVICEVAULT_CREDENTIALS_KEY (rotation: put the new key first, keep the old one after "
        "a comma, run this, then drop the old key)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with transaction.atomic():
                count = credentials_reencrypt()
        except CollectionError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Re-encrypted {count} credential set(s) with the first key.")
