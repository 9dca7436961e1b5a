"""Local HTTP servers answering in each source's real wire format, for the clients under test.

`LocalServer` runs a threaded http.server on 127.0.0.1 with a route table (path -> handler); each
handler returns (status, headers, body). Faults queued for a path are used by its next requests, in order:
None (answer normally), an HTTP status or (status, headers) (429 with Retry-After, 500, ...), or
DROP (the connection closes mid-body).
`FakeBinance` serves exchangeInfo and klines from a candle table like api.binance.com.
"""

import json
import threading
from collections import defaultdict, deque
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptopredict.timeframes import EPOCH, floor_time, next_time

FIXTURES = Path(__file__).parent / "fixtures"
DROP = "drop"
FAULT_BODIES = {  # what api.binance.com answers with these statuses
    429: b'{"code":-1003,"msg":"Too much request weight used; current limit is 6000 request weight '
    b'per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."}',
    500: b"<html><body><h1>500 Internal Server Error</h1></body></html>",
    502: b"<html><body><h1>502 Bad Gateway</h1></body></html>",
}


class LocalServer:
    def __init__(self):
        self.routes: dict[str, callable] = {}
        self.faults: dict[str, deque] = defaultdict(deque)
        self.requests: list[tuple[str, dict]] = []  # (path, query) of every request, in order
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                with server.lock:
                    server.requests.append((parts.path, query))
                    fault = server.faults[parts.path].popleft() if server.faults[parts.path] else None
                if fault == DROP:
                    body = b'[[1700000000000, "1.0"'
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "5000")
                    self.end_headers()
                    self.wfile.write(body)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if fault is not None and fault != DROP:
                    status, headers = fault if isinstance(fault, tuple) else (fault, {})
                    answer = (status, headers, FAULT_BODIES.get(status, b""))
                else:
                    handler = server.routes.get(parts.path)
                    answer = handler(query) if handler else (404, {}, b'{"code": -1, "msg": "not found"}')
                status, headers, body = answer
                if isinstance(body, dict | list):
                    body = json.dumps(body).encode()
                self.send_response(status)
                headers = {"Content-Type": "application/json", **headers}
                for key, value in headers.items():
                    self.send_header(key, str(value))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def start(self) -> "LocalServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def hits(self, path: str) -> list[dict]:
        """Return the queries of the requests made to `path`."""
        return [query for requested, query in self.requests if requested == path]


def ms(moment: datetime) -> int:
    return int((moment - EPOCH).total_seconds() * 1000)


def kline(moment: datetime, timeframe: str, price: Decimal, *, volume: str = "12.34567000") -> list:
    """Return one Binance kline: 12 values, numbers as strings, as GET /api/v3/klines sends them."""
    close_time = ms(next_time(moment, timeframe)) - 1
    high, low = price * Decimal("1.002"), price * Decimal("0.997")
    quote = (Decimal(volume) * price).quantize(Decimal("1e-8"))
    return [
        ms(moment),
        f"{price:.8f}",
        f"{high:.8f}",
        f"{low:.8f}",
        f"{price * Decimal('1.001'):.8f}",
        volume,
        close_time,
        f"{quote:.8f}",
        617,
        "6.17283500",
        f"{quote / 2:.8f}",
        "0",
    ]


class FakeBinance(LocalServer):
    """api.binance.com's exchangeInfo and klines over a candle table per (symbol, interval).

    `lacks` are candle times never served (the exchange has no such candle); `late` are served
    only from the second request that covers them (a candle the exchange filled in late).
    """

    def __init__(self):
        super().__init__()
        self.candles: dict[tuple[str, str], dict[datetime, list]] = defaultdict(dict)
        self.lacks: set[datetime] = set()
        self.late: set[datetime] = set()
        self.asked: set[datetime] = set()
        self.weight = 0
        self.block = threading.Event()  # set: answer klines; cleared: hold them (see overlapping runs)
        self.block.set()
        self.entered = threading.Event()  # a klines request is being held
        self.hold_after: int | None = None  # answer this many klines requests, then hold the rest
        self.klines_served = 0
        self.routes["/api/v3/exchangeInfo"] = self.exchange_info
        self.routes["/api/v3/klines"] = self.klines

    def fill(
        self, symbol: str, timeframe: str, start: datetime, end: datetime, price=Decimal("42000")
    ) -> None:
        """Serve candles of `symbol` from `start` to `end` (open times, inclusive); the one that
        contains now (still open) too when `end` reaches it."""
        moment = start
        while moment <= end:
            self.candles[(symbol, timeframe)][moment] = kline(moment, timeframe, price)
            price += Decimal("1.25")
            moment = next_time(moment, timeframe)

    def fill_until_now(self, symbol: str, timeframe: str, periods: int) -> datetime:
        """Serve the last `periods` closed candles and the open one; return the first's open time."""
        current = floor_time(datetime.now(UTC), timeframe)
        start = current
        for _ in range(periods):
            start = floor_time(start - timedelta(seconds=1), timeframe)
        self.fill(symbol, timeframe, start, current)
        return start

    def exchange_info(self, query):
        self.weight += 20
        return (
            200,
            {"X-MBX-USED-WEIGHT-1M": self.weight},
            (FIXTURES / "binance_exchange_info.json").read_bytes(),
        )

    def klines(self, query):
        with self.lock:
            self.klines_served += 1
            hold = self.hold_after is not None and self.klines_served > self.hold_after
        if hold or not self.block.is_set():
            self.entered.set()
            self.block.wait(30)
        self.weight += 2
        table = self.candles.get((query["symbol"], query["interval"]), {})
        start = int(query.get("startTime", 0))
        end = int(query.get("endTime", 2**62))
        limit = int(query.get("limit", 500))
        rows = []
        for moment in sorted(table):
            if not start <= ms(moment) <= end or moment in self.lacks:
                continue
            if moment in self.late and moment not in self.asked:
                self.asked.add(moment)
                continue
            rows.append(table[moment])
            if len(rows) == limit:
                break
        return 200, {"X-MBX-USED-WEIGHT-1M": self.weight}, rows
