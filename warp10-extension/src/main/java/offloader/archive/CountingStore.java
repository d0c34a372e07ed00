package offloader.archive;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/** A store that counts its requests by kind (ARCHIVE.STATS shows them; the cold bench reads them). */
final class CountingStore implements ArchiveStore {

  private final ArchiveStore store;
  private final AtomicLong listings = new AtomicLong();
  private final AtomicLong gets = new AtomicLong();
  private final AtomicLong ranges = new AtomicLong();
  private final AtomicLong heads = new AtomicLong();
  private final AtomicLong bytesRead = new AtomicLong();

  CountingStore(ArchiveStore store) {
    this.store = store;
  }

  @Override
  public List<String> months() throws IOException {
    listings.incrementAndGet();
    return store.months();
  }

  @Override
  public long listingTtlMs() {
    return store.listingTtlMs();
  }

  @Override
  public byte[] get(String key, long maxBytes) throws IOException {
    gets.incrementAndGet();
    byte[] b = store.get(key, maxBytes);
    if (b != null) bytesRead.addAndGet(b.length);
    return b;
  }

  @Override
  public byte[] range(String key, long offset, long length) throws IOException {
    ranges.incrementAndGet();
    byte[] b = store.range(key, offset, length);
    bytesRead.addAndGet(b.length);
    return b;
  }

  @Override
  public boolean versionsWithReads() {
    return store.versionsWithReads();
  }

  @Override
  public Versioned rangeVersioned(String key, long offset, long length) throws IOException {
    ranges.incrementAndGet();
    Versioned v = store.rangeVersioned(key, offset, length);
    bytesRead.addAndGet(v.bytes().length);
    return v;
  }

  @Override
  public String version(String key) throws IOException {
    heads.incrementAndGet();
    return store.version(key);
  }

  Map<String, Object> stats() {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("listings", listings.get());
    out.put("gets", gets.get());
    out.put("ranges", ranges.get());
    out.put("heads", heads.get());
    out.put("requests", listings.get() + gets.get() + ranges.get() + heads.get());
    out.put("bytes", bytesRead.get());
    return out;
  }
}
