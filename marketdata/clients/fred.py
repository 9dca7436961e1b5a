"""FRED (St. Louis Fed) series observations: GET series/observations?series_id=...&file_type=json."""

from datetime import date

from django.conf import settings

from .http import HttpClient, SourceError


class Fred(HttpClient):
    source = "fred"

    def __init__(self):
        super().__init__(settings.FRED_API_URL)

    def observations(self, series_id: str, start: date | None = None) -> list[dict]:
        """Return a series' observations: [{"date": "2024-01-02", "value": "4742.83"}, ...] ("." = none)."""
        params = {"series_id": series_id, "api_key": settings.FRED_API_KEY, "file_type": "json"}
        if start is not None:
            params["observation_start"] = start.isoformat()
        document = self.get_json("series/observations", params)
        if not isinstance(document, dict) or not isinstance(document.get("observations"), list):
            raise SourceError(self.source, f"{series_id}: the answer has no observations list")
        return document["observations"]
