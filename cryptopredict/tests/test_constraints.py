"""Every database constraint of every model refuses a row that breaks it.

TABLE maps each factory to its model's constraints, by name, and how to break each one: a dict
is an UPDATE of a valid row (so Django's validation never sees it), Update adds factory
arguments for that row, Dup writes a second row sharing `fields` with the first. A constraint
added to a model without a case here fails test_every_constraint_has_a_case.
"""

import importlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import factory
import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.forms.models import model_to_dict
from simple_history.models import HistoricalChanges

from ai.tests.factories import (
    AIModelFactory,
    ModelEvaluationFactory,
    ModelPredictionJobFactory,
    ModelTrainingJobFactory,
)
from alerts.tests.factories import (
    AlertFiringFactory,
    AlertRuleFactory,
    NotificationChannelFactory,
    NotificationDeliveryFactory,
    NotificationFactory,
)
from assets.tests.factories import (
    AssetDeletionFactory,
    AssetFactory,
    IndicatorStateFactory,
    PriceDataArchiveFactory,
    PriceDataFactory,
)
from macro.tests.factories import AIRegimeAnalysisFactory, MetricsSnapshotFactory
from marketdata.tests.factories import KnownGapFactory, SyncStateFactory
from sectors.tests.factories import (
    AICrossSectorAnalysisFactory,
    AISectorAnalysisFactory,
    SectorFactory,
    SectorHistoryFactory,
    SectorMappingFactory,
    SectorRotationFlowFactory,
)
from selection.tests.factories import (
    AIPortfolioAnalysisFactory,
    AIWatchlistAnalysisFactory,
    PortfolioAssetFactory,
    PortfolioFactory,
    WatchlistAssetFactory,
    WatchlistFactory,
)
from trading.tests.factories import AITradingSignalFactory, PortfolioAssetAnalysisFactory, TradeActionFactory
from users.tests.factories import UserActivityFactory, UserFactory

PROJECT_APPS = ("users", "assets", "ai", "macro", "sectors", "selection", "trading", "alerts", "marketdata")
T = datetime(2025, 1, 1, tzinfo=UTC)
BAD = "x"  # in no choice list, and short enough for every column


@dataclass
class Update:
    values: dict
    setup: dict = field(default_factory=dict)
    # The names the database may report, when breaking this rule cannot avoid breaking another.
    names: tuple = ()


@dataclass
class Dup:
    fields: tuple
    setup: dict = field(default_factory=dict)
    names: tuple = ()


def candle_cases(prefix: str) -> dict:
    return {
        f"{prefix}ohlc_logic": {"high_price": 99},
        f"{prefix}prices_positive": {"low_price": 0},
        f"{prefix}volume_non_negative": {"volume": -1},
        f"{prefix}timeframe_valid": {"timeframe": "2d"},
    }


def job_cases(prefix: str) -> dict:
    return {
        f"{prefix}_status": {"status": BAD},
        f"{prefix}_timeframe": {"timeframe": "2d"},
        f"{prefix}_completed_after_start": Update(
            {"completed_at": T - timedelta(hours=1)}, setup={"started_at": T}
        ),
        f"{prefix}_progress": {"progress_percent": 101},
        f"{prefix}_attempts": {"attempts": -1},
    }


TABLE = {
    UserFactory: {
        "chk_login_count_positive": {"login_count": -1},
        "chk_referral_count_positive": {"referral_count": -1},
        "chk_failed_login_attempts_positive": {"failed_login_attempts": -1},
        "chk_account_balance_positive": {"account_balance": -1},
        "chk_users_email_lowercase": {"email": "Mixed.Case@Example.com"},
        "chk_users_role": {"role": BAD},
        "chk_users_subscription_plan": {"subscription_plan": BAD},
    },
    UserActivityFactory: {
        "chk_user_activities_type": {"activity_type": BAD},
        "chk_user_activities_action": {"action": BAD},
    },
    AssetFactory: {
        "chk_market_cap_positive": {"market_cap": -1},
        "chk_current_price_positive": {"current_price": 0},
        "chk_supply_positive": {"total_supply": -1},
        "chk_supply_within_max": {"circulating_supply": 30000},
        "chk_data_quality": {"data_quality_score": 101},
        "chk_market_cap_rank": {"market_cap_rank": 0},
        "chk_access_count_positive": {"access_count": -1},
        "chk_assets_asset_type": {"asset_type": BAD},
    },
    PriceDataFactory: {
        "unique_asset_timeframe_candle": Dup(("asset", "timeframe", "candle_time")),
        **candle_cases("chk_"),
    },
    PriceDataArchiveFactory: {
        "unique_archive_candle": Dup(("asset", "timeframe", "candle_time")),
        **candle_cases("chk_archive_"),
    },
    IndicatorStateFactory: {
        "unique_indicator_state": Dup(("asset", "timeframe")),
        "chk_indicator_state_range": {"stale_until": None},
        "chk_indicator_state_timeframe": {"timeframe": BAD},
    },
    AssetDeletionFactory: {
        "chk_asset_deletion_status": {"status": BAD},
        "chk_asset_deletion_counts": {"candles_deleted": -1},
    },
    AIModelFactory: {
        "chk_confidence_threshold": {"min_confidence_threshold": 1.5},
        "chk_prediction_count_positive": {"prediction_count": -1},
        "idx_unique_active_model": Dup(("name", "model_type"), setup={"is_active": True}),
        "unique_ai_model_name_version": Dup(("name", "version")),
        "chk_ai_models_model_type": {"model_type": BAD},
        "chk_ai_models_status": {"status": BAD},
        "chk_ai_models_timeframe": {"training_data_timeframe": "2d"},
    },
    ModelEvaluationFactory: {
        "chk_evaluation_period": {"period_end": F("period_start")},
        "chk_evaluation_sample_size": {"sample_size": -1},
        **{
            f"chk_evaluation_{name}": {name: 1.5}
            for name in ("accuracy", "precision", "recall", "f1_score", "win_rate", "max_drawdown")
        },
        "chk_evaluation_trade_count": {"trade_count": -1},
        "chk_evaluation_type": {"evaluation_type": BAD},
        "chk_evaluation_timeframe": {"timeframe": "2d"},
    },
    ModelTrainingJobFactory: {
        **job_cases("chk_training_job"),
        "unique_running_training_job": Dup(("model",), setup={"status": "running"}),
        "chk_training_job_data_range": Update(
            {"training_data_end": T - timedelta(days=1)},
            setup={"training_data_start": T, "training_data_end": T + timedelta(days=30)},
        ),
    },
    ModelPredictionJobFactory: {
        **job_cases("chk_prediction_job"),
        "chk_prediction_job_count": {"predictions_count": -1},
    },
    MetricsSnapshotFactory: {
        "unique_snapshot_time_timeframe": Dup(("snapshot_time", "timeframe")),
        "chk_fear_greed_range": {"fear_greed_index": 101},
        "chk_dominance_range": {"btc_dominance": 101},
        "chk_btc_price_positive": {"btc_price_usd": 0},
        "chk_collection_duration": {"collection_duration_ms": -1},
        "chk_metrics_snapshot_timeframe": {"timeframe": "2d"},
    },
    AIRegimeAnalysisFactory: {
        "unique_regime_snapshot_model": Dup(("metrics_snapshot", "ai_model")),
        "chk_regime_regime": {"regime": BAD},
        "chk_regime_previous": {"previous_regime": BAD},
        "chk_regime_volatility": {"volatility_level": BAD},
        "chk_regime_risk": {"risk_level": BAD},
        "chk_regime_duration": {"regime_duration_days": -1},
        "chk_regime_trend_strength": {"trend_strength": 1.5},
    },
    SectorFactory: {
        "chk_sector_color": {"color": "blue"},
        "chk_sector_not_own_parent": {"parent": F("pk")},
        "chk_sector_asset_count": {"asset_count": -1},
    },
    SectorHistoryFactory: {
        "unique_sector_history": Dup(("sector", "timeframe", "snapshot_time")),
        "chk_sector_history_dominance": {"dominance": 101},
        "chk_sector_history_count": {"asset_count": -1},
        "chk_sector_history_timeframe": {"timeframe": "2d"},
    },
    SectorMappingFactory: {
        "unique_sector_mapping": Dup(("asset", "sector")),
        "unique_primary_sector": Dup(("asset",), setup={"is_primary": True}),
        "chk_sector_mapping_weight": {"weight": 0},
        "chk_sector_mapping_confidence": {"confidence": 1.5},
        "chk_sector_mapping_source": {"source": BAD},
    },
    AISectorAnalysisFactory: {
        "unique_sector_analysis": Dup(("sector", "metrics_snapshot", "ai_model")),
        "chk_sector_analysis_momentum": {"momentum_score": 1.5},
        "chk_sector_analysis_rank": {"performance_rank": 0},
        "chk_sector_analysis_outlook": {"outlook": BAD},
        "chk_sector_analysis_rotation": {"rotation_signal": BAD},
        "chk_sector_analysis_timeframe": {"timeframe": "2d"},
    },
    AICrossSectorAnalysisFactory: {
        "unique_cross_sector_analysis": Dup(("metrics_snapshot", "ai_model", "timeframe")),
        "chk_cross_sector_phase": {"rotation_phase": BAD},
        "chk_cross_sector_timeframe": {"timeframe": "2d"},
        "chk_cross_sector_breadth": {"market_breadth": 101},
    },
    SectorRotationFlowFactory: {
        "unique_rotation_flow": Dup(("cross_analysis", "from_sector", "to_sector")),
        "chk_flow_distinct_sectors": {"to_sector": F("from_sector")},
        "chk_flow_strength": {"flow_strength": 1.5},
        "chk_flow_confidence": {"confidence": 1.5},
        "chk_flow_timeframe": {"timeframe": "2d"},
    },
    WatchlistFactory: {
        "unique_watchlist_name": Dup(("user", "name")),
        "unique_watchlist_default": Dup(("user",), setup={"is_default": True}),
    },
    WatchlistAssetFactory: {
        "unique_watchlist_asset": Dup(("watchlist", "asset")),
        "chk_watchlist_asset_target_price": {"target_price": 0},
        "chk_watchlist_asset_alert_price_above": {"alert_price_above": 0, "alert_price_below": None},
        "chk_watchlist_asset_alert_price_below": {"alert_price_below": 0},
        "chk_watchlist_asset_alert_order": {"alert_price_below": 200},
    },
    PortfolioFactory: {
        "unique_portfolio_name": Dup(("user", "name")),
        "unique_portfolio_default": Dup(("user",), setup={"is_default": True}),
        "chk_portfolio_cash": {"cash_balance": -1},
        "chk_portfolio_risk_profile": {"risk_profile": BAD},
    },
    PortfolioAssetFactory: {
        "unique_portfolio_asset": Dup(("portfolio", "asset")),
        "chk_holding_quantity": {"quantity": -1},
        "chk_holding_avg_price": {"average_buy_price": -1},
        "chk_holding_cost_basis": {"cost_basis": -1},
        "chk_holding_target_allocation": {"target_allocation": 101},
    },
    AIWatchlistAnalysisFactory: {
        f"chk_watchlist_analysis_{name}": {name: 101}
        for name in ("overall_score", "diversification_score", "risk_score")
    },
    AIPortfolioAnalysisFactory: {
        "chk_portfolio_analysis_risk": {"risk_score": 101},
        "chk_portfolio_analysis_div": {"diversification_score": 101},
        "chk_portfolio_analysis_drawdown": {"max_drawdown": 1.5},
    },
    AITradingSignalFactory: {
        "chk_signal_strength": {"strength": 1.5},
        # On a hold signal, which has no prices, so that the price order is not broken too.
        **{
            f"chk_signal_{name}": Update({name: 0}, setup={"hold": True})
            for name in ("entry_price", "target_price", "stop_loss")
        },
        "chk_signal_price_logic": {"stop_loss": 150},
        "chk_signal_expiry": {"expires_at": F("generated_at")},
        "chk_signal_horizon": {"time_horizon_hours": 0},
        # An unknown type is neither buy, sell nor hold, so it breaks the price rule as well.
        "chk_signal_type": Update({"signal_type": BAD}, names=("chk_signal_type", "chk_signal_price_logic")),
        "chk_signal_status": {"status": BAD},
        "chk_signal_timeframe": {"timeframe": "2d"},
    },
    TradeActionFactory: {
        "chk_trade_quantity": {"quantity": 0},
        "chk_trade_price": {"price": 0},
        "chk_trade_fee": {"fee": -1},
        "chk_trade_executed_at": {"status": "executed"},
        "chk_trade_order_has_exchange": {"exchange": None, "external_order_id": "o-2"},
        "unique_trade_external_order": Dup(
            ("exchange", "external_order_id"), setup={"external_order_id": "o-1"}
        ),
        "chk_trade_action_type": {"action_type": BAD},
        "chk_trade_status": {"status": BAD},
    },
    PortfolioAssetAnalysisFactory: {
        "chk_pa_analysis_allocation": {"suggested_allocation": 101},
        "chk_pa_analysis_risk": {"risk_score": 101},
        "chk_pa_analysis_recommendation": {"recommendation": BAD},
    },
    NotificationChannelFactory: {
        "chk_channel_kind": {"kind": BAD},
        "chk_channel_webhook_target": {"secret": ""},
        "chk_channel_email_target": Update(
            {"email": ""}, setup={"kind": "email", "url": "", "secret": "", "email": "a@example.com"}
        ),
        "chk_channel_telegram_target": Update(
            {"chat_id": ""}, setup={"kind": "telegram", "url": "", "secret": "", "chat_id": "42"}
        ),
    },
    AlertRuleFactory: {
        "chk_alert_rule_kind": {"kind": BAD},
        "chk_alert_rule_timeframe": {"timeframe": "2d"},
        "chk_alert_rule_asset": {"asset": None},
        "chk_alert_rule_level": {"level": None},
        "chk_alert_rule_price_positive": {"level": 0},
        "chk_alert_rule_indicator": Update(
            {"indicator": ""}, setup={"kind": "indicator_above", "indicator": "rsi_14"}
        ),
        "chk_alert_rule_percent_change": Update(
            {"window": None},
            setup={"kind": "percent_change", "level": None, "window": timedelta(days=1), "percent": 5},
        ),
        "chk_alert_rule_max_age": Update(
            {"max_age": None}, setup={"kind": "data_stale", "level": None, "max_age": timedelta(hours=2)}
        ),
        "chk_alert_rule_fire_count": {"fire_count": -1},
        "unique_alert_rule_watchlist_threshold": Dup(
            ("watchlist_asset", "kind"),
            setup={
                "watchlist_asset": factory.SubFactory(
                    WatchlistAssetFactory, alert_price_above=None, alert_price_below=None
                )
            },
        ),
    },
    AlertFiringFactory: {"unique_alert_firing_event": Dup(("rule", "event_key"))},
    NotificationFactory: {"unique_notification_firing": Dup(("user", "firing"))},
    NotificationDeliveryFactory: {
        "unique_delivery_firing_channel": Dup(("firing", "channel")),
        "chk_delivery_status": {"status": BAD},
        "chk_delivery_attempts": {"attempts": -1},
        "chk_delivery_delivered_at": {"status": "delivered"},
        "chk_delivery_sending_lease": {"status": "sending"},
    },
    SyncStateFactory: {
        "chk_sync_state_series_or_feed": {"timeframe": None},
        "unique_sync_state_series": Dup(("source", "asset", "timeframe")),
        "unique_sync_state_feed": Dup(("source",), setup={"asset": None, "timeframe": None}),
        "chk_sync_state_count": {"candle_count": -1},
        "chk_sync_state_first_before_last": {"first_candle_time": T + timedelta(days=1000)},
        "chk_sync_state_timeframe": {"timeframe": "2d"},
    },
    KnownGapFactory: {
        "unique_known_gap_start": Dup(("sync_state", "start")),
        "chk_known_gap_range": {"end": T - timedelta(days=1)},
        "chk_known_gap_missing": {"missing": 0},
    },
}

# AIAnalysisMixin gives each analysis model the same two checks, named after the class.
for _factory in (
    AIRegimeAnalysisFactory,
    AISectorAnalysisFactory,
    AICrossSectorAnalysisFactory,
    AIWatchlistAnalysisFactory,
    AIPortfolioAnalysisFactory,
    AITradingSignalFactory,
    PortfolioAssetAnalysisFactory,
):
    _class = _factory._meta.model.__name__.lower()
    TABLE[_factory][f"{_class}_chk_confidence"] = {"ai_confidence_score": 1.5}
    TABLE[_factory][f"{_class}_chk_agreement"] = {"signal_agreement_score": 1.5}

CASES = [
    pytest.param(factory_class, name, case, id=f"{factory_class._meta.model._meta.label}.{name}")
    for factory_class, cases in TABLE.items()
    for name, case in cases.items()
]


def project_models() -> list:
    # Change-history tables (django-simple-history) are copies written by the library, not models of
    # ours; unmanaged models read views (cryptopredict.aggregates), which hold no rows of their own.
    return [
        model
        for label in PROJECT_APPS
        for model in apps.get_app_config(label).get_models()
        if not issubclass(model, HistoricalChanges) and model._meta.managed
    ]


def test_every_constraint_has_a_case():
    declared = {(model._meta.label, c.name) for model in project_models() for c in model._meta.constraints}
    covered = {
        (factory_class._meta.model._meta.label, name)
        for factory_class, cases in TABLE.items()
        for name in cases
    }
    assert declared - covered == set(), "constraints with no case in TABLE"
    assert covered - declared == set(), "cases for constraints that no model declares"


FACTORIES = [
    value
    for label in PROJECT_APPS
    for value in vars(importlib.import_module(f"{label}.tests.factories")).values()
    if isinstance(value, type)
    and issubclass(value, factory.django.DjangoModelFactory)
    and value.__module__ == f"{label}.tests.factories"
]


def test_every_model_has_a_factory():
    assert {f._meta.model for f in FACTORIES} == set(project_models())
    assert len(project_models()) == 36


@pytest.mark.django_db
@pytest.mark.parametrize("factory_class", FACTORIES, ids=lambda f: f.__name__)
def test_factory_row_saves_and_reads_back(factory_class):
    row = factory_class()
    fetched = type(row).objects.get(pk=row.pk)
    assert model_to_dict(fetched) == model_to_dict(row)
    assert str(fetched)


@pytest.mark.django_db
@pytest.mark.parametrize(("factory_class", "name", "case"), CASES)
def test_database_refuses_a_row_that_breaks_the_constraint(factory_class, name, case):
    if isinstance(case, dict):
        case = Update(case)
    row = factory_class(**case.setup)
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        if isinstance(case, Dup):
            factory_class(**{**case.setup, **{f: getattr(row, f) for f in case.fields}})
        else:
            factory_class._meta.model.objects.filter(pk=row.pk).update(**case.values)
    message = str(caught.value)
    if connection.vendor == "sqlite" and isinstance(case, Dup):
        # SQLite names the columns of a unique index, not the index.
        assert "UNIQUE constraint failed" in message, message
    else:
        # A partition's unique index has its own name: the error names the table's constraint
        # as the API reports it (cryptopredict.api.exceptions).
        from cryptopredict.api.exceptions import _constraint_name  # imported late: it loads DRF's settings

        names = case.names or (name,)
        assert any(n in message for n in names) or _constraint_name(caught.value) in names, message
