package dev.shfn.interop;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Starts (or finds) the broker once per test run: the instance lives in the root context's
 * store, which JUnit closes when the whole run is over.
 */
public final class BrokerExtension implements BeforeAllCallback {
  private static final ExtensionContext.Namespace NS =
      ExtensionContext.Namespace.create(BrokerExtension.class);

  /** Adapter: JUnit 5.11 closes store values that implement CloseableResource. */
  private record Holder(Broker broker) implements ExtensionContext.Store.CloseableResource {
    @Override
    public void close() throws Throwable {
      broker.close();
    }
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    broker(context);
  }

  static Broker broker(ExtensionContext context) {
    return context.getRoot().getStore(NS).getOrComputeIfAbsent("broker", key -> {
      try {
        Broker b = Broker.start();
        System.out.printf("[interop] broker: %s at %s (admin %s)%n", b.name, b.url, b.http);
        return new Holder(b);
      } catch (Exception e) {
        throw new IllegalStateException("cannot start/find the broker: " + e, e);
      }
    }, Holder.class).broker();
  }
}
