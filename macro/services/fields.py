"""The snapshot's fields: which build_snapshots derives and which import_metrics writes."""

from django.db import models

from ..models import MetricsSnapshot

BTC, ETH = "BTC", "ETH"
BATCH = 1000
IMPORTED = "imported_fields"
DERIVED_FIELDS = (
    "btc_price_usd",
    "rsi_14",
    "sma_200",
    "ema_200",
    "weekly_return",
    "monthly_return",
    "btc_eth_correlation_30d",
    "btc_dominance",
    "eth_dominance",
    "altcoin_dominance",
    "total_market_cap",
    "halving_countdown_days",
    "crypto_market_breadth",
    "new_highs_24h",
    "new_lows_24h",
    "momentum_index",
)
# Flags that build_snapshots writes (and so replaces on a rebuild).
DERIVED_FLAGS = (*DERIVED_FIELDS, "missing_market_cap")
KEY_FIELDS = ("snapshot_time", "timeframe")
SYSTEM_FIELDS = (
    "id",
    "created_at",
    "updated_at",
    "is_validated",
    "data_quality_flags",
    "snapshot_version",
    "has_anomalies",
    "data_source",
    "data_collection_started",
    "data_collection_completed",
    "collection_duration_ms",
)
METRIC_FIELDS = tuple(
    f.name for f in MetricsSnapshot._meta.concrete_fields if f.name not in (*KEY_FIELDS, *SYSTEM_FIELDS)
)
EXTERNAL_FIELDS = tuple(name for name in METRIC_FIELDS if name not in DERIVED_FIELDS)


class MetricsError(ValueError):
    """Snapshots cannot be built, or a metrics file cannot be imported at all."""


def _column(name: str) -> models.Field:
    return MetricsSnapshot._meta.get_field(name)
