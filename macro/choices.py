from django.db import models


class MarketRegime(models.TextChoices):
    BULL = "Bull", "Bull"
    BEAR = "Bear", "Bear"
    SIDEWAYS = "Sideways", "Sideways"
    TRANSITION = "Transition", "Transition"
    ACCUMULATION = "Accumulation", "Accumulation"
    DISTRIBUTION = "Distribution", "Distribution"


class RiskLevel(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    EXTREME = "extreme", "Extreme"
