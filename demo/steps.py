"""The demo data of `seed_demo`: accounts, assets with real candles, sectors and their mappings,
indicators and snapshots, a demo watchlist and portfolio with real trades, and the AI models' runs.

Every step is idempotent and returns one line for the command to print. The demo assets are
BTC and ETH in USD and the Binance pairs ETHBTC, ADABTC and TRXBTC quoted in BTC (5-minute
candles from freqtrade files, January 2018): a pair is its own asset, named by its Binance
symbol, with quote_currency "BTC". BTC's daily candles are Binance's real OHLC (BTC/USDT) from
2017-08-17 to 2023-12-05 and CoinGecko's daily prices (price points: no traded range) before and
after; ETH's are CoinGecko prices throughout.
"""

import os
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Count

from assets.choices import AssetType
from assets.importers import read_candles
from assets.indicators import indicators_compute
from assets.models import Asset, LatestCandle, PriceData
from assets.services.asset_import import assets_import
from assets.services.importing import candles_import
from assets.services.partitions import candle_partitions_create
from assets.services.resampling import candles_resample
from assets.services.writing import candles_upsert
from cryptopredict.aggregates import aggregates_refresh
from cryptopredict.choices import UserRole
from demo.ai import ai_demo_run
from macro.services.snapshots import snapshots_build
from sectors.choices import MappingSource
from sectors.models import Sector, SectorMapping
from selection.models import Portfolio, Watchlist, WatchlistAsset
from trading.services import trade_action_create
from users.models import User

DEMO_DIR = Path(settings.BASE_DIR) / "data" / "demo"
ADMIN_EMAIL = "admin@cryptopredict.local"
DEMO_USERS = [("alice@cryptopredict.local", "Alice", "Demo"), ("bob@cryptopredict.local", "Bob", "Demo")]

ASSETS = [
    ("BTC", "Bitcoin", "USD", {"coingecko": "bitcoin", "binance": "BTCUSDT"}),
    ("ETH", "Ethereum", "USD", {"coingecko": "ethereum", "binance": "ETHUSDT"}),
    ("ETHBTC", "Ethereum / Bitcoin", "BTC", {"coingecko": "ethereum", "binance": "ETHBTC"}),
    ("ADABTC", "Cardano / Bitcoin", "BTC", {"coingecko": "cardano", "binance": "ADABTC"}),
    ("TRXBTC", "TRON / Bitcoin", "BTC", {"coingecko": "tron", "binance": "TRXBTC"}),
]
BTC_PRICES, BTC_OHLC = "coingecko_btc-usd-max.csv", "binance_BTCUSDT-1d.csv"
CANDLE_FILES = [
    ("ETH", "coingecko_eth-usd-max.csv", "1d"),
    ("ETHBTC", "ETH_BTC-5m.feather", "5m"),
    ("ADABTC", "ADA_BTC-5m.feather", "5m"),
    ("TRXBTC", "TRX_BTC-5m.feather", "5m"),
]
RESAMPLES = [
    ("BTC", "1d", "1w"),
    ("ETH", "1d", "1w"),
    *((s, "5m", "1h") for s in ("ETHBTC", "ADABTC", "TRXBTC")),
]
MARKETS_FILE = "coingecko_markets_btc_2024-12-10.json"

SECTORS = [
    ("Layer 1", "layer-1", "#1f77b4", "Base blockchains that settle their own transactions."),
    ("Smart Contract Platforms", "smart-contract-platforms", "#9467bd", "Chains that run general programs."),
    ("Payments", "payments", "#2ca02c", "Networks built to move value cheaply and fast."),
    ("Store of Value", "store-of-value", "#ff7f0e", "Scarce assets held as digital gold."),
]
# symbol -> (sector slug, weight %, primary); an asset's weights add up to at most 100.
MAPPINGS = {
    "BTC": [("store-of-value", 60, True), ("layer-1", 20, False), ("payments", 20, False)],
    "ETH": [("smart-contract-platforms", 70, True), ("layer-1", 30, False)],
    "ETHBTC": [("smart-contract-platforms", 100, True)],
    "ADABTC": [("smart-contract-platforms", 60, True), ("layer-1", 40, False)],
    "TRXBTC": [("payments", 50, True), ("smart-contract-platforms", 50, False)],
}


def _account(email: str, *, admin: bool, password: str | None, **names) -> str:
    """Create the account unless it exists; return what happened (with a generated password once)."""
    if User.objects.filter(email=email).exists():
        return f"{email} exists (to reset: manage.py changepassword {email})"
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    if admin:
        User.objects.create_superuser(email, password, **names)
    else:
        User.objects.create_user(email, password, role=UserRole.PUBLIC, is_verified=True, **names)
    return f"{email} created" + (f" with password {password} (shown once)" if generated else "")


def demo_accounts() -> str:
    """Create the admin (DEMO_ADMIN_EMAIL / DEMO_ADMIN_PASSWORD, else a generated password) and demo users."""
    email = os.environ.get("DEMO_ADMIN_EMAIL") or ADMIN_EMAIL
    lines = [_account(email, admin=True, password=os.environ.get("DEMO_ADMIN_PASSWORD") or None)]
    for user_email, first, last in DEMO_USERS:
        password = os.environ.get("DEMO_USER_PASSWORD") or None
        lines.append(_account(user_email, admin=False, password=password, first_name=first, last_name=last))
    # One account a line, so the login `make run` prints stands out.
    return "".join(f"\n  {line}" for line in lines)


def demo_assets() -> str:
    """Create the demo assets (kept as they are when they exist) and load BTC's CoinGecko market data."""
    created = 0
    for symbol, name, quote, ids in ASSETS:
        _, new = Asset.objects.get_or_create(
            symbol=symbol,
            defaults={
                "name": name,
                "asset_type": AssetType.CRYPTO,
                "quote_currency": quote,
                "external_ids": ids,
            },
        )
        created += new
    markets = assets_import(path=DEMO_DIR / MARKETS_FILE)
    return (
        f"{created} assets created, {len(ASSETS) - created} kept; BTC market data: {markets.updated} updated"
    )


def _btc_daily() -> tuple[list[dict], list[dict]]:
    """Return BTC's daily candles: (real OHLC where Binance has the day, CoinGecko price points elsewhere).

    Binance's candles keep CoinGecko's market cap of the same day (the kline file has none).
    """
    prices, ohlc = (read_candles(DEMO_DIR / name, timeframe="1d") for name in (BTC_PRICES, BTC_OHLC))
    try:
        points, real = list(prices.rows), list(ohlc.rows)
    finally:
        prices.close()
        ohlc.close()
    caps = {row["candle_time"]: row.get("market_cap") for row in points}
    days = {row["candle_time"] for row in real}
    real = [row | {"market_cap": caps.get(row["candle_time"])} for row in real]
    return real, [row for row in points if row["candle_time"] not in days]


def demo_candles() -> str:
    """Import the demo candle files and build weekly and hourly candles from them."""
    assets = Asset.objects.in_bulk(["BTC", *(symbol for symbol, *_ in CANDLE_FILES)], field_name="symbol")
    real, points = _btc_daily()
    inserted = unchanged = 0
    for rows, price_points in ((points, True), (real, False)):
        result = candles_upsert(asset=assets["BTC"], timeframe="1d", rows=rows, price_points=price_points)
        inserted, unchanged = inserted + result.inserted + result.updated, unchanged + result.unchanged
    for symbol, file, timeframe in CANDLE_FILES:
        report = candles_import(path=DEMO_DIR / file, asset=assets[symbol], timeframe=timeframe)
        inserted, unchanged = inserted + report.inserted + report.updated, unchanged + report.unchanged
    for symbol, source, target in RESAMPLES:
        result = candles_resample(asset=assets[symbol], source_tf=source, target_tf=target)
        inserted, unchanged = inserted + result.inserted + result.updated, unchanged + result.unchanged
    _prices_from_candles(assets.values())
    aggregates_refresh(views=[LatestCandle.VIEW])  # now, not after a commit: the portfolios step values by it
    return f"{inserted} written, {unchanged} unchanged"


def demo_partitions() -> str:
    """Give the candles their monthly partitions (PostgreSQL), out of the DEFAULT one they landed in."""
    created = candle_partitions_create()
    return f"{len(created)} partitions created" if created else "none needed"


def _prices_from_candles(assets) -> None:
    """Give assets without a current price the close of their latest candle."""
    for asset in assets:
        if asset.current_price is not None:
            continue
        latest = PriceData.objects.filter(asset=asset).order_by("-candle_time").first()
        if latest:
            asset.current_price, asset.last_price_update = latest.close_price, latest.candle_time
            asset.save(update_fields=["current_price", "last_price_update", "updated_at"])


@transaction.atomic
def demo_sectors() -> str:
    """Create the demo sectors and map the demo assets to them."""
    sectors = {}
    for order, (name, slug, color, description) in enumerate(SECTORS):
        sectors[slug], _ = Sector.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "color": color, "description": description, "sort_order": order},
        )
    assets = Asset.objects.in_bulk(list(MAPPINGS), field_name="symbol")
    created = 0
    for symbol, mappings in MAPPINGS.items():
        for slug, weight, primary in mappings:
            _, new = SectorMapping.objects.get_or_create(
                asset=assets[symbol],
                sector=sectors[slug],
                defaults={"weight": weight, "is_primary": primary, "source": MappingSource.MANUAL},
            )
            created += new
    counts = Sector.objects.filter(pk__in=[s.pk for s in sectors.values()]).annotate(n=Count("mappings"))
    for sector in counts:
        if sector.asset_count != sector.n:
            Sector.objects.filter(pk=sector.pk).update(asset_count=sector.n)
    return f"{len(SECTORS)} sectors, {created} mappings created"


def demo_indicators() -> str:
    """Fill the technical indicators of every demo candle that has none yet."""
    return f"{indicators_compute()} candles computed"


def demo_snapshots() -> str:
    """Build the daily market snapshots from the stored candles."""
    counts = snapshots_build(timeframe="1d")
    return f"{counts.created} created, {counts.updated} updated, {counts.unchanged} unchanged"


# Alice's demo portfolio: (symbol, action, quantity, day), each executed at 00:00 UTC of the day at
# the open of the day's candle - the price known then (the close is known only at the day's end) -
# with a 0.1% fee.
DEMO_TRADES = [
    ("BTC", "buy", Decimal("0.5"), date(2020, 3, 16)),
    ("ETH", "buy", Decimal("10"), date(2020, 12, 1)),
    ("BTC", "buy", Decimal("0.25"), date(2022, 6, 18)),
    ("ETH", "sell", Decimal("4"), date(2021, 11, 9)),
]
FEE_RATE = Decimal("0.001")


def demo_portfolios() -> str:
    """Give alice a public watchlist and a cash-tracked portfolio built by real trades (once)."""
    alice = User.objects.get(email=DEMO_USERS[0][0])
    assets = Asset.objects.in_bulk(["BTC", "ETH", "ETHBTC"], field_name="symbol")
    watchlist, created = Watchlist.objects.alive().get_or_create(
        user=alice, name="Majors", defaults={"is_default": True, "is_public": True}
    )
    for order, asset in enumerate(assets.values()):
        WatchlistAsset.objects.get_or_create(watchlist=watchlist, asset=asset, defaults={"sort_order": order})
    portfolio, created = Portfolio.objects.alive().get_or_create(
        user=alice,
        name="Long-term",
        defaults={"is_default": True, "track_cash": True, "cash_balance": Decimal("50000")},
    )
    if not created:
        return "alice's watchlist and portfolio exist"
    for symbol, action, quantity, day in sorted(DEMO_TRADES, key=lambda trade: trade[3]):
        moment = datetime.combine(day, time(), tzinfo=UTC)
        price = PriceData.objects.get(asset=assets[symbol], timeframe="1d", candle_time=moment).open_price
        trade_action_create(
            portfolio=portfolio,
            asset=assets[symbol],
            user=alice,
            action_type=action,
            quantity=quantity,
            price=price,
            fee=(quantity * price * FEE_RATE).quantize(Decimal("0.01")),
            executed_at=moment,
        )
    for holding, target in zip(portfolio.holdings.order_by("asset__symbol"), (60, 40), strict=False):
        holding.target_allocation = target
        holding.save(update_fields=["target_allocation", "updated_at"])
    return f"watchlist 'Majors' and portfolio 'Long-term' with {len(DEMO_TRADES)} trades for alice"


def demo_ai() -> str:
    """Train, run and evaluate the built-in models of every layer on the demo data."""
    summary = ai_demo_run(log=lambda line: None)
    models = len(summary) - 1  # the rest of the summary is one entry per model
    return (
        f"{models} models trained, run and evaluated (once); {summary['sector_history']} sector history rows"
    )


# The steps of seed_demo, in order: each layer reads what the steps before it wrote.
def demo_aggregates() -> str:
    """Refresh the aggregate views over what the steps above wrote."""
    refreshed = aggregates_refresh()
    return f"{', '.join(refreshed)} refreshed" if refreshed else "plain views (always current)"


STEPS: list[tuple[str, Callable[[], str]]] = [
    ("accounts", demo_accounts),
    ("assets", demo_assets),
    ("candles", demo_candles),
    ("partitions", demo_partitions),
    ("sectors", demo_sectors),
    ("indicators", demo_indicators),
    ("snapshots", demo_snapshots),
    ("portfolios", demo_portfolios),
    ("ai", demo_ai),
    ("aggregates", demo_aggregates),
]
