"""`GET /api/health/`: 200 with database, broker and data freshness; 503 when the database is unreachable.

"degraded" (still 200: the process serves) when a synced series lags more than
HEALTH_STALE_PERIODS of its periods; the stale series are listed.
"""

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection
from drf_spectacular.utils import extend_schema, inline_serializer
from kombu import Connection
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

BROKER_TIMEOUT_SECONDS = 2


def database_status() -> str:
    """Return "ok" when the default database answers a query, else the error in one line."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return f"unavailable: {type(exc).__name__}"
    return "ok"


def broker_status() -> str:
    """Return "ok", "not configured" (tasks run eagerly) or why the broker cannot be reached."""
    if settings.CELERY_BROKER_URL.startswith("memory://"):  # no broker: tasks run in-process
        return "not configured"
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as exc:
        return f"unavailable: {type(exc).__name__}"
    return "ok"


def stale_series() -> list[dict]:
    """Return the synced series that lag behind (see marketdata.selectors.stale_series)."""
    if not apps.is_installed("marketdata"):
        return []
    from marketdata.selectors import stale_series as stale

    return [
        {
            "series": item.series,
            "last_candle": item.last_candle.isoformat() if item.last_candle else None,
            "periods_behind": item.periods_behind,
        }
        for item in stale()
    ]


HealthSerializer = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(choices=["ok", "degraded", "unavailable"]),
        "database": serializers.CharField(),
        "broker": serializers.CharField(),
        "stale_series": inline_serializer(
            "StaleSeries",
            {
                "series": serializers.CharField(),
                "last_candle": serializers.DateTimeField(allow_null=True),
                "periods_behind": serializers.IntegerField(allow_null=True),
            },
            many=True,
        ),
    },
)


class HealthView(APIView):
    """Tell a load balancer whether this process can serve: no authentication, no throttling."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(responses={200: HealthSerializer, 503: HealthSerializer})
    def get(self, request):
        database = database_status()
        healthy = database == "ok"
        stale = stale_series() if healthy else []
        body = {
            "status": ("degraded" if stale else "ok") if healthy else "unavailable",
            "database": database,
            "broker": broker_status(),
            "stale_series": stale,
        }
        return Response(body, status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE)
