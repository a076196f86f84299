package dev.shfn.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pulsar.client.api.Consumer;
import org.apache.pulsar.client.api.Message;
import org.apache.pulsar.client.api.MessageId;
import org.apache.pulsar.client.api.MessageIdAdv;
import org.apache.pulsar.client.api.MessageRoutingMode;
import org.apache.pulsar.client.api.Producer;
import org.junit.jupiter.api.Test;

/** A partitioned topic created through the admin REST API, produced to and consumed whole. */
class PartitionedTopicTest extends InteropTest {

  @Test
  void partitionedTopicRoundTrip() throws Exception {
    String name = shortTopic();
    String topic = "persistent://public/default/" + name;
    HttpResponse<String> created =
        broker.adminPut("/admin/v2/persistent/public/default/" + name + "/partitions", "3");
    assertEquals(204, created.statusCode(), "create partitioned topic: " + created.body());
    assertEquals(3, client.getPartitionsForTopic(topic).get().size(), "partitions seen");

    int n = 30;
    try (Consumer<byte[]> c = client.newConsumer().topic(topic).subscriptionName("sub")
            .subscribe();
        Producer<byte[]> p = client.newProducer().topic(topic).enableBatching(false)
            .messageRoutingMode(MessageRoutingMode.RoundRobinPartition).create()) {
      Map<String, Integer> sentTo = new HashMap<>();
      for (int i = 0; i < n; i++) {
        MessageId id = p.send(bytes("m-" + i));
        sentTo.put("m-" + i, ((MessageIdAdv) id).getPartitionIndex());
      }
      assertEquals(Set.of(0, 1, 2), new HashSet<>(sentTo.values()),
          "round robin uses every partition: " + sentTo);

      List<Message<byte[]>> got = receiveN(c, n);
      assertEquals(new HashSet<>(expected("m-", 0, n)), new HashSet<>(values(got)));
      for (Message<byte[]> m : got) {
        String from = m.getTopicName();
        assertTrue(from.startsWith(topic + "-partition-"), "message from " + from);
        int partition = Integer.parseInt(from.substring(from.lastIndexOf('-') + 1));
        assertEquals(partition, ((MessageIdAdv) m.getMessageId()).getPartitionIndex(),
            "partition index of " + str(m) + " (id " + m.getMessageId() + ") from " + from);
        assertEquals(sentTo.get(str(m)), partition, str(m) + " is on the partition it was sent to");
      }
      assertNothingMore(c, Duration.ofMillis(500));
    }
  }
}
