"""Signals the macro layer sends when it writes regime analyses, for apps above it (e.g. alerts)."""

from django.dispatch import Signal

# Regime analyses were created, inside the transaction that wrote them. kwargs: analyses (a list).
regimes_created = Signal()
