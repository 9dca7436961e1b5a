"""Fire the data_stale rules whose series got no new candle for too long."""

from django.core.management.base import BaseCommand

from alerts import services


class Command(BaseCommand):
    help = "Check every data_stale alert rule now (beat runs this every five minutes)."

    def handle(self, *args, **options):
        fired = services.stale_evaluate()
        self.stdout.write(f"{fired} stale-data alert(s) fired")
