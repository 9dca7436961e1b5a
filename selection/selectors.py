"""Reads of watchlists and portfolios worth naming: holdings valued at the latest close."""

from decimal import Decimal

from django.db.models import (
    Case,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from assets.models import LatestCandle, PriceData
from cryptopredict.choices import Timeframe

from .models import Portfolio, PortfolioAsset

VALUE = DecimalField(max_digits=38, decimal_places=18)


# Of two latest candles opening at the same time, the longer one closes later: its close is the latest.
LONGEST_FIRST = Case(
    *(When(timeframe=tf, then=Value(i)) for i, tf in enumerate(reversed(Timeframe.values))),
    output_field=IntegerField(),
)


def latest_close(asset_ref: str = "asset") -> Subquery:
    """Return the close of the asset's most recent candle (any timeframe) as a correlated subquery.

    It reads the latest-candle view (one row per asset and timeframe), not price_data.
    """
    latest = LatestCandle.objects.filter(asset=OuterRef(asset_ref)).order_by("-candle_time", LONGEST_FIRST)
    return Subquery(latest.values("close_price")[:1], output_field=VALUE)


def current_price_expression(asset_ref: str = "asset"):
    """Return the latest close, or the asset's quoted current_price when it has no candle yet."""
    return Coalesce(latest_close(asset_ref), F(f"{asset_ref}__current_price"), output_field=VALUE)


def holdings_valued(queryset: QuerySet[PortfolioAsset] | None = None) -> QuerySet[PortfolioAsset]:
    """Return holdings annotated with current_price, current_value and unrealized_pnl.

    A holding whose asset has no price at all is valued at cost (current_price None, no gain).
    """
    queryset = PortfolioAsset.objects.all() if queryset is None else queryset
    value = ExpressionWrapper(F("quantity") * F("current_price"), output_field=VALUE)
    return queryset.annotate(current_price=current_price_expression()).annotate(
        current_value=Coalesce(value, F("cost_basis"), output_field=VALUE),
        unrealized_pnl=ExpressionWrapper(
            Coalesce(value, F("cost_basis"), output_field=VALUE) - F("cost_basis"), output_field=VALUE
        ),
    )


def portfolios_valued(queryset: QuerySet[Portfolio] | None = None) -> QuerySet[Portfolio]:
    """Return portfolios annotated with current_value (holdings at the latest close) and unrealized_pnl."""
    queryset = Portfolio.objects.all() if queryset is None else queryset
    per_portfolio = (
        holdings_valued(PortfolioAsset.objects.filter(portfolio=OuterRef("pk")))
        .order_by()
        .values("portfolio")
        .annotate(total=Sum("current_value"))
        .values("total")
    )
    current_value = Coalesce(
        Subquery(per_portfolio, output_field=VALUE), Value(Decimal(0)), output_field=VALUE
    )
    return queryset.annotate(current_value=current_value).annotate(
        unrealized_pnl=ExpressionWrapper(F("current_value") - F("total_cost_basis"), output_field=VALUE)
    )


def portfolio_chart(*, portfolio: Portfolio, end=None, days: int) -> dict:
    """Return a portfolio's daily value with cash against BTC, its allocation and PnL per holding.

    Quantities and cash before today are rebuilt backwards from today's holdings and cash through
    the executed trades after each day's close (cash moves only through trades, with the same
    effect trading.services gives them). A day's value is its quantities at that day's daily
    close plus, when the portfolio tracks cash, its cash. The benchmark puts the first day's
    value into BTC, and each later external flow (a buy or sell of a portfolio that does not
    track cash) too. Holdings are valued now as the API values them (holdings_valued).
    """
    from datetime import timedelta

    from assets.models import Asset
    from trading.choices import ActionType, TradeStatus
    from trading.models import TradeAction
    from trading.services import _cash_effect

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
