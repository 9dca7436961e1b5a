"""Signals the assets services send when candles change, for apps above this one (e.g. alerts).

They are sent by the writing services inside the transaction of the write, not by model saves:
a bulk COPY saves no model, and a receiver's rows must commit (or roll back) with the candles.
"""

from django.dispatch import Signal

# A batch of candles of one series was inserted or updated. kwargs: asset_id, timeframe,
# first and last (the batch's candle times).
candles_written = Signal()

# Technical indicators of one series were (re)computed. kwargs: asset_id, timeframe.
indicators_written = Signal()
