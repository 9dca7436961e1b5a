from django.db import models


class MappingSource(models.TextChoices):
    MANUAL = "manual", "Manual"
    COINGECKO = "coingecko", "CoinGecko"
    AI = "ai", "AI"


class Outlook(models.TextChoices):
    BULLISH = "bullish", "Bullish"
    BEARISH = "bearish", "Bearish"
    NEUTRAL = "neutral", "Neutral"


class RotationSignal(models.TextChoices):
    INFLOW = "inflow", "Inflow"
    OUTFLOW = "outflow", "Outflow"
    NEUTRAL = "neutral", "Neutral"


class RotationPhase(models.TextChoices):
    BTC_SEASON = "btc_season", "BTC season"
    ETH_SEASON = "eth_season", "ETH season"
    LARGE_CAPS = "large_caps", "Large caps"
    ALT_SEASON = "alt_season", "Alt season"
    RISK_OFF = "risk_off", "Risk off"
