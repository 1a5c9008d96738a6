"""The fan-out on a RabbitMQ broker: durable (quorum) collection queues declared alike
everywhere, batches published under publisher confirms, and the fence checked before each
batch (skipped only when RabbitMQ does not answer)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.conf import settings

from devices.dispatch.fanout import Occurrence, enqueue_occurrence
from devices.dispatch.publisher import CollectPublisher, FenceLost, PublishNotConfirmed
from devices.dispatch.queues import collection_queue, registered_collection_queue
from devices.models import CollectionGroup, DeviceBackupResult
from tests.support.fleet import make_devices

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_fanout_to_two_groups_puts_each_device_once_in_its_groups_durable_queue(
    rabbit: Any, redis_db: Any, make_schedule: Any, collection_config: Any
) -> None:
    collection_config(publish_batch=40)  # several confirmed batches
    schedule = make_schedule()
    east = CollectionGroup.objects.create(name="Rabbit East")
    ids_east = make_devices(70, schedule=schedule, group=east, prefix="east")
    ids_default = make_devices(30, schedule=schedule, prefix="plain")
    west = CollectionGroup.objects.create(name="Rabbit West")
    ids_west = make_devices(50, schedule=schedule, group=west, prefix="west")

    created, published = enqueue_occurrence(
        Occurrence(schedule_id=schedule.pk, scheduled_for=datetime.now(UTC)))

    assert (created, published) == (150, 150)
    expected = {"collect.rabbit-east": ids_east, "collect.rabbit-west": ids_west,
                "collect.default": ids_default}
    for queue, ids in expected.items():
        assert rabbit.declared_alike(queue, queue_type=settings.AMQP_QUEUE_TYPE), queue
        assert rabbit.depth(queue) == len(ids)
        payloads = rabbit.payloads(queue)
        assert sorted(p["device_id"] for p in payloads) == sorted(ids)
        assert {p["attempt"] for p in payloads} == {1}
    rows = DeviceBackupResult.objects.all()
    assert rows.filter(published_at__isnull=False).count() == 150
    assert set(rows.values_list("attempts", flat=True)) == {1}


@pytest.mark.skipif(settings.AMQP_QUEUE_TYPE != "quorum", reason="classic queues configured")
def test_collection_queues_are_quorum_queues_and_a_classic_declaration_is_refused(
    rabbit: Any, redis_db: Any, make_schedule: Any
) -> None:
    schedule = make_schedule()
    make_devices(3, schedule=schedule)
    enqueue_occurrence(Occurrence(schedule_id=schedule.pk, scheduled_for=datetime.now(UTC)))
    assert rabbit.declared_alike("collect.default", queue_type="quorum")
    assert not rabbit.declared_alike("collect.default", queue_type="classic")


def test_every_declarer_gets_the_same_collection_queue(rabbit: Any) -> None:
    """Route, `-Q` selection and the bootstep's registry all give one declaration."""
    app = rabbit.app
    routed = app.amqp.router.route({}, "device.collect",
                                   (json.dumps({"collection_group": "same-args"}),), {})["queue"]
    selected = app.amqp.queues["collect.same-args"]  # how `-Q` finds a queue
    registered = registered_collection_queue(app, "collect.same-args")
    built = collection_queue(app, "collect.same-args")
    for queue in (routed, selected, registered):
        assert queue.name == built.name == "collect.same-args"
        assert queue.queue_arguments == built.queue_arguments
        assert (queue.durable, queue.auto_delete, queue.exclusive) == (True, False, False)
        assert queue.exchange.type == built.exchange.type == "topic"
    if settings.AMQP_QUEUE_TYPE == "quorum":
        assert built.queue_arguments == {"x-queue-type": "quorum"}
    # Celery's own builder, for a queue name that is not ours, agrees (the `celery` queue).
    celery_default = app.amqp.queues[app.conf.task_default_queue]
    assert celery_default.queue_arguments == built.queue_arguments


def test_a_batch_is_published_only_while_the_lock_is_ours(
    rabbit: Any, redis_db: Any, make_schedule: Any, collection_config: Any
) -> None:
    from beat.lock import LOCK_KEY, LeaderLock

    collection_config(publish_batch=10)
    schedule = make_schedule()
    make_devices(25, schedule=schedule)
    lock = LeaderLock(redis_db, 60, renew_in_background=False)
    assert lock.try_acquire()
    redis_db.set(LOCK_KEY, json.dumps({"host": "rival", "pid": 1, "token": "x",
                                       "acquired_at": "2026-12-03T00:00:00Z"}))

    with CollectPublisher(rabbit.app) as publisher, pytest.raises(FenceLost):
        publisher.publish([(json.dumps({"result_id": 0}), None, 5)], fence=lock.fence())
    occurrence = Occurrence(schedule_id=schedule.pk, scheduled_for=datetime.now(UTC))
    created, published = enqueue_occurrence(occurrence, fence=lock.fence())

    assert (created, published) == (25, 0)
    assert rabbit.depth("collect.default") == 0, "a batch was published without the lock"
    assert not DeviceBackupResult.objects.filter(published_at__isnull=False).exists()
    assert not lock.held()
    assert json.loads(redis_db.get(LOCK_KEY))["host"] == "rival"

    # The same rows under a lock that is ours: every batch goes, each extending the lock.
    redis_db.delete(LOCK_KEY)
    ours = LeaderLock(redis_db, 60, renew_in_background=False)
    assert ours.try_acquire()
    extended = []
    fence = ours.fence()
    counting = type(fence)(client=fence.client, key=fence.key, value=fence.value,
                           extend=lambda: extended.append(1) or ours.extend(), lost=fence.lost)
    assert enqueue_occurrence(occurrence, fence=counting) == (0, 25)
    assert len(extended) == 3  # batches of 10, 10 and 5
    assert rabbit.depth("collect.default") == 25


def test_a_batch_rabbitmq_refuses_raises_and_leaves_its_rows_unpublished(
    rabbit: Any, redis_db: Any, make_schedule: Any
) -> None:
    """A full queue (x-max-length with reject-publish) nacks: the batch must not count.
    (A classic queue: it applies the limit to each message as it comes, so it nacks the
    third one for certain; a quorum queue applies it to what is committed so far.)"""
    from kombu import Queue

    name = "collect.rabbit-full"
    rabbit.queues.add(name)
    arguments = {"x-queue-type": "classic", "x-max-length": 2, "x-overflow": "reject-publish"}
    full = Queue(name, collection_queue(rabbit.app, name).exchange, routing_key=name,
                 durable=True, queue_arguments=arguments)
    rabbit.app.amqp.queues.add(full)  # every publisher of this test declares it so
    schedule = make_schedule()
    group = CollectionGroup.objects.create(name="Rabbit Full")
    make_devices(5, schedule=schedule, group=group)

    with pytest.raises(PublishNotConfirmed):
        enqueue_occurrence(Occurrence(schedule_id=schedule.pk, scheduled_for=datetime.now(UTC)))
    assert not DeviceBackupResult.objects.filter(published_at__isnull=False).exists()


def test_metrics_read_queue_depths_from_rabbitmq_and_healthz_is_unaffected(
    rabbit: Any, redis_db: Any, make_schedule: Any, client: Any, settings: Any
) -> None:
    from project.tests.test_metrics import scrape

    settings.CELERY_BROKER_URL = rabbit.url
    schedule = make_schedule()
    group = CollectionGroup.objects.create(name="Rabbit Depth")
    make_devices(3, schedule=schedule, group=group)
    CollectionGroup.objects.create(name="Rabbit Never Used")  # its queue does not exist yet
    before = scrape(client)
    assert before.value("devicevault_queue_depth", queue="collect.rabbit-depth") == 0
    enqueue_occurrence(Occurrence(schedule_id=schedule.pk, scheduled_for=datetime.now(UTC)))

    after = scrape(client)
    assert after.value("devicevault_queue_depth", queue="collect.rabbit-depth") == 3
    assert after.value("devicevault_queue_depth", queue="collect.rabbit-never-used") == 0
    assert after.value("devicevault_queue_depth", queue="collect.default") == 0
    assert after.value("devicevault_up", component="broker") == 1
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_metrics_report_an_unreachable_rabbitmq_as_down_without_depths(
    db: None, redis_db: Any, client: Any, settings: Any
) -> None:
    from project.tests.test_metrics import closed_port, scrape

    settings.CELERY_BROKER_URL = f"amqp://guest:not-shown@127.0.0.1:{closed_port()}//"
    result = scrape(client)
    assert result.value("devicevault_up", component="broker") == 0
    assert "devicevault_queue_depth{" not in result.text
    assert "not-shown" not in result.text


def test_templated_rabbitmq_messages_are_celerys_own_but_for_their_ids_argsrepr_and_body(
    rabbit: Any, redis_db: Any
) -> None:
    """Each queue's first message comes from send_task; the rest are copies of it. Compared
    raw, as RabbitMQ hands them to a worker."""
    from celery.utils.saferepr import saferepr

    from devices.tests.test_publisher_contract import _payload

    rabbit.queues.add("collect.sydney-dc1")
    items = [(_payload(n, None), None, 7) for n in (1, 2)]
    items += [(_payload(n, "sydney-dc1"), "sydney-dc1", 7) for n in (3, 4)]
    items += [(_payload(5, None, name_length=1500), None, 7)]  # argsrepr cut by Celery
    with CollectPublisher(rabbit.app) as publisher:
        assert publisher.publish(items) == 5

    ids = set()
    with rabbit.connection() as conn:
        channel = conn.connection.channel()
        for queue, count in (("collect.default", 3), ("collect.sydney-dc1", 2)):
            messages = [channel.basic_get(queue, no_ack=True) for _ in range(count)]
            assert channel.basic_get(queue, no_ack=True) is None
            first = messages[0]
            for message in messages:
                headers = dict(message.headers)
                properties = {k: v for k, v in message.properties.items()
                              if k != "application_headers"}
                assert headers["id"] == headers["root_id"] == properties["correlation_id"]
                args, kwargs, embed = json.loads(message.body)
                assert (kwargs, embed) == ({}, json.loads(first.body)[2])
                assert headers["argsrepr"] == saferepr(
                    args, rabbit.app.amqp.argsrepr_maxsize,
                    maxlevels=rabbit.app.conf.task_repr_maxlevels)
                masked = {**headers, "id": 0, "root_id": 0, "argsrepr": 0}
                assert masked == {**first.headers, "id": 0, "root_id": 0, "argsrepr": 0}
                assert {**properties, "correlation_id": 0} == {
                    **{k: v for k, v in first.properties.items()
                       if k != "application_headers"}, "correlation_id": 0}
                assert message.delivery_info["routing_key"] == queue
                assert properties["delivery_mode"] == 2  # persistent
                assert properties["priority"] == 7  # RabbitMQ serves the highest first
                ids.add(headers["id"])
    assert len(ids) == 5


def test_a_retry_waits_at_least_a_second_on_quorum_queues_and_as_asked_on_redis(
    rabbit: Any,
) -> None:
    """Native delayed delivery counts whole seconds and refuses less than one
    (kombu's calculate_routing_key): a 0.4 s countdown would fail the retry itself."""
    from kombu.transport.native_delayed_delivery import calculate_routing_key

    from devices.dispatch.queues import retry_countdown
    from tests.support.rabbitmq import make_broker_app

    redis_app = make_broker_app(settings.REDIS_URL)  # the same settings, on Redis
    assert retry_countdown(redis_app, 0.4) == 0.4
    if settings.AMQP_QUEUE_TYPE == "quorum":
        with pytest.raises(ValueError):
            calculate_routing_key(int(0.4), "collect.default")
        assert retry_countdown(rabbit.app, 0.4) == 1.0
    assert retry_countdown(rabbit.app, 2.5) == 2.5
