"""Reads of trading signals and trades worth naming."""

from datetime import timedelta
from decimal import Decimal

from assets.models import Asset, PriceData
from selection.models import Portfolio
from selection.selectors import holdings_valued

from .choices import ActionType, SignalStatus, TradeStatus
from .models import AITradingSignal, TradeAction
from .services import _cash_effect

PRICES = (("entry", "entry_price"), ("stop", "stop_loss"), ("target", "target_price"))


def signals_in_window(*, asset, start, end, timeframe: str | None = None, limit: int = 200) -> list[dict]:
    """Return the asset's signals generated in [start, end], oldest first, as chart markers.

    Each has time (Unix seconds), type, status, strength and the entry, stop and target prices.
    """
    signals = AITradingSignal.objects.filter(asset=asset, generated_at__gte=start, generated_at__lte=end)
    if timeframe is not None:
        signals = signals.filter(timeframe=timeframe)
    rows = signals.order_by("-generated_at").values(
        "id", "generated_at", "signal_type", "status", "strength", "entry_price", "stop_loss", "target_price"
    )[:limit]
    return [
        {
            "id": row["id"],
            "time": int(row["generated_at"].timestamp()),
            "type": row["signal_type"],
            "status": row["status"],
            "strength": float(row["strength"]),
            **{key: None if row[column] is None else float(row[column]) for key, column in PRICES},
        }
        for row in reversed(rows)
    ]


def portfolio_chart(*, portfolio: Portfolio, end=None, days: int) -> dict:
    """Return a portfolio's daily value with cash against BTC, its allocation and PnL per holding.

    Quantities and cash before today are rebuilt backwards from today's holdings and cash through
    the executed trades after each day's close (cash moves only through trades, with the same
    effect trading.services gives them). A day's value is its quantities at that day's daily
    close plus, when the portfolio tracks cash, its cash. The benchmark puts the first day's
    value into BTC, and each later external flow (a buy or sell of a portfolio that does not
    track cash) too. Holdings are valued now as the API values them (holdings_valued).
    """
    holdings = list(holdings_valued(portfolio.holdings.select_related("asset")).order_by("asset__symbol"))
    trades = list(
        TradeAction.objects.filter(portfolio=portfolio, status=TradeStatus.EXECUTED).only(
            "asset_id", "action_type", "quantity", "total_value", "fee", "executed_at"
        )
    )
    btc = Asset.objects.filter(symbol="BTC").only("pk").first()
    assets = {h.asset_id for h in holdings} | {t.asset_id for t in trades}
    candles = PriceData.objects.filter(timeframe="1d", asset_id__in=assets | ({btc.pk} if btc else set()))
    if end is not None:
        candles = candles.filter(candle_time__lte=end)
    last = candles.order_by("-candle_time").values_list("candle_time", flat=True).first()
    rows = []
    if last is not None:
        rows = list(
            candles.filter(candle_time__gt=last - timedelta(days=days))
            .order_by("candle_time")
            .values_list("candle_time", "asset_id", "close_price")
        )
    closes, times = {}, []
    for time, asset_id, close in rows:
        if not times or times[-1] != time:
            times.append(time)
        closes.setdefault(time, {})[asset_id] = close
    quantity = {h.asset_id: h.quantity for h in holdings}
    cash = portfolio.cash_balance if portfolio.track_cash else Decimal(0)
    later = sorted(trades, key=lambda t: t.executed_at, reverse=True)  # undone newest first
    latest_close: dict[int, Decimal] = {}
    points = []
    for time in reversed(times):
        close_time = time + timedelta(days=1)
        while later and later[0].executed_at >= close_time:
            trade = later.pop(0)
            signed = trade.quantity if trade.action_type == ActionType.BUY else -trade.quantity
            quantity[trade.asset_id] = quantity.get(trade.asset_id, Decimal(0)) - signed
            if portfolio.track_cash:
                cash -= _cash_effect(trade)
        points.append((time, dict(quantity), cash))
    points.reverse()
    series = {"time": [], "value": [], "cash": [], "benchmark": [], "more": bool(times) and bool(later)}
    btc_units = None
    flows = {}  # day -> external flow, for portfolios that do not track cash
    if not portfolio.track_cash:
        for trade in trades:
            day = next((t for t in times if t + timedelta(days=1) > trade.executed_at), None)
            if day is not None:
                flows[day] = flows.get(day, Decimal(0)) - _cash_effect(trade)
    for time, quantities, cash_then in points:
        latest_close.update(closes[time])
        value = cash_then + sum(
            (q * latest_close[a] for a, q in quantities.items() if q and a in latest_close), Decimal(0)
        )
        btc_close = latest_close.get(btc.pk) if btc else None
        if btc_close:
            if btc_units is None:
                btc_units = value / btc_close
            elif time in flows:
                btc_units += flows[time] / btc_close
        series["time"].append(int(time.timestamp()))
        series["value"].append(float(value))
        series["cash"].append(float(cash_then))
        series["benchmark"].append(None if btc_units is None else float(btc_units * btc_close))
    return {
        **series,
        "holdings": [
            {
                "asset": h.asset.symbol,
                "quantity": float(h.quantity),
                "value": float(h.current_value),
                "cost_basis": float(h.cost_basis),
                "unrealized_pnl": float(h.unrealized_pnl),
                "realized_pnl": float(h.realized_pnl),
            }
            for h in holdings
        ],
        "cash_now": float(portfolio.cash_balance) if portfolio.track_cash else None,
    }


def executed_trades(*, portfolio_ids, since) -> dict[int, list[dict]]:
    """Return each portfolio's executed trades since `since` as dicts (asset, time, side, quantity,
    price), the shape selection.analytics replays."""
    trades: dict[int, list[dict]] = {}
    rows = TradeAction.objects.filter(
        portfolio_id__in=portfolio_ids, status=TradeStatus.EXECUTED, executed_at__gte=since
    ).values("portfolio_id", "asset_id", "executed_at", "action_type", "quantity", "price")
    for row in rows:
        trades.setdefault(row["portfolio_id"], []).append(
            {
                "asset": row["asset_id"],
                "time": row["executed_at"],
                "side": row["action_type"],
                "quantity": row["quantity"],
                "price": row["price"],
            }
        )
    return trades


def latest_active_signals(*, asset_ids) -> dict[int, AITradingSignal]:
    """Return the newest active out-of-sample signal of each asset in `asset_ids`."""
    signals: dict[int, AITradingSignal] = {}
    for signal in AITradingSignal.objects.filter(
        asset_id__in=asset_ids, status=SignalStatus.ACTIVE, in_sample=False
    ).order_by("asset_id", "-generated_at"):
        signals.setdefault(signal.asset_id, signal)
    return signals
