"""Layer 3: watchlist scoring and portfolio analytics (selection.analytics) written as AI analyses.

Scope: `{"watchlist": id}` or `{"portfolio": id}` in the job's parameters, or every live active
watchlist and portfolio when neither is given. Figures are as of the latest daily close; a
portfolio's history is rebuilt from its executed trades (see analytics.portfolio_analytics).

`{"as_of": TIME}` (ISO 8601, or a list of times) reruns the watchlists' scoring as it was known
at each TIME: from the candles closed by then (stamped a bar before it at the latest), the
analysis stamped with the last of them, the lists' members as they are now. Portfolios are not
analysed as of a past time: their holdings are known only as they are today.
"""

from datetime import UTC, datetime, timedelta

import pandas as pd
from django.core.exceptions import ValidationError

from ai.choices import ModelType
from ai.registry import register
from assets.models import Asset
from assets.selectors import candle_frames
from cryptopredict.choices import TIMEFRAME_DELTAS
from cryptopredict.numbers import decimal_fit, jsonable
from trading.choices import Recommendation, SignalStatus, TradeStatus
from trading.models import AITradingSignal, PortfolioAssetAnalysis, TradeAction

from . import analytics
from .models import AIPortfolioAnalysis, AIWatchlistAnalysis, Portfolio, PortfolioAsset, Watchlist

HISTORY_DAYS = 365  # the window of portfolio history behind return and risk figures


def _ids(parameters: dict, key: str, model) -> list[int] | None:
    if key not in parameters:
        return None
    value = parameters[key]
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValidationError({"parameters": f"{key} must be a {model._meta.verbose_name} id"})
    if not model.objects.alive().filter(pk=value).exists():
        raise ValidationError({"parameters": f"no {model._meta.verbose_name} with id {value}"})
    return [value]


def as_of_times(parameters: dict) -> list[datetime] | None:
    """Return the `as_of` times of a job's parameters (UTC where no offset is given), or None."""
    if "as_of" not in parameters:
        return None
    value = parameters["as_of"]
    values = value if isinstance(value, list) else [value]
    times = []
    for item in values:
        try:
            time = datetime.fromisoformat(item)
        except (TypeError, ValueError):
            raise ValidationError({"parameters": f"as_of must be ISO 8601 times, got {item!r}"}) from None
        times.append(time if time.tzinfo else time.replace(tzinfo=UTC))
    if not times:
        raise ValidationError({"parameters": "as_of must name at least one time"})
    return sorted(set(times))


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
        _ids(parameters, "watchlist", Watchlist)
        if as_of_times(parameters) is not None and "portfolio" in parameters:
            raise ValidationError({"parameters": "as_of scores watchlists only: a portfolio is analysed now"})
        _ids(parameters, "portfolio", Portfolio)

    def predict(self, *, model, job, scope) -> int:
        """Write one analysis per watchlist and portfolio in scope (and one per holding)."""
        times = as_of_times(scope.parameters)
        if times is not None:
            return self._watchlists_as_of(model, job, scope, times)
        watchlist_ids = _ids(scope.parameters, "watchlist", Watchlist)
        portfolio_ids = _ids(scope.parameters, "portfolio", Portfolio)
        if watchlist_ids is None and portfolio_ids is None:
            watchlist_ids = list(
                Watchlist.objects.alive().filter(is_active=True).values_list("pk", flat=True)
            )
            portfolio_ids = list(
                Portfolio.objects.alive().filter(is_active=True).values_list("pk", flat=True)
            )
        watchlists = Watchlist.objects.filter(pk__in=watchlist_ids or []).prefetch_related("items")
        holdings = list(
            PortfolioAsset.objects.filter(portfolio_id__in=portfolio_ids or []).select_related("asset")
        )
        universe = dict(Asset.objects.filter(is_active=True, is_supported=True).values_list("pk", "symbol"))
        closes = candle_frames(timeframe=scope.timeframe, fields=("close",))["close"]
        if closes.empty:
            raise ValidationError(f"no {scope.timeframe} candles: import candles first")
        market = closes.get(next((pk for pk, s in universe.items() if s == "BTC"), None))
        as_of = closes.index[-1].to_pydatetime()
        scope.checkpoint(30)
        written = self._watchlists(model, job, watchlists, closes, market, universe, as_of)
        scope.checkpoint(60)
        written += self._portfolios(model, job, scope, portfolio_ids or [], holdings, closes, market, as_of)
        return written

    def _watchlists_as_of(self, model, job, scope, times: list[datetime]) -> int:
        """Write each watchlist's analysis as known at each of `times` (see the module's as_of)."""
        if "portfolio" in scope.parameters:
            raise ValidationError({"parameters": "as_of scores watchlists only: a portfolio is analysed now"})
        watchlist_ids = _ids(scope.parameters, "watchlist", Watchlist)
        if watchlist_ids is None:
            watchlist_ids = Watchlist.objects.alive().filter(is_active=True).values_list("pk", flat=True)
        watchlists = list(Watchlist.objects.filter(pk__in=list(watchlist_ids)).prefetch_related("items"))
        universe = dict(Asset.objects.filter(is_active=True, is_supported=True).values_list("pk", "symbol"))
        step = TIMEFRAME_DELTAS.get(scope.timeframe, timedelta(days=31))
        # One read up to the last time; each analysis then sees only the candles closed by its time.
        closes = candle_frames(timeframe=scope.timeframe, end=times[-1] - step, fields=("close",))["close"]
        written, done = 0, set()
        for time in times:
            known = closes[closes.index <= time - step]
            if known.empty or known.index[-1] in done:
                continue  # nothing closed yet, or the same close as an earlier time
            done.add(known.index[-1])
            market = known.get(next((pk for pk, s in universe.items() if s == "BTC"), None))
            as_of = known.index[-1].to_pydatetime()
            written += self._watchlists(model, job, watchlists, known, market, universe, as_of)
        if not written:
            raise ValidationError(f"no {scope.timeframe} candles closed by {times[-1]:%Y-%m-%d %H:%M}")
        return written

    def _watchlists(self, model, job, watchlists, closes, market, universe, as_of) -> int:
        rows = []
        candidates = {pk: closes[pk] for pk in universe if pk in closes}
        for watchlist in watchlists:
            members = {
                item.asset_id: closes[item.asset_id]
                for item in watchlist.items.all()
                if item.asset_id in closes
            }
            result = analytics.watchlist_scores(members, market, candidates)
            rows.append(
                AIWatchlistAnalysis(
                    watchlist=watchlist,
                    ai_model=model,
                    prediction_job=job,
                    analysis_time=as_of,
                    overall_score=decimal_fit(result["overall"], 2, 0, 100),
                    diversification_score=decimal_fit(result["diversification"], 2, 0, 100),
                    risk_score=decimal_fit(result["risk"], 2, 0, 100),
                    asset_scores={str(a): s["score"] for a, s in result["assets"].items()},
                    recommendations=jsonable(result["recommendations"]),
                    summary=f"{len(members)} assets scored, mean {result['overall']}"
                    if members
                    else "no priced assets",
                    ai_confidence_score=decimal_fit(len(members) / max(1, watchlist.items.count()), 2, 0, 1),
                    analysis_data=jsonable(result["assets"]),
                )
            )
        AIWatchlistAnalysis.objects.bulk_create(rows)
        return len(rows)

    def _portfolios(self, model, job, scope, portfolio_ids, holdings, closes, market, as_of) -> int:
        if not portfolio_ids:
            return 0
        portfolios = Portfolio.objects.in_bulk(portfolio_ids)
        # Closes indexed by the moment they are known (the candle's close time), for trade timing.
        known = closes.copy()
        known.index = known.index + TIMEFRAME_DELTAS.get(scope.timeframe, pd.Timedelta(days=1))
        known = known[known.index > known.index[-1] - pd.Timedelta(days=HISTORY_DAYS)]
        trades = TradeAction.objects.filter(
            portfolio_id__in=portfolio_ids, status=TradeStatus.EXECUTED, executed_at__gte=known.index[0]
        ).values("portfolio_id", "asset_id", "executed_at", "action_type", "quantity", "price")
        signals = {}
        for signal in AITradingSignal.objects.filter(
            asset_id__in={h.asset_id for h in holdings}, status=SignalStatus.ACTIVE, in_sample=False
        ).order_by("asset_id", "-generated_at"):
            signals.setdefault(signal.asset_id, signal)
        by_portfolio: dict[int, list] = {}
        for holding in holdings:
            by_portfolio.setdefault(holding.portfolio_id, []).append(holding)
        portfolio_rows, holding_rows = [], []
        for portfolio_id, portfolio in portfolios.items():
            owned = by_portfolio.get(portfolio_id, [])
            columns = [h.asset_id for h in owned if h.asset_id in known]
            result = analytics.portfolio_analytics(
                holdings=[
                    {
                        "asset": h.asset_id,
                        "quantity": h.quantity,
                        "cost_basis": h.cost_basis,
                        "realized_pnl": h.realized_pnl,
                        "target": None if h.target_allocation is None else float(h.target_allocation),
                    }
                    for h in owned
                ],
                prices=known[columns],
                trades=[
                    {
                        "asset": t["asset_id"],
                        "time": t["executed_at"],
                        "side": t["action_type"],
                        "quantity": t["quantity"],
                        "price": t["price"],
                    }
                    for t in trades
                    if t["portfolio_id"] == portfolio_id
                ],
                cash=float(portfolio.cash_balance),
            )
            portfolio_rows.append(
                AIPortfolioAnalysis(
                    portfolio=portfolio,
                    ai_model=model,
                    prediction_job=job,
                    analysis_time=as_of,
                    portfolio_value=decimal_fit(result["value"], 8, digits=30),
                    risk_score=decimal_fit(result["risk_score"], 2, 0, 100),
                    diversification_score=decimal_fit(result["diversification_score"], 2, 0, 100),
                    expected_return=decimal_fit(result["expected_return"], 4, -1e5, 1e5),
                    volatility=decimal_fit(result["volatility"], 4, 0, 1e5),
                    sharpe_ratio=decimal_fit(result["sharpe_ratio"], 4, -1e5, 1e5),
                    max_drawdown=decimal_fit(result["max_drawdown"], 4, 0, 1),
                    rebalancing=jsonable(result["rebalancing"]),
                    summary=self._summary(result),
                    ai_confidence_score=decimal_fit(len(columns) / max(1, len(owned)), 2, 0, 1),
                    analysis_data=jsonable({k: v for k, v in result.items() if k != "rebalancing"}),
                )
            )
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

    @staticmethod
    def _summary(result: dict) -> str:
        parts = [f"value {result['value']:,.2f}", f"unrealized PnL {result['unrealized_pnl']:+,.2f}"]
        if result["time_weighted_return"] is not None:
            parts.append(f"TWR {result['time_weighted_return']:+.1%}")
        if result["sharpe_ratio"] is not None:
            parts.append(f"Sharpe {result['sharpe_ratio']:.2f}")
        return ", ".join(parts)
