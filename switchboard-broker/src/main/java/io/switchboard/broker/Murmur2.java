package io.switchboard.broker;

/**
 * MurmurHash2 (32-bit, seed 0x9747b28c), the hash Kafka's default partitioner applies to keys, so a
 * key lands in the same partition whether it was published through Kafka or any other protocol.
 * Stateless.
 */
public final class Murmur2 {
  private Murmur2() {}

  @SuppressWarnings("fallthrough") // the tail cases add bytes cumulatively, as the algorithm says
  public static int hash(byte[] data) {
    int length = data.length;
    final int seed = 0x9747b28c;
    final int m = 0x5bd1e995;
    final int r = 24;
    int h = seed ^ length;
    int quads = length / 4;
    for (int i = 0; i < quads; i++) {
      int i4 = i * 4;
      int k =
          (data[i4] & 0xff)
              + ((data[i4 + 1] & 0xff) << 8)
              + ((data[i4 + 2] & 0xff) << 16)
              + ((data[i4 + 3] & 0xff) << 24);
      k *= m;
      k ^= k >>> r;
      k *= m;
      h *= m;
      h ^= k;
    }
    int tail = quads * 4;
    switch (length % 4) {
      case 3:
        h ^= (data[tail + 2] & 0xff) << 16;
      // fall through
      case 2:
        h ^= (data[tail + 1] & 0xff) << 8;
      // fall through
      case 1:
        h ^= data[tail] & 0xff;
        h *= m;
        break;
      default:
        break;
    }
    h ^= h >>> 13;
    h *= m;
    h ^= h >>> 15;
    return h;
  }

  /** The partition Kafka's default partitioner picks for {@code key} among {@code partitions}. */
  public static int partition(byte[] key, int partitions) {
    return (hash(key) & 0x7fffffff) % partitions;
  }
}
