from django.db import models


class SignalType(models.TextChoices):
    BUY = "buy", "Buy"
    SELL = "sell", "Sell"
    HOLD = "hold", "Hold"


class SignalStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    TRIGGERED = "triggered", "Triggered"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


class ActionType(models.TextChoices):
    BUY = "buy", "Buy"
    SELL = "sell", "Sell"


class TradeStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    EXECUTED = "executed", "Executed"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


class Recommendation(models.TextChoices):
    HOLD = "hold", "Hold"
    INCREASE = "increase", "Increase"
    REDUCE = "reduce", "Reduce"
    EXIT = "exit", "Exit"
