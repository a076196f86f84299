package dev.shfn.interop;

import java.util.Optional;
import org.junit.jupiter.api.extension.BeforeTestExecutionCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * One line per test on stdout (PASS/FAIL, time, and the failure's message), so that a ctest
 * log lists every case and its outcome even under `mvn -q`.
 */
public final class ResultLog implements BeforeTestExecutionCallback, TestWatcher {
  private static final ExtensionContext.Namespace NS =
      ExtensionContext.Namespace.create(ResultLog.class);

  @Override
  public void beforeTestExecution(ExtensionContext context) {
    context.getStore(NS).put("start", System.nanoTime());
  }

  private static String line(ExtensionContext context, String outcome) {
    Long start = context.getStore(NS).get("start", Long.class);
    String elapsed = start == null ? "" : String.format(" (%.1f s)",
        (System.nanoTime() - start) / 1e9);
    String method = context.getRequiredTestMethod().getName();
    String name = context.getDisplayName().equals(method + "()")
        ? method : method + " " + context.getDisplayName();
    return String.format("[interop] %s %s.%s%s [%s]", outcome,
        context.getRequiredTestClass().getSimpleName(), name, elapsed,
        Broker.embedded() ? "embedded" : "standalone");
  }

  @Override
  public void testSuccessful(ExtensionContext context) {
    System.out.println(line(context, "PASS"));
  }

  @Override
  public void testFailed(ExtensionContext context, Throwable cause) {
    System.out.println(line(context, "FAIL") + ": " + cause);
  }

  @Override
  public void testAborted(ExtensionContext context, Throwable cause) {
    System.out.println(line(context, "SKIP") + ": " + cause);
  }

  @Override
  public void testDisabled(ExtensionContext context, Optional<String> reason) {
    System.out.println(line(context, "DISABLED") + reason.map(r -> ": " + r).orElse(""));
  }
}
