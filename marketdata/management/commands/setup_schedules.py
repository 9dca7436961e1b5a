from django.core.management.base import BaseCommand

from marketdata.services.schedules import default_schedules, schedules_setup


class Command(BaseCommand):
    help = (
        "Create the default Celery beat schedule in the database (django-celery-beat; edit it in the "
        "admin): candle syncs per SYNC_TIMEFRAMES, then daily assets, metrics and maintenance. New "
        "tasks are disabled unless --enable; a rerun changes nothing. Exit code: 0 done."
    )

    def add_arguments(self, parser):
        switch = parser.add_mutually_exclusive_group()
        switch.add_argument("--enable", action="store_true", help="enable the default tasks")
        switch.add_argument("--disable", action="store_true", help="disable the default tasks")

    def handle(self, *args, **options):
        enable = True if options["enable"] else False if options["disable"] else None
        counts = schedules_setup(enable=enable)
        for name in default_schedules():
            self.stdout.write(f"  {name}")
        state = {True: "enabled", False: "disabled", None: "new ones disabled"}[enable]
        self.stdout.write(
            f"schedules: {counts.created} created, {counts.updated} updated, "
            f"{counts.unchanged} unchanged ({state})"
        )
