from django.db import models


class ModelType(models.TextChoices):
    MACRO = "macro", "Macro (layer 1)"
    SECTOR = "sector", "Sector (layer 2)"
    ASSET = "asset", "Asset selection (layer 3)"
    TIMING = "timing", "Timing (layer 4)"


class ModelStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    TRAINING = "training", "Training"
    INACTIVE = "inactive", "Inactive"
    ERROR = "error", "Error"
    DEPRECATED = "deprecated", "Deprecated"


class EvaluationType(models.TextChoices):
    BACKTEST = "backtest", "Backtest"
    HOLDOUT = "holdout", "Holdout"
    CROSS_VALIDATION = "cross_validation", "Cross-validation"
    LIVE = "live", "Live"
