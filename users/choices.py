from django.db import models


class UserRole(models.TextChoices):
    ADMIN = "admin", "Admin"
    PUBLIC = "public", "Public"
    GUEST = "guest", "Guest"


class SubscriptionPlan(models.TextChoices):
    FREE = "free", "Free"
    BASIC = "basic", "Basic"
    PRO = "pro", "Pro"
    ENTERPRISE = "enterprise", "Enterprise"
