"""Exchange candles through ccxt: Binance by default, any ccxt exchange by its id.

The exchange's REST host comes from EXCHANGE_API_URLS (BINANCE_API_URL for Binance), so tests
point the real ccxt client at a local server. Binance klines are read from the raw response
(strings, as the exchange sends them) through the import's Binance reader, so no price goes
through a float; other exchanges give ccxt's parsed numbers.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import ccxt
from django.conf import settings

from assets.importers import binance_kline_row
from cryptopredict.timeframes import EPOCH

from .http import SourceError, SourceUnavailable, backoff_seconds, retry_after_seconds, sleep

WEIGHT_HEADER = "x-mbx-used-weight-1m"


def _point_at(api, old_host: str, new_base: str):
    """Return ccxt's `urls['api']` (a URL or nested dict of them) with `old_host` swapped for `new_base`."""
    if isinstance(api, dict):
        return {key: _point_at(value, old_host, new_base) for key, value in api.items()}
    if isinstance(api, str) and api.startswith(old_host):
        return new_base.rstrip("/") + api[len(old_host) :]
    return api


def _spot_host(api) -> str | None:
    url = api.get("public") if isinstance(api, dict) else api
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def exchange_open(exchange_id: str) -> ccxt.Exchange:
    """Return a ccxt exchange for public market data, aimed at the configured base URL."""
    exchange_class = getattr(ccxt, exchange_id, None)
    if not isinstance(exchange_class, type) or not issubclass(exchange_class, ccxt.Exchange):
        raise SourceError(exchange_id, "no such ccxt exchange")
    exchange = exchange_class(
        {
            "timeout": int(settings.SOURCE_TIMEOUT_SECONDS * 1000),
            "enableRateLimit": True,
            # Spot markets only, and no private currency list: public candles need neither.
            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False},
        }
    )
    exchange.enableLastJsonResponse = True
    base = settings.EXCHANGE_API_URLS.get(exchange_id)
    host = _spot_host(exchange.urls.get("api"))
    if base and host:
        exchange.urls["api"] = _point_at(exchange.urls["api"], host, base)
    return exchange


class ExchangeClient:
    """Candles of one exchange: markets by the exchange's own ids (e.g. "BTCUSDT"), retried calls."""

    def __init__(self, exchange_id: str = "binance"):
        self.source = exchange_id
        self.exchange = exchange_open(exchange_id)
        self._loaded = False

    def _call(self, what: str, function, *args):
        """Call a ccxt method, retrying rate limits (honouring Retry-After) and network failures."""
        retries = settings.SOURCE_RETRIES
        for attempt in range(retries + 1):
            retry_after = None
            try:
                result = function(*args)
            except (ccxt.RateLimitExceeded, ccxt.DDoSProtection) as exc:
                retry_after = retry_after_seconds(self.exchange.last_response_headers)
                problem = f"{what}: rate limited ({_one_line(exc)})"
            except ccxt.NetworkError as exc:  # timeouts, dropped connections, 5xx
                problem = f"{what}: {type(exc).__name__} ({_one_line(exc)})"
            except ccxt.BaseError as exc:
                raise SourceError(self.source, f"{what}: {_one_line(exc)}") from None
            else:
                self._weight_pause()
                return result
            if attempt == retries:
                raise SourceUnavailable(self.source, f"{problem} ({retries + 1} attempts)")
            sleep(backoff_seconds(attempt, retry_after))
        raise AssertionError("unreachable")

    def _weight_pause(self) -> None:
        """Wait for the next minute when Binance's used request weight nears its limit."""
        headers = {str(k).lower(): v for k, v in (self.exchange.last_response_headers or {}).items()}
        used = headers.get(WEIGHT_HEADER)
        if used is None:
            return
        try:
            used = int(used)
        except ValueError:
            return
        if used >= settings.BINANCE_WEIGHT_LIMIT * 0.9:
            now = datetime.now(UTC)
            sleep(60 - now.second - now.microsecond / 1e6)

    def symbol(self, market_id: str) -> str:
        """Return ccxt's unified symbol ("BTC/USDT") of the exchange's market id ("BTCUSDT")."""
        if not self._loaded:
            self._call("load markets", self.exchange.load_markets)
            self._loaded = True
        market = self.exchange.markets_by_id.get(market_id) if self.exchange.markets_by_id else None
        if not market:
            raise SourceError(self.source, f"no market {market_id!r} on the exchange")
        return (market[0] if isinstance(market, list) else market)["symbol"]

    def candles(self, market_id: str, timeframe: str, since: datetime, limit: int) -> list[dict]:
        """Return up to `limit` candles opening at or after `since`, oldest first, as import rows
        (values as the exchange spells them; see assets.importers)."""
        symbol = self.symbol(market_id)
        since_ms = int((since - EPOCH).total_seconds() * 1000)
        ohlcv = self._call(
            f"GET klines {market_id} {timeframe}",
            self.exchange.fetch_ohlcv,
            symbol,
            timeframe,
            since_ms,
            limit,
        )
        raw = self.exchange.last_json_response
        if (
            isinstance(raw, list)
            and len(raw) == len(ohlcv)
            and all(isinstance(cells, list) and len(cells) >= 12 for cells in raw)
        ):
            rows = [binance_kline_row([str(c) for c in cells], n) for n, cells in enumerate(raw, start=1)]
        else:
            rows = [_ohlcv_row(values, n) for n, values in enumerate(ohlcv, start=1)]
        for row in rows:
            row["candle_time"] = EPOCH + timedelta(milliseconds=int(row["candle_time"]))
        return rows


def _ohlcv_row(values: list, line: int) -> dict:
    """Return a ccxt [ms, open, high, low, close, volume] candle as an import row."""

    def number(value):
        return None if value is None else Decimal(repr(value))

    stamp, open_, high, low, close, volume = values[:6]
    return {
        "line": line,
        "candle_time": stamp,
        "open": number(open_),
        "high": number(high),
        "low": number(low),
        "close": number(close),
        "volume": number(volume),
    }


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:200]
