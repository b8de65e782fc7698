"""Single use across workers: a unique row per (issuer, jti), expired rows cleaned up."""
from django.core.management import call_command
from django.test import TestCase

from openedx_lti_provider_companion import token_replay
from openedx_lti_provider_companion.errors import LoginRefused
from openedx_lti_provider_companion.models import UsedLoginToken

NOW = 1_800_000_000


class Consume(TestCase):
    def consume(self, jti, issuer="https://lti.example.org", exp=NOW + 60, now=NOW):
        token_replay.consume(issuer, jti, exp, clock_skew=30, now=lambda: now)

    def test_second_use_is_refused(self):
        self.consume("j1")
        with self.assertRaises(LoginRefused) as ctx:
            self.consume("j1")
        self.assertEqual(ctx.exception.code, "COMPANION_TOKEN_REPLAYED")

    def test_the_refusal_leaves_the_surrounding_transaction_usable(self):
        self.consume("j1")
        with self.assertRaises(LoginRefused):
            self.consume("j1")
        self.assertEqual(UsedLoginToken.objects.count(), 1)

    def test_ids_are_per_issuer(self):
        self.consume("j1")
        self.consume("j1", issuer="https://other-tool.example.org")
        self.assertEqual(UsedLoginToken.objects.count(), 2)

    def test_rows_are_kept_until_the_token_cannot_pass_any_more_then_removed(self):
        self.consume("old", exp=NOW + 60)
        self.consume("j2", now=NOW + 60 + 30)  # old's exp + skew: still kept
        self.assertTrue(UsedLoginToken.objects.filter(token_hash=token_replay.token_hash("https://lti.example.org", "old")).exists())
        self.consume("j3", now=NOW + 60 + 31)
        self.assertFalse(UsedLoginToken.objects.filter(token_hash=token_replay.token_hash("https://lti.example.org", "old")).exists())

    def test_only_a_hash_is_stored(self):
        self.consume("visible-jti")
        row = UsedLoginToken.objects.get()
        self.assertEqual(len(row.token_hash), 64)
        self.assertNotIn("visible-jti", row.token_hash)


class Migrations(TestCase):
    def test_models_and_migrations_agree(self):
        # Exits non-zero (SystemExit) when a model change lacks its migration.
        call_command("makemigrations", "openedx_lti_provider_companion", "--check", "--dry-run", verbosity=0)
