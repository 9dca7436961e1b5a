"""Layer 3's model, `asset_selection`: watchlist scores and portfolio analytics, with an analysis
of each holding against the trading signals.

Scope: `{"watchlist": id}` or `{"portfolio": id}` in the job's parameters, or every live active
watchlist and portfolio when neither is given. Figures are as of the latest daily close; a
portfolio's history is rebuilt from its executed trades (see selection.analytics); `as_of`
reruns the watchlists' scoring at past times (see selection.predictors). Registered
here, not in selection, because the trades, the signals and the holdings' analyses are this
app's; selection.predictors writes selection's own rows.
"""

import pandas as pd
from django.core.exceptions import ValidationError

from ai.choices import ModelType
from ai.registry import register
from assets.models import Asset
from assets.selectors import candle_frames
from cryptopredict.choices import TIMEFRAME_DELTAS
from cryptopredict.numbers import decimal_fit, jsonable
from selection import analytics
from selection.models import AIPortfolioAnalysis, Portfolio, PortfolioAsset, Watchlist
from selection.predictors import (
    as_of_times,
    portfolio_analysis,
    target_ids,
    watchlists_analyse,
    watchlists_analyse_as_of,
)

from .choices import Recommendation
from .models import PortfolioAssetAnalysis
from .selectors import executed_trades, latest_active_signals

HISTORY_DAYS = 365  # the window of portfolio history behind return and risk figures


def holding_recommendation(*, score: float | None, drift: float | None, signal: str | None) -> str:
    """Return hold/increase/reduce/exit for a holding from its score, drift from target and signal."""
    if signal == "sell" and (score is None or score < 40):
        return Recommendation.EXIT
    if (score is not None and score < 35) or (drift is not None and drift > analytics.REBALANCE_BAND):
        return Recommendation.REDUCE
    if signal == "buy" or (drift is not None and drift < -analytics.REBALANCE_BAND and (score or 0) >= 50):
        return Recommendation.INCREASE
    return Recommendation.HOLD


@register("asset_selection")
class AssetSelection:
    """Scores watchlists and analyses portfolios from candles (rules and statistics, no training)."""

    model_type = ModelType.ASSET
    trainable = False
    framework = "pandas"
    target_variable = "asset_score"
    features = ["trend", "momentum", "relative_strength", "risk"]
    default_configuration = {}
    owned_targets = {"watchlist": Watchlist, "portfolio": Portfolio}
    # check_lookahead reruns the scoring as of this many bars up to its time (see as_of).
    lookahead_as_of_bars = 30

    def parameters_validate(self, *, parameters: dict, asset=None, sector=None) -> None:
        """Raise ValidationError unless watchlist / portfolio name live rows and as_of is times."""
        target_ids(parameters, "watchlist", Watchlist)
        if as_of_times(parameters) is not None and "portfolio" in parameters:
            raise ValidationError({"parameters": "as_of scores watchlists only: a portfolio is analysed now"})
        target_ids(parameters, "portfolio", Portfolio)

    def predict(self, *, model, job, scope) -> int:
        """Write one analysis per watchlist and portfolio in scope (and one per holding)."""
        times = as_of_times(scope.parameters)
        if times is not None:
            return watchlists_analyse_as_of(model=model, job=job, scope=scope, times=times)
        watchlist_ids = target_ids(scope.parameters, "watchlist", Watchlist)
        portfolio_ids = target_ids(scope.parameters, "portfolio", Portfolio)
        if watchlist_ids is None and portfolio_ids is None:
            watchlist_ids = list(
                Watchlist.objects.alive().filter(is_active=True).values_list("pk", flat=True)
            )
            portfolio_ids = list(
                Portfolio.objects.alive().filter(is_active=True).values_list("pk", flat=True)
            )
        watchlists = Watchlist.objects.filter(pk__in=watchlist_ids or []).prefetch_related("items")
        universe = dict(Asset.objects.filter(is_active=True, is_supported=True).values_list("pk", "symbol"))
        closes = candle_frames(timeframe=scope.timeframe, fields=("close",))["close"]
        if closes.empty:
            raise ValidationError(f"no {scope.timeframe} candles: import candles first")
        market = closes.get(next((pk for pk, s in universe.items() if s == "BTC"), None))
        as_of = closes.index[-1].to_pydatetime()
        scope.checkpoint(30)
        written = watchlists_analyse(
            model=model,
            job=job,
            watchlists=watchlists,
            closes=closes,
            market=market,
            universe=universe,
            as_of=as_of,
        )
        scope.checkpoint(60)
        written += self._portfolios(model, job, scope, portfolio_ids or [], closes, market, as_of)
        return written

    def _portfolios(self, model, job, scope, portfolio_ids, closes, market, as_of) -> int:
        if not portfolio_ids:
            return 0
        portfolios = Portfolio.objects.in_bulk(portfolio_ids)
        holdings = list(PortfolioAsset.objects.filter(portfolio_id__in=portfolio_ids).select_related("asset"))
        # Closes indexed by the moment they are known (the candle's close time), for trade timing.
        known = closes.copy()
        known.index = known.index + TIMEFRAME_DELTAS.get(scope.timeframe, pd.Timedelta(days=1))
        known = known[known.index > known.index[-1] - pd.Timedelta(days=HISTORY_DAYS)]
        trades = executed_trades(portfolio_ids=portfolio_ids, since=known.index[0])
        signals = latest_active_signals(asset_ids={h.asset_id for h in holdings})
        by_portfolio: dict[int, list] = {}
        for holding in holdings:
            by_portfolio.setdefault(holding.portfolio_id, []).append(holding)
        portfolio_rows, holding_rows = [], []
        for portfolio_id, portfolio in portfolios.items():
            owned = by_portfolio.get(portfolio_id, [])
            row, result = portfolio_analysis(
                model=model,
                job=job,
                portfolio=portfolio,
                owned=owned,
                known=known,
                trades=trades.get(portfolio_id, []),
                as_of=as_of,
            )
            portfolio_rows.append(row)
            holding_rows += self._holding_rows(model, job, owned, known, market, result, signals, as_of)
        AIPortfolioAnalysis.objects.bulk_create(portfolio_rows)
        PortfolioAssetAnalysis.objects.bulk_create(holding_rows)
        return len(portfolio_rows) + len(holding_rows)

    def _holding_rows(self, model, job, owned, known, market, result, signals, as_of) -> list:
        rows = []
        for holding in owned:
            if holding.asset_id not in known:
                continue
            score = analytics.asset_score(known[holding.asset_id], market)
            plan = result["rebalancing"].get(holding.asset_id)
            signal = signals.get(holding.asset_id)
            weight = result["weights"].get(holding.asset_id, 0.0)
            value = float(holding.quantity) * float(known[holding.asset_id].ffill().iloc[-1])
            cost = float(holding.cost_basis)
            recommendation = holding_recommendation(
                score=score["score"],
                drift=plan["drift"] if plan else None,
                signal=signal.signal_type if signal else None,
            )
            suggested = plan["target_weight"] if plan else weight
            rows.append(
                PortfolioAssetAnalysis(
                    portfolio_asset=holding,
                    ai_model=model,
                    signal=signal,
                    prediction_job=job,
                    analysis_time=as_of,
                    recommendation=recommendation,
                    suggested_allocation=decimal_fit(
                        0 if recommendation == Recommendation.EXIT else suggested, 2, 0, 100
                    ),
                    risk_score=decimal_fit(
                        100 - score["risk"] if score["risk"] is not None else None, 2, 0, 100
                    ),
                    unrealized_pnl_pct=decimal_fit(
                        (value - cost) / cost * 100 if cost > 0 else None, 4, -1e5, 1e5
                    ),
                    summary=f"{recommendation}: score {score['score']:.0f}, weight {weight:.1f}%",
                    ai_confidence_score=decimal_fit(score["score"] / 100, 2, 0, 1),
                    analysis_data=jsonable(score),
                )
            )
        return rows
