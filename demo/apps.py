from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo of `seed_demo`: the top of the stack, it drives the services of every other app."""

    name = "demo"
    verbose_name = "Demo data"
