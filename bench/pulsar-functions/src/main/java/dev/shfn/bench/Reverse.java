package dev.shfn.bench;

import java.util.function.Function;

/**
 * The bytes of the input in reverse order: Pulsar Functions' counterpart of shfn's `rev` in
 * bench/vs-pulsar-functions.sh. A plain java.util.function.Function on byte[], so the instance
 * uses Schema.BYTES (no SerDe) and no Context.
 */
public class Reverse implements Function<byte[], byte[]> {
  @Override
  public byte[] apply(byte[] input) {
    final int n = input.length;
    final byte[] output = new byte[n];
    for (int i = 0; i < n; ++i) output[i] = input[n - 1 - i];
    return output;
  }
}
