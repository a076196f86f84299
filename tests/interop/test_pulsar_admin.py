"""Pulsar's own pulsar-admin (pulsar-client-tools 4.0.8 from Maven Central, the jars that
scripts/setup-pulsar.sh resolves) against the shfn broker and Apache Pulsar standalone: one
scripted session of tenant, namespace, policy, cluster and topic commands run on both, and what
the CLI prints compared command by command. Then what the official Python client sees of
tenancy: a topic in a namespace that does not exist, and a namespace without auto creation.

The session runs in pulsar-shell (`-f`), one JVM for every command, so it costs seconds."""
import json
import os
import re
import subprocess
import tempfile
import urllib.error
import urllib.request
import uuid

import pulsar
import pytest

from conftest import admin, shfn_broker

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _pulsar_lib():
    r = subprocess.run(["bash", os.path.join(ROOT, "scripts", "setup-pulsar.sh")],
                       capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, f"scripts/setup-pulsar.sh failed: {r.stderr[-2000:]}"
    return r.stdout.strip()


def pulsar_shell(broker, commands):
    """Runs `commands` (pulsar-shell lines) against `broker`; returns [(command, output)]."""
    with tempfile.TemporaryDirectory(prefix="shfn-pulsar-admin-") as tmp:
        conf = os.path.join(tmp, "client.conf")
        with open(conf, "w") as f:
            f.write(f"webServiceUrl={broker['http']}\nbrokerServiceUrl={broker['url']}\n")
            if broker["token"]:
                f.write("authPlugin=org.apache.pulsar.client.impl.auth.AuthenticationToken\n"
                        f"authParams=token:{broker['token']}\n")
        script = os.path.join(tmp, "script")
        with open(script, "w") as f:
            f.write("\n".join(commands) + "\n")
        r = subprocess.run(["java", "-XX:TieredStopAtLevel=1", "-cp",
                            os.path.join(_pulsar_lib(), "*"), "org.apache.pulsar.shell.PulsarShell",
                            "-c", conf, "-np", "-f", script],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=300, cwd=tmp, env=dict(os.environ, HOME=tmp))
    out = r.stdout
    sections = re.split(r"^\[\d+/\d+\] Executing (.*)$", out, flags=re.M)
    got = [(sections[i].strip(), sections[i + 1]) for i in range(1, len(sections) - 1, 2)]
    assert [c for c, _ in got] == commands, f"pulsar-shell did not run every command:\n{out}"
    return got


def normalize(output, broker):
    """What the CLI printed, without log lines and stack frames, with the broker's addresses
    replaced, JSON parsed: what a user reads, comparable between brokers."""
    lines = [line for line in output.splitlines()
             if not re.match(r"^(\d{4}-\d\d-\d\dT|[A-Z][a-z]{2} \d\d?, \d{4} |INFO: |WARNING: )",
                             line)
             and not line.startswith("\tat ") and line.strip() != "Goodbye!"]
    text = "\n".join(lines).strip()
    # Ledger ids and publish times are the broker's own.
    text = re.sub(r"(?m)^Message ID: \d+:(\d+)", r"Message ID: LEDGER:\1", text)
    text = re.sub(r"(?m)^Publish time: \d+", "Publish time: T", text)
    text = re.sub(r"terminated at \d+:", "terminated at LEDGER:", text)
    for url, name in ((broker["http"], "HTTP_URL"), (broker["url"], "PULSAR_URL")):
        text = text.replace(url, name).replace(url.split("://", 1)[1], name + "_AUTHORITY")
    try:
        doc = json.loads(text)
    except ValueError:
        return text
    if isinstance(doc, dict) and "ledgerId" in doc:
        doc["ledgerId"] = "LEDGER"  # Pulsar's ledgers are numbered per broker; shfn's is 0
    for schema in (doc, doc.get("schemaInfo")) if isinstance(doc, dict) else ():
        if isinstance(schema, dict) and "timestamp" in schema:
            schema["timestamp"] = "T"  # when each broker stored the schema
    return doc


def cursors(internal):
    """What internal stats say of entries and of the subscriptions' cursors (Pulsar's own, such
    as pulsar.dedup, left out), ledger ids aside."""
    if not isinstance(internal, dict):
        return internal
    return {"numberOfEntries": internal["numberOfEntries"],
            "cursors": {name: re.sub(r"^\d+:", "LEDGER:", c["markDeletePosition"])
                        for name, c in internal["cursors"].items()
                        if not name.startswith("pulsar.")}}


def ledger_info(info):
    """What info-internal says that does not depend on how the broker numbers ledgers or when it
    made them: the subscriptions' mark-delete entries (Pulsar's own cursors left out), and the
    partitions of a partitioned topic."""
    if not isinstance(info, dict):
        return info
    if "partitions" in info:
        return {"partitions": sorted(info["partitions"])}
    return {"cursors": {name: c["markDelete"]["entryId"] for name, c in info["cursors"].items()
                        if not name.startswith("pulsar.")}}


def messages_in(stats):
    """What a partitioned topic's stats say of the messages it took, and its partitions."""
    if not isinstance(stats, dict):
        return stats
    return {"msgInCounter": stats.get("msgInCounter"), "partitions": stats["metadata"]["partitions"]}


def backlogs(stats):
    """What a topic's stats say of its subscriptions' backlogs, and the fields that do not
    depend on how the broker stores entries (docs/broker.md)."""
    if not isinstance(stats, dict):
        return stats
    return {"backlogs": {name: sub["msgBacklog"]
                         for name, sub in stats.get("subscriptions", {}).items()},
            **{key: stats.get(key) for key in ("msgInCounter", "backlogQuotaLimitSize",
                                              "backlogQuotaLimitTime", "deduplicationStatus")},
            "publishers": len(stats.get("publishers", []))}


# Two versions of a schema, as `pulsar-admin schemas upload -f` reads them; the second adds a
# field without a default, which BACKWARD refuses (the new schema cannot read the old data).
SCHEMA_FILES = {
    "user-v1.json": {"type": "AVRO", "properties": {"owner": "ops"},
                     "schema": json.dumps({"type": "record", "name": "User",
                                           "fields": [{"name": "id", "type": "int"}]})},
    "user-v2.json": {"type": "AVRO", "properties": {},
                     "schema": json.dumps({"type": "record", "name": "User",
                                           "fields": [{"name": "id", "type": "int"},
                                                      {"name": "name", "type": "string"}]})},
}


def session(tenant, schemas):
    t = tenant
    v1, v2 = (os.path.join(schemas, name) for name in SCHEMA_FILES)
    return [
        f"admin tenants create {t} --admin-roles ops --allowed-clusters standalone",
        f"admin tenants create {t}",
        f"admin tenants get {t}",
        f"admin tenants update {t} --admin-roles ops2 --allowed-clusters standalone",
        f"admin tenants get {t}",
        f"admin tenants get {t}-missing",
        "admin tenants create bad%name",
        f"admin tenants create {t}-x --allowed-clusters elsewhere",
        "admin tenants list",
        "admin namespaces list public",
        "admin namespaces list pulsar",
        f"admin namespaces list {t}",
        f"admin namespaces create {t}/ns",
        f"admin namespaces create {t}/ns",
        f"admin namespaces create {t}-missing/ns",
        f"admin namespaces list {t}",
        f"admin namespaces policies {t}/ns",
        f"admin namespaces policies {t}/missing",
        f"admin namespaces get-retention {t}/ns",
        f"admin namespaces set-retention {t}/ns --size 10M --time 3h",
        f"admin namespaces get-retention {t}/ns",
        f"admin namespaces get-message-ttl {t}/ns",
        f"admin namespaces set-message-ttl {t}/ns --messageTTL 7200",
        f"admin namespaces get-message-ttl {t}/ns",
        f"admin namespaces get-deduplication {t}/ns",
        f"admin namespaces set-deduplication {t}/ns --enable",
        f"admin namespaces get-deduplication {t}/ns",
        f"admin namespaces get-auto-topic-creation {t}/ns",
        f"admin namespaces set-auto-topic-creation {t}/ns --disable",
        f"admin namespaces get-auto-topic-creation {t}/ns",
        f"admin namespaces get-schema-compatibility-strategy {t}/ns",
        f"admin namespaces set-schema-compatibility-strategy {t}/ns --compatibility BACKWARD",
        f"admin namespaces get-schema-compatibility-strategy {t}/ns",
        f"admin namespaces get-is-allow-auto-update-schema {t}/ns",
        f"admin namespaces set-is-allow-auto-update-schema {t}/ns --disable",
        f"admin namespaces get-is-allow-auto-update-schema {t}/ns",
        f"admin namespaces get-schema-validation-enforce {t}/ns",
        f"admin namespaces set-schema-validation-enforce {t}/ns --enable",
        f"admin namespaces get-schema-validation-enforce {t}/ns",
        f"admin schemas get persistent://{t}/ns/s1",
        f"admin schemas upload persistent://{t}/ns/s1 -f {v1}",
        f"admin schemas upload persistent://{t}/ns/s1 -f {v1}",
        f"admin schemas get persistent://{t}/ns/s1",
        f"admin schemas get persistent://{t}/ns/s1 -v 0",
        f"admin schemas upload persistent://{t}/ns/s1 -f {v2}",
        f"admin schemas compatibility persistent://{t}/ns/s1 -f {v2}",
        f"admin schemas get persistent://{t}/ns/s1 -a",
        f"admin schemas delete persistent://{t}/ns/s1",
        f"admin schemas get persistent://{t}/ns/s1",
        f"admin topics create persistent://{t}/ns/k1",
        f"client produce -m v1 -n 3 -k key1 persistent://{t}/ns/k1",
        f"client produce -m v2 -n 1 -k key2 persistent://{t}/ns/k1",
        f"admin topics compaction-status persistent://{t}/ns/k1",
        f"admin topics compact persistent://{t}/ns/k1",
        f"admin topics compaction-status -w persistent://{t}/ns/k1",
        f"admin topics subscriptions persistent://{t}/ns/k1",
        f"admin topics compact persistent://{t}/ns/missing",
        f"admin topics delete persistent://{t}/ns/k1",
        f"admin namespaces get-compaction-threshold {t}/ns",
        f"admin namespaces set-compaction-threshold {t}/ns --threshold 10M",
        f"admin namespaces get-compaction-threshold {t}/ns",
        f"admin namespaces set-compaction-threshold {t}/ns --threshold -1",
        f"admin namespaces policies {t}/ns",
        f"admin namespaces remove-compaction-threshold {t}/ns",
        f"admin namespaces get-compaction-threshold {t}/ns",
        f"admin namespaces remove-retention {t}/ns",
        f"admin namespaces get-retention {t}/ns",
        "admin clusters list",
        "admin clusters get standalone",
        "admin brokers list standalone",
        f"admin topics create persistent://{t}/ns/t1",
        f"admin topics list {t}/ns",
        f"admin namespaces topics {t}/ns",
        f"admin topics create persistent://{t}/missing/t1",
        f"admin topics create persistent://{t}/ns/c1",
        f"admin topics create-subscription persistent://{t}/ns/c1 -s sub1",
        f"admin topics create-subscription persistent://{t}/ns/c1 -s sub1",
        f"admin topics info-internal persistent://{t}/ns/c1",
        f"client produce -m hello -n 5 -k key1 -p a=b persistent://{t}/ns/c1",
        f"admin topics lookup persistent://{t}/ns/c1",
        f"admin topics peek-messages persistent://{t}/ns/c1 -s sub1 -n 2",
        f"admin topics peek-messages persistent://{t}/ns/c1 -s nosuch -n 1",
        f"admin topics last-message-id persistent://{t}/ns/c1",
        f"admin topics last-message-id persistent://{t}/ns/missing",
        f"admin topics stats persistent://{t}/ns/c1",
        f"admin topics skip persistent://{t}/ns/c1 -s sub1 -n 2",
        f"admin topics stats persistent://{t}/ns/c1",
        f"admin topics clear-backlog persistent://{t}/ns/c1 -s sub1",
        f"admin topics stats persistent://{t}/ns/c1",
        f"admin topics reset-cursor persistent://{t}/ns/c1 -s sub1 -t 1h",
        f"admin topics stats persistent://{t}/ns/c1",
        f"admin topics expire-messages persistent://{t}/ns/c1 -s sub1 -t 3600",
        f"admin topics stats persistent://{t}/ns/c1",
        f"admin topics stats-internal persistent://{t}/ns/c1",
        f"admin topics skip persistent://{t}/ns/c1 -s nosuch -n 1",
        f"admin topics unload persistent://{t}/ns/c1",
        f"admin topics stats persistent://{t}/ns/c1",
        f"admin topics terminate persistent://{t}/ns/c1",
        f"client produce -m late -n 1 persistent://{t}/ns/c1",
        f"admin topics terminate persistent://{t}/ns/c1",
        f"admin topics delete persistent://{t}/ns/c1",
        f"admin topics create-partitioned-topic persistent://{t}/ns/p -p 2",
        f"admin topics info-internal persistent://{t}/ns/p",
        f"admin topics update-partitioned-topic persistent://{t}/ns/p -p 4",
        f"admin topics get-partitioned-topic-metadata persistent://{t}/ns/p",
        f"admin topics update-partitioned-topic persistent://{t}/ns/p -p 3",
        f"admin topics update-partitioned-topic persistent://{t}/ns/t1 -p 3",
        f"client produce -m hello -n 8 persistent://{t}/ns/p",
        f"admin topics partitioned-stats persistent://{t}/ns/p",
        f"admin topics partitioned-terminate persistent://{t}/ns/p",
        f"admin topics terminate persistent://{t}/ns/p",
        f"admin topics delete-partitioned-topic persistent://{t}/ns/p",
        f"admin tenants delete {t}",
        f"admin namespaces delete {t}/ns",
        f"admin topics delete persistent://{t}/ns/t1",
        f"admin namespaces delete {t}/ns",
        f"admin namespaces delete {t}/ns",
        f"admin tenants delete {t}",
        f"admin tenants get {t}",
        f"admin namespaces list {t}",
    ]


@pytest.fixture(scope="module")
def standalone_and_shfn(embedded):
    if embedded:
        pytest.skip("compared once, in interop_python, whose broker is Pulsar standalone")
    if not os.environ.get("PULSAR_URL"):
        pytest.skip("PULSAR_URL is not set: no Pulsar standalone to compare with")
    standalone = {"url": os.environ["PULSAR_URL"], "http": os.environ["PULSAR_HTTP"],
                  "token": os.environ.get("PULSAR_TOKEN", "")}
    with shfn_broker() as shfn:
        yield standalone, shfn


def refused(output):
    """A refusal, whatever its words: Pulsar's schema refusals are Java stack traces."""
    return "refused" if isinstance(output, str) and "Reason:" in output else output


def test_a_pulsar_admin_session_prints_the_same_on_both_brokers(standalone_and_shfn, tmp_path):
    standalone, shfn = standalone_and_shfn
    tenant = f"adm-{uuid.uuid4().hex[:8]}"
    for name, payload in SCHEMA_FILES.items():
        (tmp_path / name).write_text(json.dumps(payload))
    commands = session(tenant, str(tmp_path))
    theirs = pulsar_shell(standalone, commands)
    ours = pulsar_shell(shfn, commands)
    mismatches = []
    for (command, reference), (_, output) in zip(theirs, ours):
        expected, got = normalize(reference, standalone), normalize(output, shfn)
        if command.startswith("admin schemas ") and "user-v2" in command:
            expected, got = refused(expected), refused(got)
        if command.startswith("client produce -m late"):
            # The client's exception carries the request id and the local port.
            expected, got = (("TopicTerminatedException" in text) for text in (expected, got))
        if "terminate " in command and isinstance(expected, str):
            # Where each broker says the topic ends: Pulsar opens a new ledger when a topic is
            # loaded again and names its start; shfn's one ledger names the last message
            # (docs/broker.md). Partitions take messages round-robin from a random first one.
            expected, got = (sorted(re.sub(r"terminated at LEDGER:\S+", "terminated",
                                           text).splitlines()) for text in (expected, got))
        if command == "admin clusters get standalone":
            # The standalone under scripts/test.sh also listens with TLS; the shfn broker of
            # this comparison does not, so it names no TLS URLs.
            expected = {k: v for k, v in expected.items() if not k.endswith("Tls")}
        if command.startswith("admin topics stats "):
            expected, got = backlogs(expected), backlogs(got)
        if command.startswith("admin topics info-internal "):
            expected, got = ledger_info(expected), ledger_info(got)
        if command.startswith("admin topics stats-internal "):
            expected, got = cursors(expected), cursors(got)
        if command.startswith("admin topics partitioned-stats "):
            expected, got = messages_in(expected), messages_in(got)
        if command in ("admin tenants list", "admin namespaces list public"):
            # Other tests add tenants and namespaces to the shared standalone.
            keep = {"public", "pulsar", tenant, "public/default"}
            expected = [line for line in expected.splitlines() if line in keep]
            got = [line for line in got.splitlines() if line in keep]
        if expected != got:
            mismatches.append(f"$ {command}\n--- Pulsar standalone:\n{expected}\n"
                              f"--- shfn broker:\n{got}")
    assert not mismatches, "\n\n".join(mismatches)
    # The comparison is worth something only if the session did what it says: what each command
    # printed the last time it ran.
    last = {c: normalize(o, shfn) for c, o in ours if c != f"admin tenants get {tenant}"}
    assert normalize(ours[4][1], shfn) == {"adminRoles": ["ops2"],
                                           "allowedClusters": ["standalone"]}, ours[4]
    assert last[f"admin namespaces get-auto-topic-creation {tenant}/ns"] == {
        "allowAutoTopicCreation": False, "topicType": "non-partitioned"}
    assert last[f"admin namespaces get-retention {tenant}/ns"] is None  # removed: "null"
    c1 = f"persistent://{tenant}/ns/c1"
    assert ledger_info(last[f"admin topics info-internal {c1}"]) == {"cursors": {"sub1": -1}}
    assert last[f"admin topics terminate {c1}"] == "Topic successfully terminated at LEDGER:4:-1"
    assert "TopicTerminatedException" in last[f"client produce -m late -n 1 {c1}"]
    s1 = f"persistent://{tenant}/ns/s1"
    assert last[f"admin schemas get {s1} -v 0"]["properties"] == {"owner": "ops"}
    assert refused(last[f"admin schemas upload {s1} -f {tmp_path}/user-v2.json"]) == "refused"
    assert last[f"admin schemas get {s1}"] == "Schema not found\n\nReason: Schema not found"
    assert last[f"admin topics list {tenant}/ns"] == f"persistent://{tenant}/ns/t1"
    assert last[f"admin namespaces list {tenant}"] == "Tenant not found\n\nReason: Tenant not found"
    stats = [backlogs(normalize(o, shfn)) for c, o in ours if c.startswith("admin topics stats ")]
    assert [s["backlogs"]["sub1"] for s in stats] == [5, 3, 0, 5, 5, 5], \
        "backlog: made, skipped 2, cleared, reset an hour back, nothing an hour old expired, " \
        "and the same after an unload"
    assert [s["backlogs"]["nosuch"] for s in stats] == [5, 5, 5, 5, 5, 4], \
        "peeking made it, at the start; skip moved it one on"
    assert cursors(last[f"admin topics stats-internal persistent://{tenant}/ns/c1"]) == {
        "numberOfEntries": 5, "cursors": {"sub1": "LEDGER:-1", "nosuch": "LEDGER:-1"}}
    peeked = last[f"admin topics peek-messages persistent://{tenant}/ns/c1 -s sub1 -n 2"]
    assert peeked.count("Message ID: LEDGER:") == 2 and "|hello" in peeked, peeked


def test_values_the_shfn_broker_would_not_honour_are_refused_by_name(broker, embedded):
    if not embedded:
        pytest.skip("about the shfn broker: Pulsar standalone honours these")
    ns = f"public/refuse-{uuid.uuid4().hex[:8]}"
    commands = [f"admin namespaces create {ns}",
                f"admin namespaces set-deduplication {ns} --disable",
                f"admin topics set-message-ttl persistent://{ns}/t -t 60",
                f"admin namespaces policies {ns}"]
    outputs = dict(pulsar_shell(broker, commands))
    for command in commands[1:-1]:
        assert "does not implement" in outputs[command], f"{command}: {outputs[command]}"
    policies = normalize(outputs[commands[-1]], broker)
    for name in ("deduplicationEnabled",):
        assert name not in policies, f"{name} was refused, yet stored: {policies}"


# ------------------------------------------------------------------------ the official client

def refused_as_topic_not_found(create):
    with pytest.raises(Exception) as refused:
        create()
    assert type(refused.value).__name__ == "TopicNotFound", repr(refused.value)


def test_a_topic_in_a_namespace_that_does_not_exist_is_not_found(py_client, broker):
    ns = f"public/none-{uuid.uuid4().hex[:8]}"
    topic = f"persistent://{ns}/t"
    refused_as_topic_not_found(lambda: py_client.create_producer(topic))
    refused_as_topic_not_found(lambda: py_client.subscribe(topic, "s"))
    refused_as_topic_not_found(
        lambda: py_client.create_producer(f"persistent://nobody-{uuid.uuid4().hex[:8]}/ns/t"))

    assert admin(broker, "PUT", f"/admin/v2/namespaces/{ns}", {}) == 204
    producer = py_client.create_producer(topic)
    producer.send(b"now it exists")
    producer.close()


def test_a_namespace_without_auto_creation_serves_only_created_topics(py_client, broker):
    ns = f"public/manual-{uuid.uuid4().hex[:8]}"
    assert admin(broker, "PUT", f"/admin/v2/namespaces/{ns}", {}) == 204
    assert admin(broker, "POST", f"/admin/v2/namespaces/{ns}/autoTopicCreation",
                 {"allowAutoTopicCreation": False, "topicType": "non-partitioned"}) == 204
    refused_as_topic_not_found(lambda: py_client.create_producer(f"persistent://{ns}/new"))

    assert admin(broker, "PUT", f"/admin/v2/persistent/{ns}/made") == 204
    consumer = py_client.subscribe(f"persistent://{ns}/made", "s")
    producer = py_client.create_producer(f"persistent://{ns}/made")
    producer.send(b"hello")
    assert consumer.receive(timeout_millis=20000).data() == b"hello"
    producer.close()
    consumer.close()


def test_a_client_given_the_http_service_url_looks_topics_up_over_http(broker, topic):
    auth = pulsar.AuthenticationToken(broker["token"]) if broker["token"] else None
    client = pulsar.Client(broker["http"], authentication=auth, operation_timeout_seconds=20)
    try:
        assert admin(broker, "PUT", f"/admin/v2/persistent/public/default/{topic}-p/partitions",
                     2) == 204
        for name in (topic, f"{topic}-p"):
            consumer = client.subscribe(name, "s")
            producer = client.create_producer(name)
            producer.send(b"over http")
            assert consumer.receive(timeout_millis=20000).data() == b"over http"
            producer.close()
            consumer.close()
        # Over HTTP the namespace's 404 reaches the C++ client as a ConnectError, from Pulsar
        # standalone too.
        with pytest.raises(Exception) as refused:
            client.create_producer(f"persistent://public/none-{uuid.uuid4().hex[:8]}/t")
        assert type(refused.value).__name__ == "ConnectError", repr(refused.value)
    finally:
        client.close()
