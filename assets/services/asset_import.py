"""Upsert assets from a CoinGecko /coins/markets file."""

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from cryptopredict.imports import Rejection
from cryptopredict.numbers import decimal_for_field, jsonable
from cryptopredict.timeframes import parse_timestamp

from ..candle_writes import (
    stored_same,
)
from ..importers import ImportFormatError
from ..models import Asset
from .results import UpsertResult

# Asset field -> key of a CoinGecko /coins/markets element.
MARKET_FIELDS = {
    "name": "name",
    "logo_url": "image",
    "market_cap": "market_cap",
    "market_cap_rank": "market_cap_rank",
    "current_price": "current_price",
    "total_volume": "total_volume",
    "circulating_supply": "circulating_supply",
    "total_supply": "total_supply",
    "max_supply": "max_supply",
    "price_change_percentage_24h": "price_change_percentage_24h",
    "price_change_percentage_7d": "price_change_percentage_7d_in_currency",
    "price_change_percentage_30d": "price_change_percentage_30d_in_currency",
    "ath": "ath",
    "ath_date": "ath_date",
    "atl": "atl",
    "atl_date": "atl_date",
    "last_price_update": "last_updated",
}
ASSET_UPDATE_FIELDS = [*MARKET_FIELDS, "external_ids", "metrics_details", "data_source"]


def _market_value(name: str, raw, errors: dict):
    """Return a CoinGecko value converted for the Asset field `name` (None when absent or bad)."""
    if raw is None or raw == "":
        return None
    model_field = Asset._meta.get_field(name)
    try:
        if model_field.get_internal_type() == "DecimalField":
            return decimal_for_field(Decimal(str(raw)), model_field)
        if model_field.get_internal_type() == "DateTimeField":
            return parse_timestamp(raw)[0]
        if model_field.get_internal_type() == "IntegerField":
            return int(raw)
    except (ValueError, InvalidOperation, TypeError) as exc:
        errors[name] = [f"bad value {raw!r} ({exc})"]
        return None
    return str(raw)


def _market_errors(values: dict, errors: dict) -> None:
    """Add the Asset table's check constraints that a CoinGecko element breaks."""
    if values["current_price"] is not None and values["current_price"] <= 0:
        errors["current_price"] = ["must be greater than 0"]
    for name in ("market_cap", "circulating_supply", "total_supply", "max_supply"):
        if values[name] is not None and values[name] < 0:
            errors[name] = ["must not be negative"]
    if values["market_cap_rank"] is not None and values["market_cap_rank"] <= 0:
        errors["market_cap_rank"] = ["must be greater than 0"]
    supply, cap = values["circulating_supply"], values["max_supply"]
    if supply is not None and cap is not None and supply > cap:
        errors["circulating_supply"] = [f"{supply} is above max_supply {cap}"]


def assets_import(*, path: Path | str) -> UpsertResult:
    """Upsert assets from a CoinGecko /coins/markets JSON file (see assets_upsert)."""
    path = Path(path)
    if not path.is_file():
        raise ImportFormatError(f"no such file: {path}")
    try:
        items = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ImportFormatError(f"{path.name}: invalid JSON ({exc})") from None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ImportFormatError(f"{path.name}: expected a JSON list of CoinGecko /coins/markets objects")
    return assets_upsert(items=items)


def assets_upsert(*, items: list[dict]) -> UpsertResult:
    """Upsert assets (by upper-cased symbol) from CoinGecko /coins/markets elements (a file's or
    the API's).

    Every Asset field the element fills is set (7d/30d changes from the *_in_currency keys); the
    other keys go to metrics_details and the CoinGecko id to external_ids. Bad elements are
    rejected with their 1-based index; the good ones are stored.
    """
    result, parsed = UpsertResult(), {}
    used = {"id", "symbol", *MARKET_FIELDS.values()}
    for index, item in enumerate(items, start=1):
        errors: dict[str, list[str]] = {}
        symbol = str(item.get("symbol") or "").strip().upper()
        if not symbol or len(symbol) > Asset._meta.get_field("symbol").max_length:
            errors["symbol"] = [f"missing or too long: {item.get('symbol')!r}"]
        if not item.get("name"):
            errors["name"] = ["required"]
        values = {name: _market_value(name, item.get(key), errors) for name, key in MARKET_FIELDS.items()}
        _market_errors(values, errors)
        if errors:
            result.rejected.append(Rejection(index, errors))
            continue
        values["metrics_details"] = jsonable({k: v for k, v in item.items() if k not in used})
        values["coingecko_id"] = item.get("id")
        parsed[symbol] = values
    existing = Asset.objects.in_bulk(list(parsed), field_name="symbol")
    created, changed = [], []
    for symbol, values in parsed.items():
        coingecko_id = values.pop("coingecko_id")
        asset = existing.get(symbol) or Asset(symbol=symbol, asset_type="crypto")
        ids = {**(asset.external_ids or {}), **({"coingecko": coingecko_id} if coingecko_id else {})}
        values.update(external_ids=ids, data_source="coingecko")
        exact = connection.vendor != "sqlite"  # only SQLite stores decimals as doubles
        if asset.pk and all(
            stored_same(getattr(asset, name), value, exact=exact) for name, value in values.items()
        ):
            result.unchanged += 1
            continue
        for name, value in values.items():
            setattr(asset, name, value)
        asset.updated_at = timezone.now()  # bulk_update does not apply auto_now
        (changed if asset.pk else created).append(asset)
    with transaction.atomic():
        Asset.objects.bulk_create(created)
        Asset.objects.bulk_update(changed, [*ASSET_UPDATE_FIELDS, "updated_at"], batch_size=500)
    result.inserted, result.updated = len(created), len(changed)
    return result
