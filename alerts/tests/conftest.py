"""Local stand-ins for the services alerts talk to, started by the tests on 127.0.0.1.

- `webhook_receiver`: a webhook endpoint that checks the X-CryptoPredict-Signature HMAC with the
  channel's secret, acts once per Idempotency-Key (a repeat answers 200 and does nothing), and
  can be told to answer 503 to its first N requests or to hold a request open.
- `telegram_api`: the Bot API's sendMessage in its wire format ({"ok": true, "result": {...}}, or
  {"ok": false, "error_code": ..., "description": ...}), reached through TELEGRAM_API_URL.
"""

import contextlib
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

SECRET = "receiver-secret-0123456789"


@dataclass
class Receiver:
    url: str = ""
    secret: str = SECRET
    fail_first: int = 0  # answer 503 to this many requests before the first success
    hold: threading.Event = field(
        default_factory=threading.Event
    )  # set: hold the next answer until `release`
    release: threading.Event = field(default_factory=threading.Event)
    requests: list = field(default_factory=list)  # every request: (headers, body)
    processed: dict = field(default_factory=dict)  # idempotency key -> the JSON body acted upon
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self, event: str = "alert.fired") -> list[dict]:
        return [body for body in self.processed.values() if body.get("event") == event]


class _ReceiverHandler(BaseHTTPRequestHandler):
    receiver: Receiver

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_POST(self):
        receiver = self.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with receiver.lock:
            receiver.requests.append((dict(self.headers), body))
            failing = len(receiver.requests) <= receiver.fail_first
        held = receiver.hold.is_set()
        if held:
            receiver.hold.clear()
        if failing:
            return self._answer(503, {"error": "down for maintenance"})
        # What a receiver must do: compare the HMAC of the raw body in constant time.
        expected = "sha256=" + hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, self.headers.get("X-CryptoPredict-Signature", "")):
            with receiver.lock:
                receiver.bad_signatures += 1
            return self._answer(401, {"error": "bad signature"})
        key = self.headers.get("Idempotency-Key", "")
        with receiver.lock:
            if key not in receiver.processed:
                receiver.processed[key] = json.loads(body)
        if held:
            # Acted upon, but the answer waits: the sender may die before it reads one.
            receiver.release.wait(30)
        with contextlib.suppress(OSError):  # the sender may be gone
            self._answer(200, {"ok": True})

    def _answer(self, status: int, payload: dict):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _serve(handler_class):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def webhook_receiver():
    receiver = Receiver()
    handler = type("Handler", (_ReceiverHandler,), {"receiver": receiver})
    server, thread = _serve(handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/cryptopredict"
    yield receiver
    receiver.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


BOT_TOKEN = "123456:TEST-token"


@dataclass
class TelegramAPI:
    url: str = ""
    chats: set = field(default_factory=lambda: {"42"})  # chats that started the bot
    messages: list = field(default_factory=list)


class _TelegramHandler(BaseHTTPRequestHandler):
    api: TelegramAPI

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if self.path != f"/bot{BOT_TOKEN}/sendMessage":
            return self._answer(
                401 if "/sendMessage" in self.path else 404,
                {"ok": False, "error_code": 401, "description": "Unauthorized"},
            )
        chat_id = str(body.get("chat_id", ""))
        if chat_id not in self.api.chats:
            return self._answer(
                400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
            )
        self.api.messages.append(body)
        message = {
            "message_id": len(self.api.messages),
            "from": {"id": 123456, "is_bot": True, "first_name": "CryptoPredict", "username": "cp_bot"},
            "chat": {"id": int(chat_id), "type": "private"},
            "date": 1767225600,
            "text": body.get("text", ""),
        }
        self._answer(200, {"ok": True, "result": message})

    def _answer(self, status: int, payload: dict):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def telegram_api(settings):
    api = TelegramAPI()
    handler = type("Handler", (_TelegramHandler,), {"api": api})
    server, thread = _serve(handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.TELEGRAM_API_URL = api.url
    settings.TELEGRAM_BOT_TOKEN = BOT_TOKEN
    yield api
    server.shutdown()
    server.server_close()
    thread.join(5)
