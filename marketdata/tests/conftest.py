import pytest

from marketdata.clients import http

from .servers import FakeBinance, LocalServer


@pytest.fixture
def waits(monkeypatch):
    """Record the clients' waits between attempts instead of sleeping."""
    recorded: list[float] = []
    monkeypatch.setattr(http, "sleep", recorded.append)
    monkeypatch.setattr("marketdata.clients.exchange.sleep", recorded.append)
    return recorded


@pytest.fixture
def binance(settings, waits):
    """A local api.binance.com that the real ccxt client is pointed at."""
    server = FakeBinance().start()
    settings.BINANCE_API_URL = server.url
    settings.EXCHANGE_API_URLS = {"binance": server.url}
    settings.SOURCE_RETRIES = 2
    yield server
    server.stop()


@pytest.fixture
def local_server(waits):
    server = LocalServer().start()
    yield server
    server.stop()
