"""Send the alert deliveries that are due: retries, and what a lost task or a dead worker left."""

from collections import Counter

from django.core.management.base import BaseCommand

from alerts import services


class Command(BaseCommand):
    help = (
        "Send every due alert delivery now, in this process (without a broker, this is how retries "
        "happen), or with --queue hand them to the Celery workers. Workers also sweep on start, and "
        "beat runs the sweep every minute."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--queue", action="store_true", help="queue a task per delivery instead of sending"
        )
        parser.add_argument("--limit", type=int, default=500, help="at most this many (default 500)")

    def handle(self, *args, **options):
        if options["queue"]:
            queued = services.deliveries_dispatch(limit=options["limit"])
            self.stdout.write(f"{queued} delivery(ies) queued")
            return
        attempts = services.deliveries_send_due(limit=options["limit"])
        outcome = Counter(attempt.delivery.status for attempt in attempts)
        self.stdout.write(
            f"{len(attempts)} due: {outcome['delivered']} delivered, {outcome['pending']} to retry, "
            f"{outcome['dead']} dead"
        )
        for attempt in attempts:
            if not attempt.ok:
                self.stderr.write(f"  delivery {attempt.delivery.pk}: {attempt.delivery.last_error[:200]}")
