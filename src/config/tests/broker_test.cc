// Broker and Trigger (eventing.knative.dev/v1): Knative's shapes loading, defaults, the filters
// becoming one filter, the Broker's delivery as the Triggers' default, and the errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/spec.h"
#include "config/tests/test_util.h"

namespace shfn::config {
namespace {

using ::testing::ElementsAre;
using testing::errors_of;
using testing::load_ok;

constexpr std::string_view getting_started = R"(apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: event-example
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: hello-display
  namespace: event-example
spec:
  broker: default
  filter:
    attributes:
      type: greeting
      source: ""
  subscriber:
    builtin: display
)";

TEST(broker_test, knatives_getting_started_shapes_load) {
  const spec_file f = load_ok(getting_started);
  ASSERT_EQ(f.brokers.size(), 1u);
  EXPECT_EQ(f.brokers[0].ns, "event-example");
  EXPECT_EQ(f.brokers[0].ingress, "persistent://public/default/default");
  EXPECT_FALSE(f.brokers[0].delivery);
  ASSERT_EQ(f.triggers.size(), 1u);
  const trigger_spec& t = f.triggers[0];
  EXPECT_EQ(t.ingress, "persistent://public/default/default");
  EXPECT_EQ(t.topic, "persistent://public/default/default-trigger-hello-display");
  // An empty attribute value matches anything, as in Knative: only `type` is left to match.
  EXPECT_EQ(t.filter.dump(), R"({"exact":{"type":"greeting"}})");
  EXPECT_EQ(t.subscriber.type, step_spec::kind::display);
  EXPECT_EQ(t.delivery.retry, delivery_spec{}.retry);
}

TEST(broker_test, filters_all_hold_and_the_brokers_delivery_is_the_default) {
  const spec_file f = load_ok(R"(kind: Broker
metadata: {name: b}
spec:
  ingress: tenant/ns/events
  delivery: {retry: 7, deadLetterSink: {topic: dead}}
  config: {apiVersion: v1, kind: ConfigMap, name: config-br-default-channel}
---
kind: Trigger
metadata: {name: t1}
spec:
  broker: b
  filters:
    - prefix: {type: com.example.}
    - cesql: "INT(priority) > 3"
  subscriber: {command: cat}
---
kind: Trigger
metadata: {name: t2}
spec:
  broker: b
  subscriber: {uri: "http://127.0.0.1:9/x"}
  delivery: {retry: 1}
)");
  ASSERT_EQ(f.triggers.size(), 2u);
  EXPECT_EQ(f.triggers[0].topic, "persistent://tenant/ns/events-trigger-t1");
  EXPECT_EQ(f.triggers[0].filter.dump(),
            R"({"all":[{"prefix":{"type":"com.example."}},{"cesql":"INT(priority) > 3"}]})");
  EXPECT_EQ(f.triggers[0].delivery.retry, 7);
  EXPECT_EQ(f.triggers[0].delivery.dead_letter.topic, "persistent://public/default/dead");
  EXPECT_EQ(f.triggers[1].filter.dump(), "{}");
  EXPECT_EQ(f.triggers[1].delivery.retry, 1);  // its own, whole
  EXPECT_EQ(f.triggers[1].delivery.dead_letter.type, sink_spec::kind::none);
}

TEST(broker_test, errors_say_where_and_what) {
  EXPECT_THAT(errors_of(R"(kind: Broker
metadata: {name: events}
---
kind: Trigger
metadata: {name: t}
spec:
  broker: event
  filter: {attributes: {type: x}}
  filters: [{exact: {type: y}}]
  subscriber: {command: cat}
---
kind: Trigger
metadata: {name: u}
spec:
  broker: events
  filters: [{cesql: "type = "}, {cesql: "LEN(type) = 1"}]
  subscriber: {ref: {kind: Broker, name: events}}
)"),
              ElementsAre("f.yaml:7:11: t.spec.broker: no Broker named \"event\" in this file "
                          "(did you mean \"events\"?)",
                          "f.yaml:9:12: t.spec.filters: give filter or filters, not both "
                          "(Knative ignores filter when filters is set)",
                          "f.yaml:16:21: u.spec.filters[0].cesql: invalid CESQL expression: "
                          "column 8: expected an expression, found the end",
                          "f.yaml:16:41: u.spec.filters[1].cesql: CESQL has no function LEN "
                          "with 1 argument",
                          "f.yaml:17:28: u.spec.subscriber.ref.kind: kind Broker cannot be a "
                          "subscriber: a subscriber must be a Function, a command, a uri or "
                          "builtin: display"));
  EXPECT_THAT(errors_of("kind: Trigger\nmetadata: {name: t}\nspec: {filters: []}\n"),
              ElementsAre("f.yaml:3:7: t.spec.broker: required field is missing",
                          "f.yaml:3:7: t.spec.subscriber: required field is missing"));
}

// A ref by name alone that names a Trigger, a Subscription or a Broker where a Function must be.
TEST(broker_test, refs_to_what_cannot_take_that_place_are_errors) {
  EXPECT_THAT(errors_of(R"(kind: Broker
metadata: {name: b}
---
kind: Trigger
metadata: {name: t}
spec: {broker: b, subscriber: {ref: {name: b}}}
---
kind: Sequence
metadata: {name: s}
spec:
  steps: [{command: cat}]
  reply: {ref: {name: t}}
)"),
              ElementsAre("f.yaml:6:44: t.spec.subscriber.ref: \"b\" is a Broker; a subscriber "
                          "must be a Function, a command, a uri or builtin: display (a Broker can "
                          "be a reply)",
                          "f.yaml:12:23: s.spec.reply.ref: \"t\" is a Trigger, which receives "
                          "nothing itself: send to its Broker"));
}

TEST(broker_test, a_sink_can_be_a_broker) {
  const spec_file f = load_ok(R"(kind: Broker
metadata: {name: b}
---
kind: PingSource
metadata: {name: p}
spec:
  schedule: "* * * * *"
  sink: {ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: b}}
)");
  ASSERT_EQ(f.cron_sources.size(), 1u);
  EXPECT_EQ(f.cron_sources[0].sink.topic, "persistent://public/default/b");
}

TEST(broker_test, channels_and_subscriptions) {
  const spec_file f = load_ok(R"(apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata: {name: fast}
---
apiVersion: messaging.knative.dev/v1
kind: Channel
metadata: {name: kept, namespace: team}
spec:
  channelTemplate: {apiVersion: messaging.knative.dev/v1, kind: PersistentChannel}
  delivery: {retry: 9}
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata: {name: s1}
spec:
  channel: {apiVersion: messaging.knative.dev/v1, kind: Channel, name: kept}
  subscriber: {command: cat}
  reply: {ref: {kind: InMemoryChannel, name: fast}}
)");
  ASSERT_EQ(f.channels.size(), 2u);
  EXPECT_EQ(f.channels[0].topic, "non-persistent://public/default/fast");
  EXPECT_EQ(f.channels[1].topic, "persistent://public/default/kept");
  EXPECT_EQ(f.channels[1].ns, "team");
  ASSERT_EQ(f.subscriptions.size(), 1u);
  EXPECT_EQ(f.subscriptions[0].topic, "persistent://public/default/kept");
  EXPECT_EQ(f.subscriptions[0].reply.topic, "non-persistent://public/default/fast");
  EXPECT_EQ(f.subscriptions[0].delivery.retry, 9);  // the Channel's
  EXPECT_THAT(errors_of(R"(kind: InMemoryChannel
metadata: {name: c}
spec: {ingress: "persistent://public/default/c"}
---
kind: Subscription
metadata: {name: s}
spec:
  channel: {kind: Channel, name: c}
  subscriber: {uri: "http://127.0.0.1:9/"}
)"),
              ElementsAre("f.yaml:3:17: c.spec.ingress: an in-memory channel's topic is "
                          "non-persistent://",
                          "f.yaml:8:34: s.spec.channel.name: \"c\" is an InMemoryChannel, not a "
                          "Channel"));
}

}  // namespace
}  // namespace shfn::config
