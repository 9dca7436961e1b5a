"""Signals the trading layer sends when it writes trading signals, for apps above it (e.g. alerts)."""

from django.dispatch import Signal

# Trading signals were created, inside the transaction that wrote them. kwargs: signals (a list).
signals_created = Signal()
