"""The habits of Pulsar's own CLIs in `shfn produce` and `shfn consume`: Pulsar's spellings of
enum values and long flags, the exit code of a consume that runs out of messages, `--version`
and `shfn help`; and the broker's version on the admin API, on both brokers."""
import json
import os
import re

from conftest import admin

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def project_version():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        return re.search(r"project\(shfn VERSION (\S+)", f.read()).group(1)


def test_pulsar_spellings_of_values_and_flags_are_taken(shfn, topic):
    r = shfn.run("produce", topic, "--messages", "one", "--messages", "two",
                 "--properties", "origin=cli", "-z", "LZ4")
    assert r.returncode == 0, r.stderr.decode()
    # pulsar-client consume -t Shared -p Earliest, and its long name for -p.
    r = shfn.run("consume", topic, "-s", "a", "-t", "Shared", "-p", "Earliest", "-n", "2",
                 "--format", "JSON", "--receive-timeout", "20")
    assert r.returncode == 0, r.stderr.decode()
    got = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert [(m["payload"], m["properties"]) for m in got] == [("one", {"origin": "cli"}),
                                                            ("two", {"origin": "cli"})]
    r = shfn.run("consume", topic, "-s", "b", "--subscription-type", "KEY_SHARED",
                 "--subscription-position", "earliest", "-n", "2", "--receive-timeout", "20")
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == b"one\ntwo\n"


def test_a_value_that_is_no_choice_is_a_usage_error_that_lists_the_choices(shfn, topic):
    r = shfn.run("consume", topic, "-s", "a", "-t", "Sharde")
    assert r.returncode == 2
    assert "Sharde" in r.stderr.decode()
    assert "key_shared" in r.stderr.decode()


def test_running_out_of_messages_within_the_receive_timeout_is_not_a_failure(shfn, topic):
    assert shfn.run("produce", topic, "-m", "only", "-m", "two").returncode == 0
    r = shfn.run("consume", topic, "-s", "a", "-p", "earliest", "-n", "5",
                 "--receive-timeout", "1")
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == b"only\ntwo\n"
    assert "2 of 5 received" in r.stderr.decode()
    # -n 0 (until there are no more) says nothing of a count.
    assert shfn.run("produce", topic, "-m", "three").returncode == 0
    r = shfn.run("consume", topic, "-s", "a", "-n", "0", "--receive-timeout", "1")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"three\n", b"")


def test_a_consume_that_cannot_reach_its_broker_still_fails(shfn, topic):
    env = dict(shfn.env, SHFN_URL="pulsar://127.0.0.1:1")
    r = shfn.run("consume", topic, "-s", "a", "--receive-timeout", "1", "--timeout", "2", env=env)
    assert r.returncode == 1
    assert "cannot subscribe" in r.stderr.decode()


def test_version_and_help(shfn):
    r = shfn.run("--version")
    assert (r.returncode, r.stdout.decode()) == (0, f"shfn {project_version()}\n")
    r = shfn.run("help")
    assert r.returncode == 0
    listing = r.stdout.decode()
    for command in ("produce", "consume", "broker", "run", "help"):
        assert re.search(rf"^\s+{command}\s", listing, re.M), listing
    assert "Exit codes" in listing
    r = shfn.run("help", "consume")
    assert r.returncode == 0
    assert "--subscription-position" in r.stdout.decode()
    r = shfn.run("help", "nonesuch")
    assert r.returncode == 2
    assert "no command nonesuch" in r.stderr.decode()


def test_the_admin_api_names_the_brokers_version(broker, embedded):
    reply = []
    assert admin(broker, "GET", "/admin/v2/brokers/version", reply=reply) == 200
    if embedded:
        assert reply == [project_version()]
    else:
        assert re.match(r"^4\.\d+\.\d+", str(reply[0])), reply


def test_topics_list_stats_and_peek_through_the_admin_api(shfn, broker, topic):
    env = dict(shfn.env, SHFN_ADMIN_URL=broker["http"])
    assert shfn.run("produce", topic, "-m", "first", "-m", "second").returncode == 0
    r = shfn.run("consume", topic, "-s", "later", "-n", "0", "--receive-timeout", "0.1", env=env)
    assert r.returncode == 0, r.stderr.decode()  # the subscription exists, at the end
    assert shfn.run("produce", topic, "-m", "third").returncode == 0

    r = shfn.run("topics", "list", env=env)
    assert r.returncode == 0, r.stderr.decode()
    assert f"persistent://public/default/{topic}" in r.stdout.decode().splitlines()

    r = shfn.run("topics", "stats", topic, env=env)
    assert r.returncode == 0, r.stderr.decode()
    stats = json.loads(r.stdout)
    assert stats["msgInCounter"] == 3 and stats["subscriptions"]["later"]["msgBacklog"] == 1

    r = shfn.run("topics", "peek", topic, "-s", "later", "-n", "2", env=env)
    assert (r.returncode, r.stdout) == (0, b"third\n"), r.stderr.decode()
    # Peeking acknowledges nothing.
    r = shfn.run("topics", "stats", topic, env=env)
    assert json.loads(r.stdout)["subscriptions"]["later"]["msgBacklog"] == 1

    r = shfn.run("topics", "stats", "nonesuch-" + topic, env=env)
    assert r.returncode == 1 and b"404" in r.stderr, r.stderr.decode()
    r = shfn.run("topics", "list", env=dict(env, SHFN_TOKEN="not-a-token"))
    if broker["token"]:
        assert r.returncode == 1 and b"401" in r.stderr, r.stderr.decode()
