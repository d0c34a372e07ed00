package offloader.archive;

import io.warp10.WarpConfig;
import io.warp10.WarpDist;
import io.warp10.warp.sdk.WarpScriptExtension;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Loads ARCHIVE.FETCH. Configuration (Warp 10's; docs/QUERYING.md):
 * <ul>
 * <li>{@code archive.fetch.store}: {@code local} (default) or {@code s3};</li>
 * <li>local: {@code archive.fetch.dir}, the store's directory (the offloader's {@code store.path});</li>
 * <li>s3: {@code archive.fetch.s3.endpoint}, {@code .region} (default us-east-1), {@code .bucket},
 * {@code .prefix} (optional), {@code .access.key.id} and {@code .secret.access.key} (or, when absent,
 * the environment's AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY of the Warp 10 process);</li>
 * <li>{@code archive.fetch.capability}: the capability a script must hold (default {@code archive.fetch});</li>
 * <li>{@code archive.owners.capability}: the one ARCHIVE.OWNERS needs (default {@code archive.owners}): the
 * offloader's read token holds it, to record each archived series' owner and producer;</li>
 * <li>{@code archive.purge.capability}: the one ARCHIVE.PURGE needs (default {@code archive.purge}): the
 * offloader's read token holds it when a dataset purges the metadata of emptied series;</li>
 * <li>{@code archive.fetch.cache.bytes}: what the index keeps in memory between queries (month heads,
 * index footers and blocks, months of archives without an index), bounded in bytes (default 268435456,
 * 256 MiB);</li>
 * <li>what one call may cost ({@link Limits}): {@code archive.fetch.max.read.bytes} (one member or object
 * read, default 64 MiB), {@code archive.fetch.max.manifest.bytes} (one manifest as stored, 64 MiB),
 * {@code archive.fetch.max.inflated.bytes} (what one of them may decompress to, 256 MiB),
 * {@code archive.fetch.timeout.ms} (60,000) and {@code archive.fetch.threads} (the read pool, the
 * number of cores and at least 2).</li>
 * </ul>
 */
public class ArchiveFetchExtension extends WarpScriptExtension {

  public static final String STORE = "archive.fetch.store";
  public static final String DIR = "archive.fetch.dir";
  public static final String S3 = "archive.fetch.s3.";
  public static final String CAPABILITY = "archive.fetch.capability";
  public static final String OWNERS_CAPABILITY = "archive.owners.capability";
  public static final String PURGE_CAPABILITY = "archive.purge.capability";
  public static final String CACHE = "archive.fetch.cache.bytes";
  public static final String MAX_READ = "archive.fetch.max.read.bytes";
  public static final String MAX_MANIFEST = "archive.fetch.max.manifest.bytes";
  public static final String MAX_INFLATED = "archive.fetch.max.inflated.bytes";
  public static final String TIMEOUT = "archive.fetch.timeout.ms";
  public static final String THREADS = "archive.fetch.threads";

  /** How often the start runs the read path on a made-up member: enough for the JIT to compile it (~0.5 s). */
  static final int WARM_UP_RUNS = 40;

  /** How many real series the start reads as queries would, each over its dataset's months. */
  static final int WARM_QUERIES = 5;

  @Override
  public Map<String, Object> getFunctions() {
    String capability = WarpConfig.getProperty(CAPABILITY, "archive.fetch");
    long cache = number(CACHE, 256L << 20);
    Limits d = Limits.DEFAULTS;
    Limits limits = new Limits(number(MAX_READ, d.maxReadBytes()), number(MAX_MANIFEST, d.maxManifestBytes()),
        number(MAX_INFLATED, d.maxInflatedBytes()), number(TIMEOUT, d.timeoutMs()), (int) Math.min(256, number(THREADS, d.threads())));
    CountingStore store = new CountingStore(store(limits));
    ArchiveIndex index = new ArchiveIndex(store, cache, limits);
    ExecutorService pool = pool(limits.threads());
    // Off the request path, for the first query: once Warp 10 has started (code compiled while it loads
    // its own classes is thrown away again), the read path compiled on a made-up member, the catalogs and
    // footers read ahead, then one real series read as a query would (each step on its own: one failing
    // leaves the others, and preload.ms, to run).
    ArchiveFetch fetch = new ArchiveFetch("ARCHIVE.FETCH", index, capability, pool);
    Thread ahead = new Thread(() -> {
      try {
        awaitStart();
        ArchiveFetch.warmUp(WARM_UP_RUNS);
      } finally {
        index.preload(() -> fetch.warmQueries(WARM_QUERIES));
      }
    }, "archive-fetch-preload");
    ahead.setDaemon(true);
    ahead.start();
    return Map.of("ARCHIVE.FETCH", fetch,
        "ARCHIVE.STATS", new ArchiveStats("ARCHIVE.STATS", store, index, capability),
        "ARCHIVE.OWNERS", new ArchiveOwners("ARCHIVE.OWNERS", WarpConfig.getProperty(OWNERS_CAPABILITY, "archive.owners")),
        "ARCHIVE.PURGE", new ArchivePurge("ARCHIVE.PURGE", WarpConfig.getProperty(PURGE_CAPABILITY, "archive.purge")));
  }

  /** Until Warp 10 says it has started (its HTTP endpoints up), at most {@link #START_WAIT_MS}. */
  private static void awaitStart() {
    long deadline = System.currentTimeMillis() + START_WAIT_MS;
    while (!WarpDist.isInitialized() && System.currentTimeMillis() < deadline) {
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  static final long START_WAIT_MS = 600_000;

  /** The extension's own read pool: daemon threads, so that it never holds Warp 10 up at shutdown. */
  private static ExecutorService pool(int threads) {
    AtomicInteger n = new AtomicInteger();
    return Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "archive-fetch-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  private static long number(String key, long dflt) {
    String v = WarpConfig.getProperty(key);
    if (v == null || v.isBlank()) return dflt;
    try {
      long n = Long.parseLong(v.trim());
      if (n <= 0) throw new NumberFormatException();
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalStateException("ARCHIVE.FETCH: '" + key + "' must be a positive whole number, not '" + v.trim() + "'");
    }
  }

  private static ArchiveStore store(Limits limits) {
    String type = WarpConfig.getProperty(STORE, "local").trim();
    if (type.equals("local")) {
      return new LocalStore(Path.of(required(DIR, "the archive store's directory (the offloader's store.path)")), limits.maxReadBytes());
    }
    if (type.equals("s3")) {
      String id = WarpConfig.getProperty(S3 + "access.key.id", System.getenv("AWS_ACCESS_KEY_ID"));
      String secret = WarpConfig.getProperty(S3 + "secret.access.key", System.getenv("AWS_SECRET_ACCESS_KEY"));
      if (id == null || id.isBlank() || secret == null || secret.isBlank()) {
        throw new IllegalStateException("ARCHIVE.FETCH needs S3 credentials: '" + S3 + "access.key.id' and '" + S3
            + "secret.access.key' in the Warp 10 configuration, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in its environment");
      }
      return new S3Store(required(S3 + "endpoint", "the S3 endpoint URL, such as https://s3.example.net"),
          WarpConfig.getProperty(S3 + "region", "us-east-1").trim(), required(S3 + "bucket", "the archive's bucket"),
          WarpConfig.getProperty(S3 + "prefix", "").trim(), id.trim(), secret.trim(), limits.maxReadBytes());
    }
    throw new IllegalStateException("ARCHIVE.FETCH: '" + STORE + "' is local or s3, not '" + type + "'");
  }

  private static String required(String key, String what) {
    String v = WarpConfig.getProperty(key);
    if (v == null || v.isBlank()) throw new IllegalStateException("ARCHIVE.FETCH needs '" + key + "' in the Warp 10 configuration: " + what);
    return v.trim();
  }
}
