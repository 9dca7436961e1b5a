"""Register an AI model for a registered architecture."""

from django.core.management.base import BaseCommand

from ai import services
from ai.registry import architecture_names
from cryptopredict.management.common import json_object, rejected_as_errors


class Command(BaseCommand):
    help = "Create an AI model (inactive) for a registered architecture; --activate makes it the active one."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("version")
        parser.add_argument("architecture", help=f"one of: {', '.join(architecture_names())}")
        parser.add_argument("--timeframe", default="1d", help="training data timeframe (default 1d)")
        parser.add_argument("--configuration", help="JSON object merged over the architecture's defaults")
        parser.add_argument("--notes", help="training notes")
        parser.add_argument(
            "--activate", action="store_true", help="activate it (a trainable one must be trained)"
        )

    def handle(self, *args, **options):
        configuration = json_object(options["configuration"], option="--configuration")
        with rejected_as_errors():
            model = services.model_register(
                name=options["name"],
                version=options["version"],
                architecture=options["architecture"],
                training_data_timeframe=options["timeframe"],
                configuration=configuration,
                training_notes=options["notes"],
            )
            if options["activate"]:
                model = services.model_activate(model=model)
        self.stdout.write(
            f"registered model #{model.pk} {model} ({model.architecture}, {model.model_type}, {model.status})"
        )
