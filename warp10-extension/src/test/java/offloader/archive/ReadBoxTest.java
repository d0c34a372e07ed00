package offloader.archive;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.warp10.script.WarpScriptException;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

/** ARCHIVE.FETCH's reads are boxed in time on the extension's own pool, and cancelled past it. */
class ReadBoxTest {

  /** A store whose reads hang (a stalled disk or S3 endpoint) until interrupted. */
  private static final class HangingStore implements ArchiveStore {
    final CountDownLatch interrupted = new CountDownLatch(1);

    @Override
    public List<String> months() {
      return List.of();
    }

    @Override
    public byte[] get(String key, long maxBytes) {
      return null;
    }

    @Override
    public byte[] range(String key, long offset, long length) throws IOException {
      try {
        Thread.sleep(60_000);
      } catch (InterruptedException e) {
        interrupted.countDown();
        throw new IOException("interrupted");
      }
      return new byte[0];
    }

    @Override
    public String version(String key) {
      return null;
    }
  }

  @Test
  void aReadThatOutlivesTheTimeBoxFailsTheCallAndIsCancelled() throws Exception {
    Limits limits = new Limits(1 << 20, 1 << 20, 1 << 20, 300, 2);
    HangingStore store = new HangingStore();
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      ArchiveFetch f = new ArchiveFetch("ARCHIVE.FETCH", new ArchiveIndex(store, 0, limits), "archive.fetch", pool);
      Map<ArchiveIndex.Part, Map<String, Integer>> parts = new LinkedHashMap<>();
      for (int i = 0; i < 5; i++) parts.put(new ArchiveIndex.Part("g/d/2026-05/batch-0000" + (i + 1) + ".wrap.gz", 0, 10, "0".repeat(64), false), Map.of("c{}", -1));
      long t0 = System.nanoTime();
      WarpScriptException e = assertThrows(WarpScriptException.class,
          () -> f.readAll(parts, 0, 10, new AtomicLong(), 1000, t0 + TimeUnit.MILLISECONDS.toNanos(limits.timeoutMs())));
      long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      assertTrue(e.getMessage().contains("read the archive for more than 300 ms"), e.getMessage());
      assertTrue(ms < 5_000, "failed after " + ms + " ms");
      assertTrue(store.interrupted.await(5, TimeUnit.SECONDS), "the hanging read was cancelled");
    } finally {
      pool.shutdownNow();
    }
  }
}
