package dev.shfn.interop;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pulsar.client.api.Consumer;
import org.apache.pulsar.client.api.Message;
import org.apache.pulsar.client.api.MessageId;
import org.apache.pulsar.client.api.Producer;
import org.junit.jupiter.api.Test;

/** Consumer seek by message id and by publish time. */
class SeekTest extends InteropTest {

  private Consumer<byte[]> subscribe(String topic) throws Exception {
    return client.newConsumer().topic(topic).subscriptionName("sub").subscribe();
  }

  private Producer<byte[]> producer(String topic) throws Exception {
    return client.newProducer().topic(topic).enableBatching(false).create();
  }

  /** Waits until the wall clock is past a millisecond (time is the behaviour under test). */
  private static void clockPast(long millis) throws InterruptedException {
    while (System.currentTimeMillis() <= millis) {
      Thread.sleep(1);
    }
  }

  @Test
  void seekByMessageId() throws Exception {
    String topic = topic();
    try (Consumer<byte[]> c = subscribe(topic); Producer<byte[]> p = producer(topic)) {
      List<MessageId> ids = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        ids.add(p.send(bytes("m-" + i)));
      }
      assertValues(expected("m-", 0, 10), receiveN(c, 10));
      c.seek(ids.get(3));
      // As on Pulsar, a consumer's seek to a message id is exclusive: delivery restarts right
      // after the message sought.
      assertValues(expected("m-", 4, 10), receiveN(c, 6));
      assertNothingMore(c, Duration.ofMillis(500));
    }
  }

  @Test
  void seekByTime() throws Exception {
    String topic = topic();
    try (Consumer<byte[]> c = subscribe(topic); Producer<byte[]> p = producer(topic)) {
      for (int i = 0; i < 5; i++) {
        p.send(bytes("a-" + i));
      }
      List<Message<byte[]>> first = receiveN(c, 5);
      clockPast(first.get(4).getPublishTime());
      for (int i = 0; i < 5; i++) {
        p.send(bytes("b-" + i));
      }
      List<Message<byte[]>> second = receiveN(c, 5);
      assertValues(expected("b-", 0, 5), second);
      c.seek(second.get(0).getPublishTime());
      // Everything published at or after that time again, nothing before it.
      assertValues(expected("b-", 0, 5), receiveN(c, 5));
      assertNothingMore(c, Duration.ofMillis(500));
    }
  }

  @Test
  void seekByTimeRightAfterSeekById() throws Exception {
    String topic = topic();
    try (Consumer<byte[]> c = subscribe(topic); Producer<byte[]> p = producer(topic)) {
      List<MessageId> ids = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        ids.add(p.send(bytes("m-" + i)));
      }
      List<Message<byte[]>> all = receiveN(c, 20);
      long time5 = all.get(5).getPublishTime();

      c.seek(ids.get(15));
      c.seek(time5);
      // The second seek wins: delivery restarts at or before m-5 (messages published in the
      // same millisecond come too) and runs to m-19 with no gap.
      Message<byte[]> m = c.receive((int) ARRIVAL.toSeconds(), TimeUnit.SECONDS);
      assertNotNull(m, "a message after the seeks");
      int start = Integer.parseInt(str(m).substring(2));
      assertTrue(start <= 5 && all.get(start).getPublishTime() >= time5,
          "first message after seeking to m-15 then to m-5's publish time: " + str(m));
      c.acknowledge(m);
      assertValues(expected("m-", start + 1, 20), receiveN(c, 19 - start));
      assertNothingMore(c, Duration.ofMillis(500));
    }
  }
}
