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

from assets.models import LatestCandle
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
