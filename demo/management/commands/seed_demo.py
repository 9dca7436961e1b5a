from django.core.management.base import BaseCommand

from demo.steps import STEPS


class Command(BaseCommand):
    help = (
        "Load the demo shipped in data/demo: an admin account (DEMO_ADMIN_EMAIL / DEMO_ADMIN_PASSWORD, "
        "else admin@cryptopredict.local with a generated password printed once) and demo users, BTC and "
        "ETH daily history, ETHBTC / ADABTC / TRXBTC 5-minute candles, sectors and mappings. Idempotent."
    )

    def handle(self, *args, **options):
        for name, step in STEPS:
            self.stdout.write(f"{name}: {step()}")
        self.stdout.write(self.style.SUCCESS("demo data ready"))
