from django.apps import AppConfig


class AIConfig(AppConfig):
    name = "ai"
    verbose_name = "AI models and jobs"
