from django.core.management.base import BaseCommand, CommandError

from users.services.roles import roles_setup


class Command(BaseCommand):
    help = "Create or update the Analysts and Operators groups with exactly their permissions."

    def handle(self, *args, **options):
        try:
            summary = roles_setup()
        except ValueError as error:
            raise CommandError(str(error)) from error
        for name, counts in summary.items():
            self.stdout.write(
                f"{name}: {counts['permissions']} permissions "
                f"({counts['added']} added, {counts['removed']} removed)"
            )
