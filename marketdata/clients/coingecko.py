"""CoinGecko's public API: /coins/markets pages and /coins/{id}/market_chart.

COINGECKO_API_KEY, when set, goes in the demo key header, or the pro one when COINGECKO_API_URL
is the pro host (pro-api.coingecko.com).
"""

from django.conf import settings

from .http import HttpClient, SourceError

PAGE_SIZE = 250  # the most /coins/markets gives per page


class CoinGecko(HttpClient):
    source = "coingecko"

    def __init__(self):
        headers = {}
        if settings.COINGECKO_API_KEY:
            pro = "pro-api." in settings.COINGECKO_API_URL
            headers["x-cg-pro-api-key" if pro else "x-cg-demo-api-key"] = settings.COINGECKO_API_KEY
        super().__init__(settings.COINGECKO_API_URL, headers=headers)

    def markets(self, page: int, per_page: int = PAGE_SIZE) -> list[dict]:
        """Return one page of coins by market cap, in USD, with the 24h, 7d and 30d changes."""
        document = self.get_json(
            "coins/markets",
            {
                "vs_currency": "usd",
                "order": "market_cap_desc",
                "per_page": per_page,
                "page": page,
                "price_change_percentage": "24h,7d,30d",
            },
        )
        if not isinstance(document, list) or not all(isinstance(item, dict) for item in document):
            raise SourceError(self.source, f"GET coins/markets page {page} is not a list of coins")
        return document

    def market_chart(self, coin_id: str, days: int) -> dict:
        """Return the daily prices, market caps and volumes of a coin over the last `days` days."""
        document = self.get_json(
            f"coins/{coin_id}/market_chart", {"vs_currency": "usd", "days": days, "interval": "daily"}
        )
        if not isinstance(document, dict) or not isinstance(document.get("market_caps"), list):
            raise SourceError(self.source, f"GET coins/{coin_id}/market_chart has no market_caps")
        return document
