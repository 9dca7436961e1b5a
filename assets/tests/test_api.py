"""The assets API: CRUD and permissions (shared base), lookups by symbol, filters, candles."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import chain
from urllib.parse import urlencode

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assets.models import INDICATOR_FIELDS, Asset, PriceData, PriceDataArchive
from assets.tests.factories import AssetFactory, PriceDataArchiveFactory, PriceDataFactory
from cryptopredict.testing.api import APITestCase, APIViewTestCases
from users.models import UserActivity

DAY = timedelta(days=1)
T0 = datetime(2024, 1, 1, tzinfo=UTC)


class AssetAPITest(APIViewTestCases.APIViewTestCase):
    model = Asset
    basename = "asset"
    query_budget = {"list": 2, "retrieve": 1, "create": 12, "update": 9, "destroy": 18}
    factory = AssetFactory
    filter_exclusions = ("logo_url",)
    update_data = {"name": "Renamed coin", "current_price": "123.5"}
    bad_data = [
        ({"asset_type": "tulip"}, "asset_type"),
        ({"market_cap": "-1"}, "market_cap"),
        ({"current_price": "zero"}, "current_price"),
        ({"current_price": "0"}, "current_price"),
        ({"data_quality_score": 101}, "data_quality_score"),
        ({"market_cap_rank": 0}, "market_cap_rank"),
        ({"circulating_supply": "100", "max_supply": "10"}, "circulating_supply"),
        ({"symbol": ""}, "symbol"),
    ]

    @classmethod
    def get_create_data(cls):
        return [
            {"symbol": "AAA", "name": "Alpha", "asset_type": "crypto", "current_price": "1.5"},
            {"symbol": "BBB", "name": "Beta", "asset_type": "stablecoin", "market_cap": "1000.00"},
            {"symbol": "CCC", "name": "Gamma", "asset_type": "crypto", "max_supply": "21000000"},
        ]

    def test_retrieve_by_symbol_in_any_case(self):
        asset = AssetFactory(symbol="BTC")
        self.login("guest")
        for symbol in ("BTC", "btc"):
            response = self.client.get(reverse("api:asset-detail", kwargs={"symbol": symbol}))
            self.assert_status(response, 200, symbol)
            self.assertEqual(response.data["id"], asset.pk)
        self.assert_status(self.client.get("/api/v1/assets/NOPE/"), 404, "unknown symbol")

    def test_filters_and_search(self):
        AssetFactory(symbol="BTC", name="Bitcoin", market_cap_rank=1)
        AssetFactory(symbol="USDT", name="Tether", asset_type="stablecoin", market_cap_rank=3)
        self.login("guest")
        symbols = lambda **q: [row["symbol"] for row in self.client.get(self.list_url(**q)).data["results"]]  # noqa: E731
        self.assertEqual(symbols(asset_type="stablecoin"), ["USDT"])
        self.assertEqual(symbols(symbol__in="BTC,USDT"), ["BTC", "USDT"])
        self.assertEqual(symbols(market_cap_rank__gte=2), ["USDT"])
        self.assertEqual(symbols(search="bitco"), ["BTC"])
        self.assertEqual(symbols(ordering="-market_cap_rank"), ["USDT", "BTC"])
        response = self.client.get(self.list_url(asset_type="tulip"))
        self.assert_status(response, 400, "unknown choice in a filter")
        self.assertIn("asset_type", response.data)

    def test_anonymous_gets_401_with_challenge(self):
        response = self.client.get(self.list_url())
        self.assert_status(response, 401, "anonymous")
        self.assertIn("Bearer", response["WWW-Authenticate"])


class PriceDataAPITest(APIViewTestCases.APIViewTestCase):
    model = PriceData
    basename = "pricedata"
    query_budget = {"list": 1, "retrieve": 1, "create": 33, "update": 30, "destroy": 13}
    factory = PriceDataFactory
    # The indicator columns are answered as one object and filter nothing (no index serves them).
    filter_exclusions = INDICATOR_FIELDS
    update_data = {"close_price": "106.5", "volume": "99"}

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.asset = AssetFactory(symbol="ETH")

    @classmethod
    def get_create_data(cls):
        candle = {
            "open_price": "10",
            "high_price": "12",
            "low_price": "9",
            "close_price": "11",
            "volume": "5",
        }
        return [
            {"asset": cls.asset.pk, "timeframe": "1d", "candle_time": (T0 + n * DAY).isoformat(), **candle}
            for n in range(3)
        ]

    bad_data = [
        ({"high_price": "8"}, "high_price"),  # high below low
        ({"low_price": "10.5"}, "low_price"),  # low above open
        ({"open_price": "-1"}, "open_price"),
        ({"volume": "-5"}, "volume"),
        ({"timeframe": "2d"}, "timeframe"),
        ({"candle_time": "2024-01-01T03:00:00Z"}, "candle_time"),  # not aligned to 1d
        ({"candle_time": "yesterday"}, "candle_time"),
        ({"asset": 10**9}, "asset"),
    ]

    def test_filter_by_symbol_and_time(self):
        btc = AssetFactory(symbol="BTC")
        PriceDataFactory(asset=btc, candle_time=T0)
        PriceDataFactory(asset=btc, candle_time=T0 + DAY)
        PriceDataFactory(asset=self.asset, candle_time=T0)
        self.login("guest")
        for query in ({"asset": "btc"}, {"asset_symbol": "BTC"}, {"asset": btc.pk}):
            rows = self.client.get(self.list_url(**query)).data["results"]
            self.assertEqual([r["asset_symbol"] for r in rows], ["BTC", "BTC"], query)
        rows = self.client.get(self.list_url(asset="BTC", candle_time__gt=T0.isoformat().replace("+", "%2B")))
        self.assertEqual([r["candle_time"] for r in rows.data["results"]], ["2024-01-02T00:00:00Z"])

    def test_symbol_is_resolved_to_the_id_first(self):
        PriceDataFactory(asset=self.asset)
        self.login("guest")
        for query in ({"asset": "eth"}, {"asset_symbol": "ETH"}):
            with CaptureQueriesContext(connection) as queries:
                rows = self.client.get(self.list_url(**query)).data["results"]
            self.assertEqual(len(rows), 1)
            candle_queries = [q["sql"] for q in queries if 'FROM "price_data"' in q["sql"]]
            self.assertTrue(candle_queries)
            self.assertFalse([sql for sql in candle_queries if "UPPER" in sql], query)
        self.assertEqual(self.client.get(self.list_url(asset="NOPE")).data["results"], [])

    def test_orderings_are_those_an_index_serves_within_the_filters(self):
        PriceDataFactory(asset=self.asset)
        self.login("guest")
        for term in ("-volume", "volume", "-candle_time", "id"):
            self.assert_status(self.client.get(self.list_url(ordering=term)), 200, term)
        for term in ("-candle_time", "candle_time"):
            self.assert_status(self.client.get(self.list_url(asset="ETH", ordering=term)), 200, term)
        for query in ({"asset": "ETH", "ordering": "-volume"}, {"timeframe": "1d", "ordering": "id"}):
            response = self.client.get(self.list_url(**query))
            self.assert_status(response, 400, str(query))
            self.assertIn("choose from candle_time", response.data["ordering"][0])
        response = self.client.get(self.list_url(ordering="close_price"))
        self.assert_status(response, 400, "not indexed")

    def test_list_is_cursor_paginated_without_count(self):
        for n in range(3):
            PriceDataFactory(asset=self.asset, candle_time=T0 + n * DAY)
        self.login("guest")
        response = self.client.get(self.list_url(page_size=2))
        self.assertNotIn("count", response.data)
        self.assertEqual(
            [r["candle_time"][:10] for r in response.data["results"]], ["2024-01-03", "2024-01-02"]
        )
        rest = self.client.get(response.data["next"]).data["results"]
        self.assertEqual([r["candle_time"][:10] for r in rest], ["2024-01-01"])

    def test_duplicate_candle_is_refused(self):
        self.login("admin")
        data = self.get_create_data()[0]
        self.assert_status(self.client.post(self.list_url(), data, format="json"), 201, "first")
        response = self.client.post(self.list_url(), data, format="json")
        self.assert_status(response, 400, "duplicate")
        self.assertIn("unique_asset_timeframe_candle", str(response.data["candle_time"]))


class PriceDataArchiveAPITest(
    APIViewTestCases.GetObjectViewTestCase, APIViewTestCases.ListObjectsViewTestCase
):
    model = PriceDataArchive
    basename = "pricedataarchive"
    query_budget = {"list": 1, "retrieve": 1}
    factory = PriceDataArchiveFactory
    filter_exclusions = INDICATOR_FIELDS

    def test_archive_is_read_only(self):
        row = PriceDataArchiveFactory()
        self.login("admin")
        self.assert_status(self.client.post(self.list_url(), {}, format="json"), 405, "create")
        self.assert_status(self.client.patch(self.detail_url(row), {}, format="json"), 405, "update")
        self.assert_status(self.client.delete(self.detail_url(row)), 405, "delete")


class CandlesAPITest(APITestCase):
    model = PriceData

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.asset = AssetFactory(symbol="BTC")
        PriceData.objects.bulk_create(
            PriceData(
                asset=cls.asset,
                timeframe="1d",
                candle_time=T0 + n * DAY,
                open_price=100 + n,
                high_price=110 + n,
                low_price=90 + n,
                close_price=Decimal("105.5") + n,
                volume=1000,
            )
            for n in range(510)
        )
        cls.url = reverse("api:asset-candles", kwargs={"symbol": "BTC"})

    def get(self, **query):
        self.login("guest")
        return self.client.get(self.url, query)

    def rows(self, **query) -> list:
        response = self.get(**query)
        self.assert_status(response, 200, str(query))
        return json.loads(response.content)

    def test_default_is_latest_500_oldest_first(self):
        rows = self.rows(timeframe="1d")
        self.assertEqual(len(rows), 500)
        self.assertEqual(rows[0]["candle_time"], (T0 + 10 * DAY).strftime("%Y-%m-%dT%H:%M:%SZ"))
        self.assertEqual(rows[-1]["candle_time"], (T0 + 509 * DAY).strftime("%Y-%m-%dT%H:%M:%SZ"))
        self.assertEqual(
            rows[-1],
            {
                "candle_time": "2025-05-24T00:00:00Z",
                "open": 609,
                "high": 619,
                "low": 599,
                "close": 614.5,
                "volume": 1000,
                "trade_count": None,
                "vwap": None,
                "market_cap": None,
            },
        )

    def test_numbers_are_exact_and_unpadded_in_both_formats(self):
        # SQLite keeps a decimal as a double: 15 significant digits are what it can give back.
        close = "105.123456789012345678" if connection.vendor == "postgresql" else "105.123456789"
        PriceData.objects.filter(candle_time=T0).update(
            close_price=Decimal(close), vwap=Decimal("0.000000000000000001"), trade_count=7
        )
        response = self.get(timeframe="1d", end="2024-01-01")
        self.assertIn(f'"close":{close},'.encode(), response.content)
        self.assertIn(b'"vwap":0.000000000000000001,"market_cap":null', response.content)
        self.assertIn(b'"trade_count":7', response.content)
        response = self.get(timeframe="1d", end="2024-01-01", format="compact")
        self.assertEqual(
            response.content,
            f"[[{int(T0.timestamp() * 1000)},100,110,90,{close},1000]]".encode(),
        )

    def test_range_in_iso_and_epoch_ms(self):
        start_ms = int((T0 + 2 * DAY).timestamp() * 1000)
        for start in (start_ms, "2024-01-03T00:00:00Z", "2024-01-03"):
            rows = self.rows(timeframe="1d", start=start, end="2024-01-05T00:00:00Z")
            self.assertEqual(
                [r["candle_time"][:10] for r in rows], ["2024-01-03", "2024-01-04", "2024-01-05"]
            )
        rows = self.rows(timeframe="1d", start="2024-01-03", limit=2)
        self.assertEqual([r["candle_time"][:10] for r in rows], ["2024-01-03", "2024-01-04"])

    def test_compact_format(self):
        rows = self.rows(timeframe="1d", end="2024-01-02", limit=2, format="compact")
        self.assertEqual(
            rows,
            [
                [int(T0.timestamp() * 1000), 100, 110, 90, 105.5, 1000],
                [int((T0 + DAY).timestamp() * 1000), 101, 111, 91, 106.5, 1000],
            ],
        )

    def follow(self, **query) -> list:
        """Return every page's candle dates, following the `Link: rel="next"` headers."""
        self.login("guest")
        pages, url = [], f"{self.url}?{urlencode(query)}"
        while url:
            response = self.client.get(url)
            self.assert_status(response, 200, url)
            pages.append([row[0] for row in json.loads(response.content)])
            link = response.headers.get("Link")
            url = link[1 : link.index(">")] if link else None
        return pages

    def test_pages_beyond_the_limit_follow_the_link_forward_and_back(self):
        ms = [int((T0 + n * DAY).timestamp() * 1000) for n in range(510)]
        forward = self.follow(timeframe="1d", start="2024-01-01", limit=200, format="compact")
        self.assertEqual([len(page) for page in forward], [200, 200, 110])
        self.assertEqual(list(chain.from_iterable(forward)), ms)
        back = self.follow(timeframe="1d", limit=200, format="compact")
        self.assertEqual([len(page) for page in back], [200, 200, 110])
        self.assertEqual(list(chain.from_iterable(reversed(back))), ms)
        bounded = self.follow(timeframe="1d", start="2024-01-01", end="2024-01-05", limit=2, format="compact")
        self.assertEqual(bounded, [ms[0:2], ms[2:4], ms[4:5]])

    def test_one_request_answers_up_to_100000_candles(self):
        response = self.get(timeframe="1d", limit=100_000)
        self.assert_status(response, 200, "limit 100,000")
        self.assertEqual(len(json.loads(response.content)), 510)
        self.assertNotIn("Link", response.headers)
        self.assert_status(self.get(timeframe="1d", limit=100_001), 400, "limit 100,001")

    def test_hot_ranges_are_cached_until_the_candles_change(self):
        self.rows(timeframe="1d", limit=3)
        with CaptureQueriesContext(connection) as queries:
            cached = self.rows(timeframe="1d", limit=3)
        self.assertFalse([q for q in queries if "price_data" in q["sql"]], "served from the cache")

        self.login("admin")
        row = {"candle_time": "2025-05-24T00:00:00Z", "open": "1", "high": "2", "low": "1", "close": "2"}
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(f"{self.url}?timeframe=1d", [row], format="json")
        self.assert_status(response, 200, "upsert")
        fresh = self.rows(timeframe="1d", limit=3)
        self.assertEqual(cached[-1]["close"], 614.5)
        self.assertEqual(fresh[-1]["close"], 2)

    def test_a_candle_changed_through_the_list_api_drops_the_cached_ranges(self):
        self.assertEqual(self.rows(timeframe="1d", limit=1)[-1]["close"], 614.5)
        latest = PriceData.objects.get(asset=self.asset, candle_time=T0 + 509 * DAY)
        self.login("admin")
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.patch(
                reverse("api:pricedata-detail", kwargs={"pk": latest.pk}),
                {"close_price": "610"},
                format="json",
            )
        self.assert_status(response, 200, "patch")
        self.assertEqual(self.rows(timeframe="1d", limit=1)[-1]["close"], 610)

    def test_archived_candles_are_included(self):
        PriceDataArchiveFactory(asset=self.asset, timeframe="1d", candle_time=T0 - DAY)
        rows = self.rows(timeframe="1d", start="2023-12-31", limit=2)
        self.assertEqual([r["candle_time"][:10] for r in rows], ["2023-12-31", "2024-01-01"])

    def test_bad_queries_name_the_field(self):
        for query, field in (
            ({"start": "2024-02-01", "end": "2024-01-01"}, "end"),
            ({"start": "soon"}, "start"),
            ({"timeframe": "2d"}, "timeframe"),
            ({"limit": 0}, "limit"),
            ({"limit": 100_001}, "limit"),
            ({"format": "xml"}, "format"),
        ):
            with self.subTest(query=query):
                response = self.get(**query)
                self.assert_status(response, 400, str(query))
                self.assertIn(field, response.data)

    def test_unknown_asset_is_404(self):
        self.login("guest")
        self.assert_status(self.client.get("/api/v1/assets/NOPE/candles/"), 404, "unknown asset")

    def test_upsert_stores_good_rows_and_reports_bad_ones(self):
        self.login("admin")
        rows = [
            {"candle_time": "2025-06-01T00:00:00Z", "open": "1", "high": "2", "low": "0.5", "close": "1.5"},
            {"candle_time": "2025-06-02T00:00:00Z", "open": "1", "high": "0.9", "low": "0.5", "close": "1.5"},
            "not a candle",
            # an existing candle, changed
            {"candle_time": int(T0.timestamp() * 1000), "open": "1", "high": "2", "low": "1", "close": "2"},
        ]
        response = self.client.post(f"{self.url}?timeframe=1d", rows, format="json")
        self.assert_status(response, 200, "upsert")
        self.assertEqual((response.data["inserted"], response.data["updated"]), (1, 1))
        self.assertEqual([r["index"] for r in response.data["rejected"]], [1, 2])
        self.assertIn("high", response.data["rejected"][0]["errors"])
        stored = PriceData.objects.get(
            asset=self.asset, timeframe="1d", candle_time=datetime(2025, 6, 1, tzinfo=UTC)
        )
        self.assertEqual(stored.close_price, Decimal("1.5"))
        self.assertEqual(PriceData.objects.get(asset=self.asset, candle_time=T0).close_price, Decimal(2))
        activity = UserActivity.objects.get(activity_type="api", entity_id=self.asset.pk)
        self.assertEqual(activity.details["inserted"], 1)

    def test_upsert_refuses_readers_and_bad_requests(self):
        row = {"candle_time": "2025-06-01T00:00:00Z", "open": "1", "high": "2", "low": "0.5", "close": "1.5"}
        self.login("owner")
        self.assert_status(self.client.post(f"{self.url}?timeframe=1d", [row], format="json"), 403, "public")
        self.login("staff_with_permission")
        self.assert_status(self.client.post(f"{self.url}?timeframe=1d", [row], format="json"), 200, "staff")
        response = self.client.post(self.url, [row], format="json")
        self.assert_status(response, 400, "no timeframe")
        self.assertIn("timeframe", response.data)
        response = self.client.post(f"{self.url}?timeframe=1d", {"candle_time": 1}, format="json")
        self.assert_status(response, 400, "not a list")
        bad = {**row, "close": "9"}
        response = self.client.post(f"{self.url}?timeframe=1d", [bad], format="json")
        self.assert_status(response, 400, "every row rejected")
        self.assertEqual(response.data["rejected"][0]["index"], 0)
