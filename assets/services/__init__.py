"""Writes on assets and candles, one module per concern (import from the module, not the package).

- validation: `candle_parse`, `candle_errors` - the one check of a candle row
- writing: `candles_upsert` - the one write path of candles; `candles_market_caps_set`
- importing: `candles_import` - a candle file
- resampling: `candles_resample`
- archiving: `candles_archive`
- assets: `asset_create` - one asset
- asset_import: `assets_import` - a CoinGecko /coins/markets file; `assets_upsert` - its elements
- deletion: `asset_deletion_start`, `asset_deletion_run` - an asset and its candles, in batches
- results: `Progress`, `Rejection`, `UpsertResult`
"""
