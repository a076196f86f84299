"""A terminated topic, as `pulsar-admin topics terminate` leaves it: it takes no more messages,
from producers already there or new ones, its messages stay readable, and the termination names
its last message. The same assertions hold on Pulsar standalone and on `shfn broker`."""
import pulsar
import pytest

from conftest import admin


def terminate(broker, topic, partitions=False):
    answer = []
    path = f"/admin/v2/persistent/public/default/{topic}/terminate"
    status = admin(broker, "POST", path + ("/partitions" if partitions else ""), reply=answer)
    return status, answer[0]


def test_a_terminated_topic_takes_no_more_messages_and_keeps_its_own(py_client, broker, topic):
    consumer = py_client.subscribe(topic, "s", initial_position=pulsar.InitialPosition.Earliest)
    producer = py_client.create_producer(topic, batching_enabled=False)
    for i in range(3):
        producer.send(f"m{i}".encode())

    status, last = terminate(broker, topic)
    assert status == 200
    assert (last["entryId"], last["partitionIndex"]) == (2, -1)
    with pytest.raises(pulsar.TopicTerminated):
        producer.send(b"too late")
    with pytest.raises(pulsar.TopicTerminated):
        py_client.create_producer(topic)

    assert [consumer.receive(timeout_millis=20000).data() for _ in range(3)] == [b"m0", b"m1",
                                                                                b"m2"]
    # Terminating again names the same last message.
    assert terminate(broker, topic) == (200, last)
    internal = []
    admin(broker, "GET", f"/admin/v2/persistent/public/default/{topic}/internalStats",
          reply=internal)
    assert internal[0]["state"] == "Terminated"
    consumer.close()


def test_terminating_is_refused_where_pulsar_refuses_it(broker, topic):
    assert terminate(broker, topic)[0] == 404  # no such topic
    assert admin(broker, "PUT", f"/admin/v2/persistent/public/default/{topic}/partitions", 2) == 204
    status, answer = terminate(broker, topic)
    assert (status, answer["reason"]) == (405, "Termination of a partitioned topic is not allowed")
    status, ids = terminate(broker, topic, partitions=True)
    assert status == 200 and sorted(ids) == ["0", "1"]
    assert [ids[p]["entryId"] for p in ("0", "1")] == [-1, -1]  # empty partitions
    assert admin(broker, "PUT", f"/admin/v2/persistent/public/default/{topic}-plain") == 204
    assert terminate(broker, f"{topic}-plain", partitions=True)[0] == 405
