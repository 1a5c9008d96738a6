"""The publisher on a broker behind Redis Sentinel (kombu's `sentinel://` transport): the fast
Redis path, and the atomic fenced push when the lock's client asks the same Sentinels."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis
from celery import Celery

from devices.dispatch.publisher import CollectPublisher, Fence, FenceLost
from devices.dispatch.queues import DEFAULT_QUEUE
from project.broker import celery_broker_settings
from project.config import SentinelConfig
from project.redis_client import new_redis_client
from tests.support.broker import queue_length
from tests.support.private_services import PrivateSentinels

pytestmark = [pytest.mark.processes, pytest.mark.timeout(60)]

DB = 2
KEY = "devicevault:scheduler:lock"


def _payload(n: int) -> str:
    return json.dumps({"result_id": n, "device_id": n, "device_name": f"d{n}",
                       "ip_address": "127.0.0.1", "schedule_id": 1,
                       "scheduled_for": "2027-01-01T00:00:00Z", "is_catchup": False,
                       "manual": False, "collection_group": None})


@pytest.fixture
def sentinel_app(sentinels: PrivateSentinels) -> Iterator[tuple[Celery, SentinelConfig]]:
    config = SentinelConfig(
        sentinels=tuple(("127.0.0.1", p) for p in sentinels.sentinel_ports),
        master_name=sentinels.name, db=DB,
    )
    app = Celery("sentinel-publisher", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.broker_url = config.broker_url(f"redis://127.0.0.1:1/{DB}")
    app.conf.broker_transport_options = {
        **celery_broker_settings(app.conf.broker_url)["broker_transport_options"],
        "master_name": sentinels.name}
    yield app, config
    app.close()


def test_a_sentinel_broker_takes_the_fenced_lua_path_of_the_lock_server(
    sentinels: PrivateSentinels, sentinel_app: tuple[Celery, SentinelConfig]
) -> None:
    app, config = sentinel_app
    lock_client = new_redis_client(f"redis://127.0.0.1:1/{DB}", sentinel=config)
    lock_client.set(KEY, "ours")
    lost: list[bool] = []
    # extend() always says yes: only the atomic compare in the Lua push can see the value go.
    fence = Fence(client=lock_client, key=KEY, value="ours", extend=lambda: True,
                  lost=lambda: lost.append(True))
    master = redis.Redis(port=sentinels.master_port, db=DB)

    with CollectPublisher(app) as publisher:
        assert publisher._redis, "kombu's sentinel transport is a Redis transport"
        broker = publisher.producer.channel.client
        assert fence.same_server(broker)
        # The same master by its address is not provably the same server: compare-and-extend.
        assert not fence.same_server(master)
        other_db = new_redis_client("redis://127.0.0.1:1/3", sentinel=SentinelConfig(
            sentinels=config.sentinels, master_name=config.master_name, db=3))
        assert not fence.same_server(other_db)
        other_master = new_redis_client(f"redis://127.0.0.1:1/{DB}", sentinel=SentinelConfig(
            sentinels=config.sentinels, master_name="elsewhere", db=DB))
        assert not fence.same_server(other_master)

        assert publisher.publish([(_payload(n), None, 5) for n in range(5)], fence=fence) == 5
        assert queue_length(master, DEFAULT_QUEUE) == 5

        master.set(KEY, "a rival")
        with pytest.raises(FenceLost):
            publisher.publish([(_payload(n), None, 5) for n in range(5, 9)], fence=fence)
    assert queue_length(master, DEFAULT_QUEUE) == 5, "a batch went out without the lock"
    assert lost == [True]
