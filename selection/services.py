"""Writes on watchlists and portfolios with their business rules."""

from decimal import Decimal

from django.db.models import Sum

from .models import Portfolio
from .selectors import holdings_valued

MONEY_STEP = Decimal("0.00000001")  # the 8 decimal places of the money columns


def portfolio_totals_refresh(*, portfolio: Portfolio) -> Portfolio:
    """Recompute and store the portfolio's cached total_value and total_cost_basis.

    total_value is the holdings at their latest close (at cost where no price exists); cash is
    not included (it is cash_balance).
    """
    totals = holdings_valued(portfolio.holdings.all()).aggregate(
        value=Sum("current_value"), cost=Sum("cost_basis")
    )
    portfolio.total_value = Decimal(totals["value"] or 0).quantize(MONEY_STEP)
    portfolio.total_cost_basis = Decimal(totals["cost"] or 0).quantize(MONEY_STEP)
    portfolio.save(update_fields=["total_value", "total_cost_basis", "updated_at"])
    return portfolio
