"""alternative.me's Fear & Greed index: GET fng/?limit=0&format=json, one value per UTC day."""

from django.conf import settings

from .http import HttpClient, SourceError


class FearGreed(HttpClient):
    source = "fear & greed"

    def __init__(self):
        super().__init__(settings.FEAR_GREED_URL)

    def history(self) -> list[dict]:
        """Return every daily value: [{"value": "40", "timestamp": "1551157200", ...}, ...]."""
        document = self.get_json("", {"limit": 0, "format": "json"})
        error = (document.get("metadata") or {}).get("error") if isinstance(document, dict) else None
        if error:
            raise SourceError(self.source, f"the API answered an error: {error}")
        if not isinstance(document, dict) or not isinstance(document.get("data"), list):
            raise SourceError(self.source, "the answer has no data list")
        return document["data"]
