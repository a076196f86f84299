"""Schemas with the official Python client: versions that evolve and travel on messages,
incompatible schemas refused by the namespace's strategy, and the admin API's schema routes.

The same assertions hold on Apache Pulsar standalone and on `shfn broker` (conftest.py says which
one the suite runs against)."""
import json
import uuid

import pulsar
import pytest
from pulsar.schema import AvroSchema, Integer, JsonSchema, Record, String, StringSchema

from conftest import admin


def user(**fields):
    """A record named User, as each version of an application's class would be."""
    return type("User", (Record,), fields)


V1 = user(id=Integer(required=True))
# Adds an optional field with a default: compatible both ways (FULL).
V2 = user(id=Integer(required=True), email=String(required_default=True))
# Adds a field without a default: it cannot read what V1 wrote (not BACKWARD, so not FULL).
V3 = user(id=Integer(required=True), name=String(required=True))


def schema_routes(topic, ns="public/default"):
    return f"/admin/v2/schemas/{ns}/{topic}"


def refused_as_incompatible(create):
    with pytest.raises(pulsar.IncompatibleSchema):
        create()


@pytest.fixture
def namespace(broker):
    ns = f"public/schemas-{uuid.uuid4().hex[:8]}"
    assert admin(broker, "PUT", f"/admin/v2/namespaces/{ns}", {}) == 204
    return ns


def set_strategy(broker, ns, strategy):
    assert admin(broker, "PUT", f"/admin/v2/namespaces/{ns}/schemaCompatibilityStrategy",
                 strategy) == 204
    shown = []
    admin(broker, "GET", f"/admin/v2/namespaces/{ns}/schemaCompatibilityStrategy", reply=shown)
    assert shown == [strategy]


def test_avro_versions_evolve_and_each_message_names_its_own(py_client, broker, topic):
    first = py_client.create_producer(topic, schema=AvroSchema(V1))
    first.send(V1(id=1))
    second = py_client.create_producer(topic, schema=AvroSchema(V2))
    second.send(V2(id=2, email="two@example.com"))
    # The first schema again is the first version again, not a third one.
    again = py_client.create_producer(topic, schema=AvroSchema(V1))
    again.send(V1(id=3))

    consumer = py_client.subscribe(topic, "s", schema=AvroSchema(V2),
                                   initial_position=pulsar.InitialPosition.Earliest)
    got = [consumer.receive(timeout_millis=20000) for _ in range(3)]
    assert [(m.value().id, m.value().email) for m in got] == [
        (1, None), (2, "two@example.com"), (3, None)]
    versions = [m.schema_version() for m in got]
    assert versions[0] and versions[1] and versions[0] != versions[1]
    assert versions[2] == versions[0]

    listed = []
    assert admin(broker, "GET", schema_routes(topic) + "/schemas", reply=listed) == 200
    history = listed[0]["getSchemaResponses"]
    assert [(s["version"], s["type"]) for s in history] == [(0, "AVRO"), (1, "AVRO")]
    assert json.loads(history[1]["data"]) == json.loads(AvroSchema(V2).schema_info().schema())
    for c in (first, second, again, consumer):
        c.close()


def test_an_incompatible_schema_is_refused_under_the_default_strategy(py_client, topic):
    producer = py_client.create_producer(topic, schema=AvroSchema(V1))
    producer.send(V1(id=1))
    refused_as_incompatible(lambda: py_client.create_producer(topic, schema=AvroSchema(V3)))
    refused_as_incompatible(lambda: py_client.create_producer(topic, schema=StringSchema()))
    # A consumer that could not read what is there is refused too.
    refused_as_incompatible(lambda: py_client.subscribe(topic, "s", schema=AvroSchema(V3)))
    producer.close()


def test_json_schemas_evolve_by_the_same_rules(py_client, topic):
    first = py_client.create_producer(topic, schema=JsonSchema(V1))
    first.send(V1(id=1))
    second = py_client.create_producer(topic, schema=JsonSchema(V2))
    second.send(V2(id=2, email="two@example.com"))
    refused_as_incompatible(lambda: py_client.create_producer(topic, schema=JsonSchema(V3)))
    refused_as_incompatible(lambda: py_client.create_producer(topic, schema=AvroSchema(V2)))
    consumer = py_client.subscribe(topic, "s", schema=JsonSchema(V2),
                                   initial_position=pulsar.InitialPosition.Earliest)
    got = [consumer.receive(timeout_millis=20000).value() for _ in range(2)]
    assert [(v.id, v.email) for v in got] == [(1, None), (2, "two@example.com")]
    for c in (first, second, consumer):
        c.close()


def test_the_namespace_strategy_decides(py_client, broker, namespace):
    def topic(name):
        return f"persistent://{namespace}/{name}"

    def producer(name, record):
        return py_client.create_producer(topic(name), schema=AvroSchema(record))

    set_strategy(broker, namespace, "ALWAYS_INCOMPATIBLE")
    kept = producer("never", V1)
    refused_as_incompatible(lambda: producer("never", V2))
    producer("never", V1).close()  # the same schema is no new version

    # Dropping a field without a default: BACKWARD lets it, FORWARD does not.
    set_strategy(broker, namespace, "BACKWARD")
    producer("backward", V3).close()
    producer("backward", V1).close()
    set_strategy(broker, namespace, "FORWARD")
    producer("forward", V3).close()
    refused_as_incompatible(lambda: producer("forward", V1))

    # Each step is backward compatible; the last cannot read the first: only the transitive
    # strategy looks that far back.
    a = user(id=Integer(required=True))
    b = user(id=Integer(required=True), name=String(required_default=True))
    c = user(id=Integer(required=True), name=String())
    set_strategy(broker, namespace, "BACKWARD")
    for record in (a, b, c):
        producer("latest-only", record).close()
    set_strategy(broker, namespace, "BACKWARD_TRANSITIVE")
    producer("transitive", a).close()
    producer("transitive", b).close()
    refused_as_incompatible(lambda: producer("transitive", c))

    set_strategy(broker, namespace, "ALWAYS_COMPATIBLE")
    producer("anything", V1).close()
    py_client.create_producer(topic("anything"), schema=StringSchema()).close()
    kept.close()


def test_a_consumer_gives_an_idle_topic_its_schema(py_client, broker, topic):
    consumer = py_client.subscribe(topic, "s", schema=AvroSchema(V1))
    latest = []
    assert admin(broker, "GET", schema_routes(topic) + "/schema", reply=latest) == 200
    assert (latest[0]["version"], latest[0]["type"]) == (0, "AVRO")
    refused_as_incompatible(lambda: py_client.create_producer(topic, schema=AvroSchema(V3)))
    consumer.close()


def test_a_consumer_with_a_schema_cannot_join_a_topic_of_plain_bytes(py_client, topic):
    producer = py_client.create_producer(topic)
    producer.send(b"raw")
    refused_as_incompatible(lambda: py_client.subscribe(topic, "s", schema=AvroSchema(V1)))
    producer.close()


def test_the_admin_api_uploads_checks_and_deletes_schemas(py_client, broker, topic):
    v1 = AvroSchema(V1).schema_info().schema()
    v3 = AvroSchema(V3).schema_info().schema()
    routes = schema_routes(topic)
    assert admin(broker, "GET", routes + "/schema") == 404
    uploaded = []
    assert admin(broker, "POST", routes + "/schema",
                 {"type": "AVRO", "schema": v1, "properties": {"by": "test"}}, reply=uploaded) == 200
    latest = []
    assert admin(broker, "GET", routes + "/schema", reply=latest) == 200
    assert latest[0]["version"] == 0 and latest[0]["properties"] == {"by": "test"}
    assert json.loads(latest[0]["data"]) == json.loads(v1)

    verdict = []
    assert admin(broker, "POST", routes + "/compatibility",
                 {"type": "AVRO", "schema": AvroSchema(V2).schema_info().schema(),
                  "properties": {}}, reply=verdict) == 202
    assert verdict[0] == {"compatibility": True, "schemaCompatibilityStrategy": "FULL"}
    version = []
    assert admin(broker, "POST", routes + "/version",
                 {"type": "AVRO", "schema": v1, "properties": {}}, reply=version) == 200
    assert version[0] == {"version": 0}
    refused_as_incompatible(lambda: py_client.create_producer(topic, schema=AvroSchema(V3)))

    deleted = []
    assert admin(broker, "DELETE", routes + "/schema", reply=deleted) == 200
    assert deleted[0] == {"version": 1}
    assert admin(broker, "GET", routes + "/schema") == 404
    # A deleted schema is no longer checked against: a new history starts.
    producer = py_client.create_producer(topic, schema=AvroSchema(V3))
    producer.send(V3(id=1, name="n"))
    producer.close()
    listed = []
    admin(broker, "GET", routes + "/schema", reply=listed)
    assert listed[0]["version"] == 2 and json.loads(listed[0]["data"]) == json.loads(v3)


def test_partitions_share_one_schema_and_it_goes_with_the_topic(py_client, broker, topic):
    assert admin(broker, "PUT", f"/admin/v2/persistent/public/default/{topic}/partitions", 3) == 204
    producer = py_client.create_producer(topic, schema=AvroSchema(V1))
    for i in range(6):
        producer.send(V1(id=i), partition_key=str(i))
    producer.close()
    listed = []
    assert admin(broker, "GET", schema_routes(topic) + "/schemas", reply=listed) == 200
    assert [s["version"] for s in listed[0]["getSchemaResponses"]] == [0]

    assert admin(broker, "DELETE",
                 f"/admin/v2/persistent/public/default/{topic}/partitions?force=true") == 204
    assert admin(broker, "GET", schema_routes(topic) + "/schema") == 404


def test_namespace_switches_lock_schemas_and_enforce_them(py_client, broker, namespace):
    topic = f"persistent://{namespace}/locked"
    py_client.create_producer(topic, schema=AvroSchema(V1)).close()
    assert admin(broker, "POST", f"/admin/v2/namespaces/{namespace}/isAllowAutoUpdateSchema",
                 False) == 204
    refused_as_incompatible(lambda: py_client.create_producer(topic, schema=AvroSchema(V2)))
    py_client.create_producer(topic, schema=AvroSchema(V1)).close()  # registered: still fine
    py_client.create_producer(topic).close()  # no schema: allowed until validation is enforced
    assert admin(broker, "POST", f"/admin/v2/namespaces/{namespace}/schemaValidationEnforced",
                 True) == 204
    refused_as_incompatible(lambda: py_client.create_producer(topic))
