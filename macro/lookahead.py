"""How the look-ahead check (ai.lookahead) perturbs this app's tables that other models read."""

from decimal import Decimal

from django.db.models import F, Value

from ai.lookahead import PRICE_FACTOR, perturbation_register

from .choices import MarketRegime
from .models import AIRegimeAnalysis, MetricsSnapshot


@perturbation_register
def snapshots_and_regimes_perturb(last_known) -> None:
    """Move the snapshots' prices and momentum, and turn every regime bearish, after `last_known`."""
    MetricsSnapshot.objects.filter(snapshot_time__gt=last_known).update(
        btc_price_usd=F("btc_price_usd") * PRICE_FACTOR,
        sma_200=F("sma_200") * PRICE_FACTOR,
        ema_200=F("ema_200") * PRICE_FACTOR,
        rsi_14=Value(Decimal("5")),
        weekly_return=Value(Decimal("-0.3")),
        monthly_return=Value(Decimal("-0.5")),
    )
    AIRegimeAnalysis.objects.filter(analysis_time__gt=last_known).update(
        regime=MarketRegime.BEAR, regime_probabilities={MarketRegime.BEAR.value: 1.0}
    )
