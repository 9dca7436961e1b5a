"""The JSON the back office's charts read: one window of data at a time, never a whole table."""

from datetime import UTC, datetime

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse

from assets import selectors as asset_selectors
from assets.models import Asset
from cryptopredict.choices import Timeframe
from macro.selectors import regimes_in_window
from selection.models import Portfolio
from trading.selectors import portfolio_chart as portfolio_chart_data
from trading.selectors import signals_in_window


class CandleChartQuery(forms.Form):
    """The query of the candle chart: which timeframe, candles up to when, how many."""

    DEFAULT_LIMIT = 1000

    timeframe = forms.ChoiceField(choices=Timeframe.choices, required=False)
    end = forms.IntegerField(required=False, min_value=0, help_text="Unix seconds, UTC.")
    limit = forms.IntegerField(required=False, min_value=1, max_value=5000)


class PortfolioChartQuery(forms.Form):
    """The query of the portfolio chart: days up to when, how many."""

    DEFAULT_DAYS = 365

    end = forms.IntegerField(required=False, min_value=0, help_text="Unix seconds, UTC.")
    days = forms.IntegerField(required=False, min_value=1, max_value=5000)


def _require(request, *permissions: str) -> None:
    if not all(request.user.has_perm(permission) for permission in permissions):
        raise PermissionDenied


def candles_chart(request, asset_id: int):
    """Answer one window of an asset's candles with indicators, signals and regimes."""
    _require(request, "assets.view_asset", "assets.view_pricedata")
    asset = Asset.objects.filter(pk=asset_id).first()
    if asset is None:
        raise Http404("No such asset.")
    query = CandleChartQuery(request.GET)
    if not query.is_valid():
        return JsonResponse(query.errors, status=400)
    timeframes = asset_selectors.candle_timeframes(asset=asset)
    timeframe = query.cleaned_data["timeframe"] or (
        Timeframe.D1 if Timeframe.D1 in timeframes else next(iter(timeframes), Timeframe.D1)
    )
    end = query.cleaned_data["end"]
    window = asset_selectors.candle_chart_window(
        asset=asset,
        timeframe=timeframe,
        end=None if end is None else datetime.fromtimestamp(end, UTC),
        limit=query.cleaned_data["limit"] or CandleChartQuery.DEFAULT_LIMIT,
    )
    signals, regimes = [], []
    if window["candles"]:
        start, last = (datetime.fromtimestamp(window["candles"][i][0], UTC) for i in (0, -1))
        if request.user.has_perm("trading.view_aitradingsignal"):
            signals = signals_in_window(asset=asset, start=start, end=last, timeframe=timeframe)
        if request.user.has_perm("macro.view_airegimeanalysis"):
            regimes = regimes_in_window(start=start, end=last)
    return JsonResponse(
        {
            "asset": asset.symbol,
            "timeframe": timeframe,
            "timeframes": timeframes,
            **window,
            "signals": signals,
            "regimes": regimes,
        }
    )


def portfolio_chart(request, portfolio_id: int):
    """Answer a portfolio's daily value with cash against BTC, allocation and PnL as JSON."""
    _require(request, "selection.view_portfolio")
    portfolio = Portfolio.objects.filter(pk=portfolio_id).first()
    if portfolio is None:
        raise Http404("No such portfolio.")
    query = PortfolioChartQuery(request.GET)
    if not query.is_valid():
        return JsonResponse(query.errors, status=400)
    end = query.cleaned_data["end"]
    chart = portfolio_chart_data(
        portfolio=portfolio,
        end=None if end is None else datetime.fromtimestamp(end, UTC),
        days=query.cleaned_data["days"] or PortfolioChartQuery.DEFAULT_DAYS,
    )
    return JsonResponse({"portfolio": str(portfolio), "currency": portfolio.base_currency, **chart})
