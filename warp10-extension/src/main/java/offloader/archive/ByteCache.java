package offloader.archive;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the index keeps between queries, bounded in bytes (an estimate of each value's heap): month
 * heads, index footers and blocks, months of archives without an index. Least recently used out first;
 * a value larger than the bound is used once and not kept, so no query can make another start over.
 */
final class ByteCache {

  private record Sized(Object value, long bytes) {}

  private final long maxBytes;
  private final LinkedHashMap<String, Sized> map = new LinkedHashMap<>(64, 0.75f, true);
  private long bytes = 0;
  private long hits = 0;
  private long misses = 0;

  ByteCache(long maxBytes) {
    this.maxBytes = maxBytes;
  }

  synchronized Object get(String key) {
    Sized s = map.get(key);
    if (s == null) {
      misses++;
      return null;
    }
    hits++;
    return s.value();
  }

  synchronized void put(String key, Object value, long size) {
    Sized old = map.remove(key);
    if (old != null) bytes -= old.bytes();
    if (size > maxBytes) return;
    map.put(key, new Sized(value, size));
    bytes += size;
    Iterator<Map.Entry<String, Sized>> it = map.entrySet().iterator();
    while (bytes > maxBytes && it.hasNext()) {
      Map.Entry<String, Sized> eldest = it.next();
      bytes -= eldest.getValue().bytes();
      it.remove();
    }
  }

  synchronized long bytes() {
    return bytes;
  }

  long maxBytes() {
    return maxBytes;
  }

  synchronized void remove(String key) {
    Sized old = map.remove(key);
    if (old != null) bytes -= old.bytes();
  }

  synchronized Map<String, Object> stats() {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("bytes", bytes);
    out.put("max.bytes", maxBytes);
    out.put("entries", (long) map.size());
    out.put("hits", hits);
    out.put("misses", misses);
    return out;
  }
}
