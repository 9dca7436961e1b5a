"""The candle columns, named once: the keys an imported row and the API use, and the columns of
the candle tables (price_data, price_data_archive) they are stored in.

Every list of candle columns (the import's checks, the COPY and merge SQL, the API, the admin's
export, the archive, the frames of the models) is built from these.
"""

# Row key -> column, in the order of a candle: its open time, then its values.
CANDLE_COLUMNS = {
    "candle_time": "candle_time",
    "open": "open_price",
    "high": "high_price",
    "low": "low_price",
    "close": "close_price",
    "volume": "volume",
    "trade_count": "trade_count",
    "vwap": "vwap",
    "market_cap": "market_cap",
}
CANDLE_KEYS = tuple(CANDLE_COLUMNS)
# Row key -> column of the values a source gives (all but the time).
VALUE_COLUMNS = {key: column for key, column in CANDLE_COLUMNS.items() if key != "candle_time"}
PRICE_KEYS = ("open", "high", "low", "close")
PRICE_COLUMNS = tuple(CANDLE_COLUMNS[key] for key in PRICE_KEYS)
OHLCV_COLUMNS = (*PRICE_COLUMNS, "volume")
# Values a source may lack: a later import without them keeps the stored ones.
OPTIONAL_COLUMNS = ("trade_count", "vwap", "market_cap")
