"""Signals the selection services send when watchlists change, for apps above this one (alerts).

Sent by the writing services inside the transaction of the write, not by model saves, so a
receiver's rows commit (or roll back) with the change.
"""

from django.dispatch import Signal

# A watchlist item was added or changed (its alert_price_above / below maybe with it). kwargs: item.
watchlist_item_saved = Signal()
