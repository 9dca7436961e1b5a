"""Writes of the market data sync: one module per source, the sync states beside them."""
