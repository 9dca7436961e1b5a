from django.http import HttpResponse
from django.test import RequestFactory

from assets.models import PriceData
from cryptopredict.db_router import (
    PRIMARY,
    ReplicaRequestMiddleware,
    ReplicaRouter,
    replica_databases,
    replica_reads,
)
from users.models import User

router = ReplicaRouter(replicas=["replica_1", "replica_2"])


def test_replicas_are_read_only_inside_a_read_only_request():
    assert router.db_for_read(PriceData) == PRIMARY  # a command, a task: the primary
    with replica_reads():
        assert router.db_for_read(PriceData) in {"replica_1", "replica_2"}
        assert router.db_for_write(PriceData) == PRIMARY
    assert router.db_for_read(PriceData) == PRIMARY


def test_a_read_after_a_write_stays_on_the_primary():
    with replica_reads():
        assert router.db_for_read(PriceData) != PRIMARY
        router.db_for_write(User)
        assert router.db_for_read(PriceData) == PRIMARY
    with replica_reads():
        assert router.db_for_read(PriceData) != PRIMARY  # the next request starts afresh


def test_login_tables_are_always_read_from_the_primary():
    with replica_reads():
        assert router.db_for_read(User) == PRIMARY


def test_no_replicas_means_the_primary():
    with replica_reads():
        assert ReplicaRouter(replicas=[]).db_for_read(PriceData) == PRIMARY


def test_only_safe_methods_may_read_from_replicas():
    seen = {}

    def view(request):
        seen[request.method] = router.db_for_read(PriceData)
        return HttpResponse()

    middleware = ReplicaRequestMiddleware(view)
    middleware(RequestFactory().get("/"))
    middleware(RequestFactory().post("/"))
    assert seen["GET"] != PRIMARY
    assert seen["POST"] == PRIMARY


def test_replica_urls_become_mirrored_aliases():
    replicas = replica_databases("postgres://u@r1:5432/cp, postgres://u@r2:5432/cp,", {"CONN_MAX_AGE": 60})
    assert list(replicas) == ["replica_1", "replica_2"]
    assert replicas["replica_2"]["HOST"] == "r2"
    assert replicas["replica_1"]["TEST"] == {"MIRROR": PRIMARY}
    assert replicas["replica_1"]["CONN_MAX_AGE"] == 60
    assert replica_databases("", {}) == {}
