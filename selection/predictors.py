"""Layer 3's figures written as AI analyses: watchlist scores and portfolio analytics
(selection.analytics), the rows of this app's tables.

The `asset_selection` architecture that runs them is registered by trading
(trading/asset_selection.py): a portfolio's history is rebuilt from its executed trades and its
holdings are analysed against the trading signals, both trading's, so the model belongs in the
layer above. This module takes what it needs from trading as plain data.

`{"as_of": TIME}` (ISO 8601, or a list of times) reruns the watchlists' scoring as it was known
at each TIME: from the candles closed by then (stamped a bar before it at the latest), the
analysis stamped with the last of them, the lists' members as they are now. Portfolios are not
analysed as of a past time: their holdings are known only as they are today.
"""

from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError

from assets.models import Asset
from assets.selectors import candle_frames
from cryptopredict.choices import TIMEFRAME_DELTAS
from cryptopredict.numbers import decimal_fit, jsonable

from . import analytics
from .models import AIPortfolioAnalysis, AIWatchlistAnalysis, Watchlist


def target_ids(parameters: dict, key: str, model) -> list[int] | None:
    """Return [id] of the live `model` row that `parameters[key]` names, None without the key."""
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


def watchlists_analyse_as_of(*, model, job, scope, times: list[datetime]) -> int:
    """Write each watchlist's analysis as known at each of `times` (see the module's as_of)."""
    if "portfolio" in scope.parameters:
        raise ValidationError({"parameters": "as_of scores watchlists only: a portfolio is analysed now"})
    watchlist_ids = target_ids(scope.parameters, "watchlist", Watchlist)
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
        written += watchlists_analyse(
            model=model,
            job=job,
            watchlists=watchlists,
            closes=known,
            market=market,
            universe=universe,
            as_of=known.index[-1].to_pydatetime(),
        )
    if not written:
        raise ValidationError(f"no {scope.timeframe} candles closed by {times[-1]:%Y-%m-%d %H:%M}")
    return written


def watchlists_analyse(*, model, job, watchlists, closes, market, universe, as_of) -> int:
    """Write one AIWatchlistAnalysis per watchlist from the daily closes; return how many."""
    rows = []
    candidates = {pk: closes[pk] for pk in universe if pk in closes}
    for watchlist in watchlists:
        members = {
            item.asset_id: closes[item.asset_id] for item in watchlist.items.all() if item.asset_id in closes
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


def portfolio_analysis(
    *, model, job, portfolio, owned, known, trades, as_of
) -> tuple[AIPortfolioAnalysis, dict]:
    """Return the (unsaved) AIPortfolioAnalysis of `portfolio` and the analytics behind it.

    `owned` are its holdings, `known` the closes indexed by the time they are known, `trades`
    its executed trades as dicts (asset, time, side, quantity, price).
    """
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
        trades=trades,
        cash=float(portfolio.cash_balance),
    )
    row = AIPortfolioAnalysis(
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
        summary=_summary(result),
        ai_confidence_score=decimal_fit(len(columns) / max(1, len(owned)), 2, 0, 1),
        analysis_data=jsonable({k: v for k, v in result.items() if k != "rebalancing"}),
    )
    return row, result


def _summary(result: dict) -> str:
    parts = [f"value {result['value']:,.2f}", f"unrealized PnL {result['unrealized_pnl']:+,.2f}"]
    if result["time_weighted_return"] is not None:
        parts.append(f"TWR {result['time_weighted_return']:+.1%}")
    if result["sharpe_ratio"] is not None:
        parts.append(f"Sharpe {result['sharpe_ratio']:.2f}")
    return ", ".join(parts)
