package offloader.archive;

import io.warp10.json.JsonUtils;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The archive's index, as the offloader writes it (docs/ARCHIVE-LAYOUT.md). A committed month
 * ({@code <group>/<dataset>/<YYYY-MM>/manifest.json}) names its lookup index object ({@code index-*.idx}:
 * series sorted by selector in gzip blocks, a footer of the blocks' first and last selectors, offsets
 * and SHA-256): a series is found with a range read of the footer (once) and one of its block, whatever
 * the number of series and batches. A month committed before the index is read as before, from its
 * batch manifests ({@code batch-NNNNN.json}). Either way only the gzip members a selection needs are
 * read, each checked by its SHA-256.
 *
 * <p>Which months a query reads: when the store holds a catalog ({@code catalog.json} at its root, written by
 * the offloader at each commit), a query never lists the store. It checks the catalog's version (one stat or
 * HEAD), re-reads it only when it changed, and skips with no request every dataset whose months or class
 * range ({@code classes}, which is taken to bound every series of the dataset) cannot meet the window and
 * the selections. A dataset it needs is read from its dataset catalog ({@code <group>/<dataset>/catalog-<16
 * hex>.json}, named by its content: checked by its SHA-256, then kept), which gives each month's range and
 * index reference: a month is then read with no HEAD of its manifest.json, and a month whose range or
 * class range cannot meet the query costs nothing. A month the catalog lists without an index is read from
 * its manifest.json as before; a month the catalog does not list is not read. Without a catalog, the
 * committed months are listed (a directory walk, an S3 listing) and each month's manifest.json is checked.
 *
 * <p>What is kept between queries ({@link ByteCache}, bounded in bytes): each month's head (its range and
 * index reference, checked against the manifest's version at each query: a file stat, an S3 HEAD), dataset
 * catalogs, index footers and blocks (dataset catalogs and index objects are named by their content, so they
 * never go stale), and months of archives without an index; the root catalog while its version is unchanged.
 * A month whose name puts it outside the window costs nothing.
 */
public final class ArchiveIndex {

  /** One part of an object to read: a member (offset, length, SHA-256), or the whole object. */
  public record Part(String object, long offset, long length, String sha256, boolean whole) {}

  /**
   * A series of the index inside the window, and where its lines are, in object order: its parts, and
   * aligned with them its line in each part ({@code -1} when the archive does not record it).
   */
  public record Hit(String selector, long points, List<Part> parts, List<Integer> lines) {}

  /** One object's entry of a series in a month: its points, first and last tick, its part and line in it (or -1). */
  private record Entry(long points, long first, long last, Part part, int line) {}

  /** A committed month of an archive without index, parsed: the versions it was read at, its series' entries. */
  private record Month(Map<String, String> batchVersions, Map<String, List<Entry>> series, int size) {}

  /** What a month's manifest.json says that a query needs: its range, and its index (or its batches). */
  private record Head(String version, long startUs, long endUs, IndexRef index, List<Long> batches) {}

  /** Where a month's index object is, and its footer. */
  private record IndexRef(String key, String format, long footerOffset, long footerBytes, String footerSha) {}

  /**
   * An index footer: its blocks' first and last selectors, offsets, lengths and SHA-256, in order; and the month's parts, which
   * the blocks' entries number (null in format @1, whose blocks each begin with their own table).
   */
  private record Footer(String[] first, String[] last, long[] offset, long[] bytes, String[] sha, byte[][] bloom, int[] bloomM, int[] bloomK,
      List<Set<String>> attributes, Part[] parts) {}

  /**
   * An index block: the parts its series use and its series, sorted by selector. {@code partIds}: in format @2, the footer's
   * numbers of {@code parts}, ascending (the block keeps only the parts it uses, not the month's table); null in @1.
   */
  private record Block(Part[] parts, int[] partIds, String[] selectors, String[] owners, String[] producers, String[] attributes,
      String[] refs) {}

  /** What the cache counts for a part: its record, its object's key and its SHA-256 as strings. */
  private static final long PART_BYTES = 320;

  /** The root catalog as read at its version: its datasets, in its order. */
  private record Catalog(String version, List<CatalogDataset> datasets) {}

  /** A dataset of the root catalog: where its dataset catalog is, its months' names, its class range (null, null: none). */
  private record CatalogDataset(String group, String dataset, String key, long bytes, String sha256, String firstMonth, String lastMonth,
      String first, String last, long[] span) {}

  /** A month of a dataset catalog: its range, its index (null: a month committed before indexes) and the index's selector range. */
  private record CatalogMonth(String prefix, long startUs, long endUs, IndexRef index, String first, String last, long[] span) {}

  /** A dataset catalog, parsed (kept by its key: it is named by its content). */
  private record DatasetCatalog(List<CatalogMonth> months) {}

  /** Whether the selections of a query may hold a series of the index selector range [first, last]. */
  private interface Classes {
    boolean mayHold(String first, String last);
  }

  /** What a query does with a committed month in its window. */
  private interface MonthVisitor {
    void visit(String prefix, Head head) throws IOException;
  }

  /** The series FIND gives the caller (asked at most once a call, and only when an archived series' owner is not recorded). */
  public interface HotFind {
    Set<String> selectors() throws IOException;
  }

  static final Pattern MONTH = Pattern.compile("\\d{4}-\\d{2}");

  /** The objects a month's manifests may name, relative to the month's prefix: its batches and their supplements, maybe rewritten by an erasure. */
  static final Pattern OBJECT = Pattern.compile("batch-\\d{5}(\\.late-\\d{2})?(\\.e-[0-9a-f]{16})?\\.wrap\\.gz");

  /** A month's index object, relative to the month's prefix. */
  static final Pattern INDEX = Pattern.compile("index-[0-9a-f]{16}\\.idx");

  /** The root catalog's key, at the store's root. */
  static final String CATALOG = "catalog.json";

  static final String CATALOG_FORMAT = "warp10-offloader/catalog@1";
  static final String DATASET_CATALOG_FORMAT = "warp10-offloader/dataset-catalog@1";
  /** Index formats read: @2 lists the month's parts once, in its footer; @1 began each block with a table of them. */
  static final String INDEX_FORMAT_1 = "warp10-offloader/index@1";
  static final String INDEX_FORMAT = "warp10-offloader/index@2";

  /** A dataset catalog, relative to its dataset's prefix: named by the first 16 hex of its SHA-256. */
  static final Pattern DATASET_CATALOG = Pattern.compile("catalog-([0-9a-f]{16})\\.json");

  /** The widest offset of a dataset's time zone from UTC, and then some: a month's name bounds its range. */
  private static final long ZONE_MARGIN_US = 2L * 86_400_000_000L;

  private final ArchiveStore store;
  private final Limits limits;
  private final ByteCache cache;
  /** Series lines recently read, each with its object's version then (a quarter of the bound). */
  private final ByteCache lineCache;
  private long reads = 0;
  private List<String> months;
  private long listedAt;
  private Catalog catalog;
  private volatile boolean catalogUsed = false;
  private volatile long preloadMs = -1;

  public ArchiveIndex(ArchiveStore store, long cacheBytes) {
    this(store, cacheBytes, Limits.DEFAULTS);
  }

  public ArchiveIndex(ArchiveStore store, long cacheBytes, Limits limits) {
    this.store = store;
    // Lines are kept only where a read gives its object's version (the local store): S3 keeps the whole bound for the index.
    long lines = store.versionsWithReads() ? cacheBytes / 4 : 0;
    this.lineCache = new ByteCache(lines);
    this.cache = new ByteCache(cacheBytes - lines);
    this.limits = limits;
  }

  public Limits limits() {
    return limits;
  }

  /** The index's cache (bytes and bound: with the lines'), and the lines' own. */
  Map<String, Object> cacheStats() {
    Map<String, Object> out = cache.stats();
    Map<String, Object> lines = lineCache.stats();
    out.put("bytes", (long) out.get("bytes") + (long) lines.get("bytes"));
    out.put("max.bytes", (long) out.get("max.bytes") + (long) lines.get("max.bytes"));
    out.put("lines", lines);
    return out;
  }


  /** Whether the last query found its months in the store's catalog (false: it listed the store). */
  public boolean catalogUsed() {
    return catalogUsed;
  }

  /** Month indexes and footers parsed so far (a cached one is not parsed again): for tests. */
  public synchronized long monthsRead() {
    return reads;
  }

  private synchronized void parsed() {
    reads++;
  }

  /** The committed months' prefixes: listed at each query, or kept as long as the store allows. */
  private List<String> months() throws IOException {
    long ttl = store.listingTtlMs();
    synchronized (this) {
      if (months != null && ttl > 0 && System.currentTimeMillis() - listedAt < ttl) return months;
    }
    List<String> listed = store.months();
    synchronized (this) {
      months = listed;
      listedAt = System.currentTimeMillis();
    }
    return listed;
  }

  /**
   * Every committed month whose range meets [start, end], in order, with its head: from the catalog when the
   * store has one (no listing; a dataset or month whose class range {@code classes} says cannot hold a
   * selected series is skipped with no request), else from a listing of the store and each month's
   * manifest.json. A month not committed (no manifest.json) or outside the window is not visited.
   */
  private void eachMonth(long start, long end, Classes classes, MonthVisitor visitor) throws IOException {
    Catalog catalog = catalog();
    catalogUsed = catalog != null;
    if (catalog == null) {
      for (String prefix : months()) {
        if (!mayMeet(prefix, start, end)) continue;
        Head head = head(prefix);
        if (head == null || head.startUs() > end || head.endUs() <= start) continue;
        visitor.visit(prefix, head);
      }
      return;
    }
    for (CatalogDataset d : catalog.datasets()) {
      if (!meets(d.span(), start, end)) continue;
      if (d.first() != null && !classes.mayHold(d.first(), d.last())) continue;
      for (CatalogMonth m : datasetCatalog(d).months()) {
        if (!meets(m.span(), start, end)) continue;
        if (m.index() == null) {
          // A month committed before indexes: its manifest.json, as without a catalog.
          Head head = head(m.prefix());
          if (head == null || head.startUs() > end || head.endUs() <= start) continue;
          visitor.visit(m.prefix(), head);
          continue;
        }
        if (m.startUs() > end || m.endUs() <= start) continue;
        // An index without series (no first, last) holds nothing.
        if (m.first() == null || !classes.mayHold(m.first(), m.last())) continue;
        visitor.visit(m.prefix(), new Head("catalog:" + m.index().key(), m.startUs(), m.endUs(), m.index(), List.of()));
      }
    }
  }

  /**
   * The archived series among {@code wanted} (selectors as TOSELECTOR writes them) with points in
   * [start, end] (both inclusive), in every committed month of every dataset whose range meets the
   * window. A month not committed (no manifest.json) or outside the window contributes nothing.
   */
  public Map<String, Hit> find(Set<String> wanted, long start, long end) throws IOException {
    Map<String, Hit> hits = new LinkedHashMap<>();
    if (wanted.isEmpty()) return hits;
    String[] sorted = wanted.toArray(new String[0]);
    Arrays.sort(sorted);
    String min = sorted[0];
    String max = sorted[sorted.length - 1];
    eachMonth(start, end, (first, last) -> last.compareTo(min) >= 0 && first.compareTo(max) <= 0, (prefix, head) -> {
      if (head.index() != null) {
        indexed(prefix, head.index(), sorted, start, end, hits);
        return;
      }
      Month month = legacy(prefix, head);
      // Few wanted series: look each up; many: one pass over the month's.
      if (wanted.size() <= month.series().size()) {
        for (String selector : wanted) add(hits, selector, month.series().get(selector), start, end);
      } else {
        for (Map.Entry<String, List<Entry>> e : month.series().entrySet()) {
          if (wanted.contains(e.getKey())) add(hits, e.getKey(), e.getValue(), start, end);
        }
      }
    });
    return hits;
  }

  /**
   * The archived series the selections match (Warp 10's selector matcher on the index's own metadata,
   * the token's owner, producer and application included) with points in [start, end], in every committed
   * month whose range meets the window. A series whose owner the index does not record (a month committed
   * before owners were, or without an index) is selected only when {@code hot} (FIND) gives it.
   */
  public Map<String, Hit> select(List<Selection> selections, long start, long end, HotFind hot) throws IOException {
    return select(selections, start, end, hot, null, 0);
  }

  /**
   * {@link #select}, the footers and blocks of the window's months that the selections may need read ahead
   * on {@code pool} (several months at once, until {@code deadline}, a {@link System#nanoTime}), then
   * selected in order on the caller's thread as without it.
   */
  public Map<String, Hit> select(List<Selection> selections, long start, long end, HotFind hot, ExecutorService pool, long deadline)
      throws IOException {
    Map<String, Hit> hits = new LinkedHashMap<>();
    List<Map.Entry<String, Head>> months = new ArrayList<>();
    eachMonth(start, end, (first, last) -> mayHoldClass(first, last, selections), (prefix, head) -> months.add(Map.entry(prefix, head)));
    if (pool != null) readAhead(months, selections, pool, deadline);
    // What FIND gives, asked at most once a call.
    final class Found {
      private Set<String> selectors;

      Set<String> get() throws IOException {
        if (selectors == null) selectors = hot.selectors();
        return selectors;
      }
    }
    Found found = new Found();
    for (Map.Entry<String, Head> visit : months) {
      String prefix = visit.getKey();
      Head head = visit.getValue();
      if (head.index() == null) {
        Month month = legacy(prefix, head);
        for (String selector : found.get()) add(hits, selector, month.series().get(selector), start, end);
        continue;
      }
      Footer footer = footer(head.index());
      for (int b = 0; b < footer.first().length; b++) {
        if (!mayHold(footer, b, selections)) continue;
        Block block = block(prefix, head.index(), footer, b);
        for (int i = 0; i < block.selectors().length; i++) {
          String selector = block.selectors()[i];
          boolean may = false;
          for (Selection s : selections) may |= s.mayMatch(selector, !block.attributes()[i].isEmpty());
          if (!may) continue;
          boolean selected;
          if (block.owners()[i].isEmpty()) {
            selected = found.get().contains(selector);
          } else {
            selected = visible(head.index().key(), block, i, selections);
          }
          if (selected) for (Entry en : refs(head.index().key(), block, i)) add(hits, selector, en, start, end);
        }
      }
    }
    return hits;
  }

  /**
   * The footers and blocks {@link #select} will read, read into the cache on the pool until the deadline:
   * at most as many tasks as the pool has threads, each a share of the months, so that a query over years
   * does not queue a task a month ahead of other calls' reads. What is not done by then is cancelled; a
   * failure here is left to the selection, which reads again and reports it.
   */
  private void readAhead(List<Map.Entry<String, Head>> months, List<Selection> selections, ExecutorService pool, long deadline) {
    List<Map.Entry<String, Head>> indexed = new ArrayList<>();
    for (Map.Entry<String, Head> m : months) if (m.getValue().index() != null) indexed.add(m);
    int tasks = Math.min(limits.threads(), indexed.size());
    if (tasks < 2) return;
    List<Future<?>> futures = new ArrayList<>(tasks);
    try {
      for (int t = 0; t < tasks; t++) {
        int first = t;
        futures.add(pool.submit(() -> {
          for (int i = first; i < indexed.size() && !Thread.currentThread().isInterrupted(); i += tasks) {
            String prefix = indexed.get(i).getKey();
            IndexRef ix = indexed.get(i).getValue().index();
            Footer footer = footer(ix);
            for (int b = 0; b < footer.first().length; b++) if (mayHold(footer, b, selections)) block(prefix, ix, footer, b);
          }
          return null;
        }));
      }
      for (Future<?> f : futures) f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException | RejectedExecutionException e) {
      // The selection reads what is missing, and says what is wrong.
    } finally {
      for (Future<?> f : futures) f.cancel(true);
    }
  }

  /** Whether a selector range [first, last] may hold a series of one of the selections: a class regex may match anything. */
  private static boolean mayHoldClass(String first, String last, List<Selection> selections) {
    for (Selection s : selections) {
      if (s.low == null || !(last.compareTo(s.low) < 0 || first.compareTo(s.high) >= 0)) return true;
    }
    return false;
  }

  /** Whether block b may hold a series of one of the selections: its selector range, then its filter. */
  private static boolean mayHold(Footer f, int b, List<Selection> selections) {
    for (Selection s : selections) {
      if (s.low != null && (f.last()[b].compareTo(s.low) < 0 || f.first()[b].compareTo(s.high) >= 0)) continue;
      if (f.bloom()[b] != null && !bloomHasAll(f.bloom()[b], f.bloomM()[b], f.bloomK()[b], s.labelOnly(f.attributes().get(b)))) continue;
      return true;
    }
    return false;
  }

  /** The same positions as src/archive/month-index.ts: SHA-256's first two 32-bit words, double hashing. */
  static long[] bloomHashes(String pair) {
    byte[] d;
    try {
      d = MessageDigest.getInstance("SHA-256").digest(pair.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    long h1 = ((d[0] & 0xffL) << 24) | ((d[1] & 0xffL) << 16) | ((d[2] & 0xffL) << 8) | (d[3] & 0xffL);
    long h2 = (((d[4] & 0xffL) << 24) | ((d[5] & 0xffL) << 16) | ((d[6] & 0xffL) << 8) | (d[7] & 0xffL)) | 1L;
    return new long[] { h1, h2 };
  }

  /** Whether a block's filter may hold every pair, given each pair's {@link #bloomHashes} (computed once a query). */
  static boolean bloomHasAll(byte[] bits, int m, int k, List<long[]> hashes) {
    for (long[] h : hashes) {
      for (int i = 0; i < k; i++) {
        int j = (int) ((h[0] + i * h[1]) % m);
        if ((bits[j >> 3] & (1 << (j & 7))) == 0) return false;
      }
    }
    return true;
  }

  /**
   * Whether the caller may see series i: each of its recorded (owner, producer) pairs — several when series
   * of several owners share its class and labels, and the archive holds their points as one — must be one
   * the selections' token reaches. A pair no selection matches hides the series.
   */
  private static boolean visible(String key, Block block, int i, List<Selection> selections) throws IOException {
    String[] owners = block.owners()[i].split(",", -1);
    String[] producers = block.producers()[i].split(",", -1);
    if (owners.length != producers.length) throw new IOException(key + ": an index entry's owners and producers do not pair");
    Map<String, String> attributes = null;
    if (!block.attributes()[i].isEmpty()) {
      Object a = parseValue(key + " attributes", block.attributes()[i]);
      attributes = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : map(a).entrySet()) attributes.put(String.valueOf(e.getKey()), String.valueOf(e.getValue()));
    }
    for (int p = 0; p < owners.length; p++) {
      io.warp10.continuum.store.thrift.data.Metadata m;
      try {
        m = Selection.metadata(block.selectors()[i], owners[p], producers[p], attributes);
      } catch (RuntimeException | java.io.UnsupportedEncodingException e) {
        throw new IOException(key + ": an index entry's selector does not decode");
      }
      boolean any = false;
      for (Selection s : selections) any |= s.matches(m);
      if (!any) return false;
    }
    return true;
  }

  /** Whether the month the prefix names (group/dataset/YYYY-MM/) can meet [start, end], in any time zone. */
  static boolean mayMeet(String prefix, long start, long end) {
    String[] parts = prefix.split("/");
    String name = parts[parts.length - 1];
    return mayMeet(name, name, start, end);
  }

  /** Whether the months from {@code first} to {@code last} (YYYY-MM, both included) can meet [start, end], in any time zone. */
  static boolean mayMeet(String first, String last, long start, long end) {
    return meets(span(first, last), start, end);
  }

  /**
   * The instants the months from {@code first} to {@code last} may cover in any time zone, [from, to); all
   * time when they are not months. Computed once as a catalog is read: a query compares numbers.
   */
  static long[] span(String first, String last) {
    if (!MONTH.matcher(first).matches() || !MONTH.matcher(last).matches()) return new long[] { Long.MIN_VALUE, Long.MAX_VALUE };
    try {
      long from = YearMonth.parse(first).atDay(1).atStartOfDay(ZoneOffset.UTC).toEpochSecond() * 1_000_000L - ZONE_MARGIN_US;
      long to = YearMonth.parse(last).plusMonths(1).atDay(1).atStartOfDay(ZoneOffset.UTC).toEpochSecond() * 1_000_000L + ZONE_MARGIN_US;
      return new long[] { from, to };
    } catch (RuntimeException e) {
      return new long[] { Long.MIN_VALUE, Long.MAX_VALUE };
    }
  }

  private static boolean meets(long[] span, long start, long end) {
    return span[0] <= end && span[1] > start;
  }

  private static void add(Map<String, Hit> hits, String selector, List<Entry> entries, long start, long end) {
    if (entries == null) return;
    for (Entry en : entries) add(hits, selector, en, start, end);
  }

  private static void add(Map<String, Hit> hits, String selector, Entry en, long start, long end) {
    if (en.first() > end || en.last() < start) return;
    Hit hit = hits.computeIfAbsent(selector, k -> new Hit(k, 0, new ArrayList<>(), new ArrayList<>()));
    if (!hit.parts().contains(en.part())) {
      hit.parts().add(en.part());
      hit.lines().add(en.line());
    }
    hits.put(selector, new Hit(selector, hit.points() + en.points(), hit.parts(), hit.lines()));
  }

  /** A committed month's head, from the cache while its manifest.json is the version it was read at; null if not committed. */
  private Head head(String prefix) throws IOException {
    String key = prefix + "manifest.json";
    String version = store.version(key);
    if (version == null) return null;
    Object cached = cache.get("head:" + prefix);
    if (cached instanceof Head h && h.version().equals(version)) return h;
    Map<String, Object> manifest = json(key);
    if (manifest == null) return null;
    Map<String, Object> range = map(manifest.get("range"));
    IndexRef index = null;
    List<Long> batches = new ArrayList<>();
    if (manifest.get("index") != null) {
      Map<String, Object> ix = map(manifest.get("index"));
      String ixKey = str(ix.get("key"));
      if (!ixKey.startsWith(prefix) || !INDEX.matcher(ixKey.substring(prefix.length())).matches()) {
        throw new IOException(key + " names an index object which is not one of the month's (index-<16 hex>.idx)");
      }
      Map<String, Object> footer = map(ix.get("footer"));
      index = new IndexRef(ixKey, indexFormat(key, ix.get("format")), num(footer.get("offset")), num(footer.get("bytes")), sha(footer.get("sha256")));
      ArchiveStore.checkRange(ixKey, index.footerOffset(), index.footerBytes(), Math.min(limits.maxReadBytes(), limits.maxManifestBytes()));
    } else {
      for (Object b : list(manifest.get("batches"))) batches.add(num(map(b).get("batch")));
    }
    Head head = new Head(version, num(range.get("startUs")), num(range.get("endUs")), index, batches);
    cache.put("head:" + prefix, head, 256 + 16L * batches.size() + prefix.length() * 4L);
    return head;
  }

  /**
   * What a query after a restart reads first, read ahead (at start, off the request path): the root
   * catalog, each dataset catalog, the footer and first block of each dataset's newest month (so that the
   * index's reading code is loaded before the first query), then the other months' footers, newest first,
   * while they take no more than half the index's cache (a footer holds its blocks' first and last selectors
   * and filters, and the month's parts: small next to its blocks). A failure is left to the first query,
   * which reads them again and says what is wrong.
   */
  public void preload() {
    preload(() -> {});
  }

  /** {@link #preload}, then {@code then} (a failure of either left to the first query), before {@link #preloadMs} is set. */
  public void preload(Runnable then) {
    long t0 = System.nanoTime();
    try {
      Catalog c = catalog();
      if (c == null) return;
      List<CatalogMonth> indexed = new ArrayList<>();
      for (CatalogDataset d : c.datasets()) {
        List<CatalogMonth> months = datasetCatalog(d).months();
        for (CatalogMonth m : months) if (m.index() != null) indexed.add(m);
        CatalogMonth newest = months.isEmpty() ? null : months.get(months.size() - 1);
        if (newest != null && newest.index() != null) {
          Footer f = footer(newest.index());
          if (f.first().length > 0) block(newest.prefix(), newest.index(), f, 0);
        }
      }
      // Newest month first (the name's YYYY-MM), whatever the dataset.
      indexed.sort(Comparator.comparing((CatalogMonth m) -> m.prefix().substring(m.prefix().length() - 8)).reversed());
      for (CatalogMonth m : indexed) {
        if (cache.bytes() > cache.maxBytes() / 2) break;
        try {
          footer(m.index());
        } catch (IOException | RuntimeException e) {
          // That month's first query reports it; the others are read ahead still.
        }
      }
    } catch (IOException | RuntimeException e) {
      // The first query reports it.
    }
    try {
      then.run();
    } catch (RuntimeException e) {
      // As above.
    } finally {
      preloadMs = Math.max(0, (System.nanoTime() - t0) / 1_000_000);
    }
  }

  /** An archived series and a range of months to read it over. */
  public record Sample(String selector, long startUs, long endUs) {}

  /**
   * Up to {@code n} series of the dataset whose newest month's index has the most blocks (the largest,
   * most likely), each the first of a block of that month, over all its months with an index (for the
   * start's warm queries); none when the store has no catalog or no index.
   */
  public List<Sample> samples(int n) throws IOException {
    Catalog c = catalog();
    if (c == null) return List.of();
    List<CatalogMonth> best = null;
    Footer bestFooter = null;
    for (CatalogDataset d : c.datasets()) {
      List<CatalogMonth> months = new ArrayList<>();
      for (CatalogMonth m : datasetCatalog(d).months()) if (m.index() != null && m.first() != null) months.add(m);
      if (months.isEmpty()) continue;
      Footer f = footer(months.get(months.size() - 1).index());
      if (bestFooter == null || f.first().length > bestFooter.first().length) {
        best = months;
        bestFooter = f;
      }
    }
    List<Sample> out = new ArrayList<>();
    if (best == null) return out;
    CatalogMonth newest = best.get(best.size() - 1);
    for (int b = 0; b < bestFooter.first().length && out.size() < n; b++) {
      out.add(new Sample(bestFooter.first()[b], best.get(0).startUs(), newest.endUs()));
    }
    return out;
  }

  /** How long the start's read-ahead took, or -1 while it runs. */
  public long preloadMs() {
    return preloadMs;
  }

  /**
   * The store's catalog at its current version (one stat or HEAD; read and parsed again only when it changed);
   * null when the store has none.
   */
  private Catalog catalog() throws IOException {
    String version = store.version(CATALOG);
    if (version == null) return null;
    synchronized (this) {
      if (catalog != null && catalog.version().equals(version)) return catalog;
    }
    // The version before the read: a rewrite during it is seen at the next query.
    byte[] bytes = store.get(CATALOG, limits.maxManifestBytes());
    if (bytes == null) return null; // removed since its HEAD: as without a catalog
    Catalog parsed;
    try {
      parsed = parseCatalog(version, bytes);
    } catch (IOException e) {
      throw named(CATALOG, e);
    }
    synchronized (this) {
      catalog = parsed;
    }
    return parsed;
  }

  private Catalog parseCatalog(String version, byte[] bytes) throws IOException {
    Map<String, Object> doc = parse(CATALOG, bytes);
    if (!CATALOG_FORMAT.equals(doc.get("format"))) throw new IOException(CATALOG + " is not a catalog of the format " + CATALOG_FORMAT);
    List<CatalogDataset> datasets = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (Object o : list(doc.get("datasets"))) {
      Map<String, Object> d = map(o);
      String group = str(d.get("group"));
      String dataset = str(d.get("dataset"));
      if (!ArchiveStore.SEGMENT.matcher(group).matches() || !ArchiveStore.SEGMENT.matcher(dataset).matches()) {
        throw new IOException(CATALOG + " names a group or dataset which is not a plain key segment");
      }
      String prefix = group + "/" + dataset + "/";
      if (!seen.add(prefix)) throw new IOException(CATALOG + " names " + prefix + " twice");
      String key = str(d.get("key"));
      String sha = sha(d.get("sha256"));
      Matcher km = DATASET_CATALOG.matcher(key.startsWith(prefix) ? key.substring(prefix.length()) : "");
      if (!km.matches()) {
        throw new IOException(CATALOG + " names a dataset catalog for " + prefix + " which is not one of its own (" + prefix + "catalog-<16 hex>.json)");
      }
      if (!km.group(1).equals(sha.substring(0, 16))) throw new IOException(CATALOG + ": " + key + " is not named by its SHA-256");
      String firstMonth = monthName(d.get("firstMonth"), prefix);
      String lastMonth = monthName(d.get("lastMonth"), prefix);
      if (firstMonth.compareTo(lastMonth) > 0) throw new IOException(CATALOG + ": " + prefix + " has its first month after its last");
      String first = null;
      String last = null;
      if (d.get("classes") != null) {
        Map<String, Object> classes = map(d.get("classes"));
        first = str(classes.get("first"));
        last = str(classes.get("last"));
        if (first.compareTo(last) > 0) throw new IOException(CATALOG + ": " + prefix + " has its class range out of order");
      }
      datasets.add(new CatalogDataset(group, dataset, key, num(d.get("bytes")), sha, firstMonth, lastMonth, first, last, span(firstMonth, lastMonth)));
    }
    // In the listing's order (groups, then their datasets, by name): a series' parts come in the same order either way.
    datasets.sort(Comparator.comparing(CatalogDataset::group).thenComparing(CatalogDataset::dataset));
    return new Catalog(version, List.copyOf(datasets));
  }

  /** A month's name as a catalog gives it: YYYY-MM, a real month. */
  private static String monthName(Object o, String where) throws IOException {
    String name = str(o);
    try {
      if (MONTH.matcher(name).matches()) {
        YearMonth.parse(name);
        return name;
      }
    } catch (RuntimeException e) {
      // not a month: below
    }
    throw new IOException("the catalog of " + where + " names a month which is not YYYY-MM");
  }

  /** A dataset's catalog: from the cache (it is named by its content), else read and checked by its length and SHA-256. */
  private DatasetCatalog datasetCatalog(CatalogDataset d) throws IOException {
    String cacheKey = "catalog:" + d.key();
    if (cache.get(cacheKey) instanceof DatasetCatalog dc) return dc;
    if (d.bytes() <= 0 || d.bytes() > limits.maxManifestBytes()) {
      throw new IOException(d.key() + ": " + CATALOG + " gives it " + d.bytes() + " bytes, not within the limit of " + limits.maxManifestBytes()
          + " (archive.fetch.max.manifest.bytes)");
    }
    byte[] bytes = store.get(d.key(), limits.maxManifestBytes());
    if (bytes == null) throw new IOException(d.key() + " is missing (" + CATALOG + " names it)");
    if (bytes.length != d.bytes()) throw new IOException(d.key() + " is not the length " + CATALOG + " gives it");
    if (!sha256(bytes).equals(d.sha256())) throw new IOException(d.key() + " does not match its SHA-256 in " + CATALOG);
    DatasetCatalog dc;
    try {
      dc = parseDatasetCatalog(d, bytes);
    } catch (IOException e) {
      throw named(d.key(), e);
    }
    cache.put(cacheKey, dc, 2L * bytes.length + 256L * dc.months().size() + 256);
    return dc;
  }

  private DatasetCatalog parseDatasetCatalog(CatalogDataset d, byte[] bytes) throws IOException {
    String key = d.key();
    Map<String, Object> doc = parse(key, bytes);
    if (!DATASET_CATALOG_FORMAT.equals(doc.get("format"))) throw new IOException(key + " is not a dataset catalog of the format " + DATASET_CATALOG_FORMAT);
    if (!d.group().equals(doc.get("group")) || !d.dataset().equals(doc.get("dataset"))) {
      throw new IOException(key + " is not the catalog of " + d.group() + "/" + d.dataset());
    }
    List<CatalogMonth> months = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (Object o : list(doc.get("months"))) {
      Map<String, Object> m = map(o);
      String name = monthName(m.get("month"), d.group() + "/" + d.dataset() + "/");
      if (!seen.add(name)) throw new IOException(key + " gives month " + name + " twice");
      if (name.compareTo(d.firstMonth()) < 0 || name.compareTo(d.lastMonth()) > 0) {
        throw new IOException(key + " gives month " + name + ", outside the months " + CATALOG + " gives it");
      }
      String prefix = d.group() + "/" + d.dataset() + "/" + name + "/";
      Map<String, Object> range = map(m.get("range"));
      IndexRef index = null;
      String first = null;
      String last = null;
      if (m.get("index") != null) {
        Map<String, Object> ix = map(m.get("index"));
        String ixKey = str(ix.get("key"));
        if (!ixKey.startsWith(prefix) || !INDEX.matcher(ixKey.substring(prefix.length())).matches()) {
          throw new IOException(key + ": month " + name + " names an index object which is not one of the month's (index-<16 hex>.idx)");
        }
        Map<String, Object> footer = map(ix.get("footer"));
        index = new IndexRef(ixKey, indexFormat(key, ix.get("format")), num(footer.get("offset")), num(footer.get("bytes")),
            sha(footer.get("sha256")));
        ArchiveStore.checkRange(ixKey, index.footerOffset(), index.footerBytes(), Math.min(limits.maxReadBytes(), limits.maxManifestBytes()));
        if (ix.get("first") != null || ix.get("last") != null) {
          first = str(ix.get("first"));
          last = str(ix.get("last"));
          if (first.compareTo(last) > 0) throw new IOException(key + ": month " + name + " has its index's selector range out of order");
        }
      }
      months.add(new CatalogMonth(prefix, num(range.get("startUs")), num(range.get("endUs")), index, first, last, span(name, name)));
    }
    months.sort(Comparator.comparing(CatalogMonth::prefix));
    return new DatasetCatalog(List.copyOf(months));
  }

  /** An error of a catalog's content, named by the catalog's key (relative to the archive) when it does not name it yet. */
  private static IOException named(String key, IOException e) {
    String message = String.valueOf(e.getMessage());
    return message.startsWith("the archive index holds") || message.startsWith("the catalog of") ? new IOException(key + ": " + message) : e;
  }

  /** The hits of a month with an index object: its footer, then only the blocks whose range holds a wanted selector. */
  private void indexed(String prefix, IndexRef ix, String[] wanted, long start, long end, Map<String, Hit> hits) throws IOException {
    Footer footer = footer(ix);
    for (int b = 0; b < footer.first().length; b++) {
      // The wanted selectors inside the block's [first, last]: none, and the block is not read.
      int from = lowerBound(wanted, footer.first()[b]);
      if (from >= wanted.length || wanted[from].compareTo(footer.last()[b]) > 0) continue;
      Block block = block(prefix, ix, footer, b);
      for (int w = from; w < wanted.length && wanted[w].compareTo(footer.last()[b]) <= 0; w++) {
        int i = lowerBound(block.selectors(), wanted[w]);
        for (; i < block.selectors().length && block.selectors()[i].equals(wanted[w]); i++) {
          for (Entry en : refs(ix.key(), block, i)) add(hits, wanted[w], en, start, end);
        }
      }
    }
  }

  private static int lowerBound(String[] sorted, String key) {
    int lo = 0;
    int hi = sorted.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (sorted[mid].compareTo(key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private Footer footer(IndexRef ix) throws IOException {
    String cacheKey = "footer:" + ix.key();
    if (cache.get(cacheKey) instanceof Footer f) return f;
    byte[] gz = checked(ix.key(), ix.footerOffset(), ix.footerBytes(), ix.footerSha(), "footer");
    Map<String, Object> doc = parse(ix.key() + " footer", Bounded.gunzip(gz, limits.maxInflatedBytes(), ix.key() + " footer"));
    Part[] parts = null;
    long size = 128;
    // The footer's format is the one its reference names: @2 lists the month's parts, @1 lists none.
    if (!ix.format().equals(doc.get("format"))) throw new IOException(ix.key() + " footer is not of the format its reference names");
    if (INDEX_FORMAT.equals(ix.format())) {
      if (!(doc.get("parts") instanceof List<?> table)) throw new IOException(ix.key() + " footer lists no parts");
      // The month's objects: resolved under the month's own prefix, as the index object's key has it.
      String prefix = ix.key().substring(0, ix.key().lastIndexOf('/') + 1);
      parts = parts(ix.key() + " footer", prefix, list(table));
      size += PART_BYTES * parts.length;
    } else if (doc.get("parts") != null) {
      throw new IOException(ix.key() + " footer of format " + INDEX_FORMAT_1 + " lists parts");
    }
    List<Object> blocks = list(doc.get("blocks"));
    int n = blocks.size();
    Footer f = new Footer(new String[n], new String[n], new long[n], new long[n], new String[n], new byte[n][], new int[n], new int[n],
        new ArrayList<>(n), parts);
    for (int i = 0; i < n; i++) {
      Map<String, Object> b = map(blocks.get(i));
      f.first()[i] = str(b.get("first"));
      f.last()[i] = str(b.get("last"));
      f.offset()[i] = num(b.get("offset"));
      f.bytes()[i] = num(b.get("bytes"));
      f.sha()[i] = sha(b.get("sha256"));
      if (b.get("bloom") instanceof Map<?, ?> bloom) {
        long m = num(bloom.get("m"));
        long k = num(bloom.get("k"));
        byte[] bits;
        try {
          bits = Base64.getDecoder().decode(str(bloom.get("bits")));
        } catch (IllegalArgumentException e) {
          throw new IOException(ix.key() + ": a block filter is not base64");
        }
        if (m <= 0 || m > 8L * bits.length || k <= 0 || k > 32) throw new IOException(ix.key() + ": a block filter is not (m, k, bits)");
        f.bloom()[i] = bits;
        f.bloomM()[i] = (int) m;
        f.bloomK()[i] = (int) k;
        size += bits.length;
      }
      // The attribute names of the block's series: a selector's pair of such a name may match an attribute.
      Set<String> names = new HashSet<>();
      for (Object a : list(b.get("attributes"))) names.add(str(a));
      f.attributes().add(names);
      if (i > 0 && f.first()[i].compareTo(f.last()[i - 1]) < 0) throw new IOException(ix.key() + ": its blocks are not in order");
      ArchiveStore.checkRange(ix.key(), f.offset()[i], f.bytes()[i], limits.maxReadBytes());
      size += 2L * (f.first()[i].length() + f.last()[i].length()) + 200;
    }
    parsed();
    cache.put(cacheKey, f, size);
    return f;
  }

  private Block block(String prefix, IndexRef ix, Footer f, int b) throws IOException {
    String cacheKey = "block:" + ix.key() + "#" + b;
    if (cache.get(cacheKey) instanceof Block block) return block;
    byte[] gz = checked(ix.key(), f.offset()[b], f.bytes()[b], f.sha()[b], "block " + b);
    String text = new String(Bounded.gunzip(gz, limits.maxInflatedBytes(), ix.key() + " block " + b), StandardCharsets.UTF_8);
    Part[] parts = f.parts();
    int[] partIds = null;
    int nl = -1;
    if (parts == null) {
      // Format @1: the block's own part table, its first line.
      nl = text.indexOf('\n');
      if (nl < 0) throw new IOException(ix.key() + " block " + b + " has no part table");
      parts = parts(ix.key() + " block " + b, prefix, list(parseValue(ix.key() + " block " + b, text.substring(0, nl))));
    }
    List<String> selectors = new ArrayList<>();
    List<String> owners = new ArrayList<>();
    List<String> producers = new ArrayList<>();
    List<String> attributes = new ArrayList<>();
    List<String> refs = new ArrayList<>();
    int pos = nl + 1;
    while (pos < text.length()) {
      int eol = text.indexOf('\n', pos);
      if (eol < 0) eol = text.length();
      if (eol > pos) {
        String[] fields = text.substring(pos, eol).split("\t", -1);
        if (fields.length != 5 || fields[0].isEmpty() || fields[0].indexOf('{') <= 0 || !fields[0].endsWith("}")) {
          throw new IOException(ix.key() + " block " + b + " has a line that is not an index entry");
        }
        String selector = fields[0];
        if (!selectors.isEmpty() && selector.compareTo(selectors.get(selectors.size() - 1)) < 0) {
          throw new IOException(ix.key() + " block " + b + ": its series are not in order");
        }
        selectors.add(selector);
        owners.add(fields[1]);
        producers.add(fields[2]);
        attributes.add(fields[3]);
        refs.add(fields[4]);
      }
      pos = eol + 1;
    }
    if (f.parts() != null) {
      // Only the parts this block's series use, so that a cached block holds no month's table (the footer's, counted there).
      partIds = usedParts(ix.key() + " block " + b, refs, f.parts().length);
      Part[] used = new Part[partIds.length];
      for (int i = 0; i < used.length; i++) used[i] = f.parts()[partIds[i]];
      parts = used;
    }
    Block block = new Block(parts, partIds, selectors.toArray(new String[0]), owners.toArray(new String[0]), producers.toArray(new String[0]),
        attributes.toArray(new String[0]), refs.toArray(new String[0]));
    cache.put(cacheKey, block, 2L * text.length() + 64L * selectors.size() + PART_BYTES * parts.length);
    return block;
  }

  /** The footer's numbers of the parts a block's entries name, ascending, each in [0, count). */
  private static int[] usedParts(String where, List<String> refs, int count) throws IOException {
    java.util.BitSet used = new java.util.BitSet();
    for (String r : refs) {
      for (String ref : r.split(",")) {
        int colon = ref.indexOf(':');
        int p;
        try {
          p = Integer.parseInt(colon < 0 ? ref : ref.substring(0, colon));
        } catch (NumberFormatException e) {
          p = -1;
        }
        if (p < 0 || p >= count) throw new IOException(where + ": an index entry names a part the footer does not list");
        used.set(p);
      }
    }
    return used.stream().toArray();
  }

  /** The format of an index its manifest or catalog names: one this extension reads. */
  private static String indexFormat(String key, Object format) throws IOException {
    if (INDEX_FORMAT.equals(format) || INDEX_FORMAT_1.equals(format)) return (String) format;
    throw new IOException(key + " names an index which is not of the format " + INDEX_FORMAT + " or " + INDEX_FORMAT_1);
  }

  /** A part table, {@code [[object, offset, bytes, sha256, whole], …]}: each object one of the month's, under its prefix. */
  private Part[] parts(String where, String prefix, List<Object> table) throws IOException {
    Part[] parts = new Part[table.size()];
    for (int i = 0; i < parts.length; i++) {
      List<Object> row = list(table.get(i));
      if (row.size() != 5) throw new IOException(where + ": a part is not [object, offset, bytes, sha256, whole]");
      String name = str(row.get(0));
      if (!OBJECT.matcher(name).matches()) throw new IOException(where + " names an object which is not one of the month's objects");
      boolean whole = num(row.get(4)) == 1;
      parts[i] = new Part(prefix + name, num(row.get(1)), num(row.get(2)), sha(row.get(3)), whole);
      ArchiveStore.checkRange(parts[i].object(), parts[i].offset(), parts[i].length(), limits.maxReadBytes());
    }
    return parts;
  }

  /** A series' entries of an index block: {@code part:points:first:last[:line],...}, export first. */
  private static List<Entry> refs(String key, Block block, int i) throws IOException {
    List<Entry> out = new ArrayList<>(2);
    for (String ref : block.refs()[i].split(",")) {
      String[] f = ref.split(":");
      try {
        if (f.length != 4 && f.length != 5) throw new NumberFormatException();
        int p = Integer.parseInt(f[0]);
        // In @2 the entry numbers the footer's parts: the block holds those it uses, ascending.
        if (block.partIds() != null) p = java.util.Arrays.binarySearch(block.partIds(), p);
        if (p < 0 || p >= block.parts().length) throw new NumberFormatException();
        int line = f.length == 5 ? Integer.parseInt(f[4]) : -1;
        if (f.length == 5 && (line < 0 || block.parts()[p].whole())) throw new NumberFormatException();
        out.add(new Entry(Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]), block.parts()[p], line));
      } catch (NumberFormatException e) {
        throw new IOException(key + ": an index entry's parts are not part:points:first:last[:line]");
      }
    }
    return out;
  }

  /** Bytes of the index object at [offset, offset + length), checked against the SHA-256 its manifest or footer gives. */
  private byte[] checked(String key, long offset, long length, String sha, String what) throws IOException {
    byte[] bytes = store.range(key, offset, length);
    if (!sha256(bytes).equals(sha)) throw new IOException(key + " " + what + " does not match its SHA-256");
    return bytes;
  }

  /** A month of an archive without index, parsed from its batch manifests (kept while they are unchanged). */
  private Month legacy(String prefix, Head head) throws IOException {
    String cacheKey = "legacy:" + prefix;
    if (cache.get(cacheKey) instanceof Month cached && cached.batchVersions().size() == head.batches().size()) {
      boolean same = true;
      for (Map.Entry<String, String> b : cached.batchVersions().entrySet()) {
        if (!b.getValue().equals(store.version(b.getKey()))) {
          same = false;
          break;
        }
      }
      if (same) return cached;
    }
    Month month = read(prefix, head);
    parsed();
    cache.put(cacheKey, month, 300L * month.size() + 1024);
    return month;
  }

  private Month read(String prefix, Head head) throws IOException {
    Map<String, String> versions = new LinkedHashMap<>();
    Map<String, List<Entry>> series = new HashMap<>();
    int size = 0;
    for (long batch : head.batches()) {
      String key = prefix + String.format("batch-%05d.json", batch);
      // The version before the read: a rewrite during it is seen at the next query.
      String v = store.version(key);
      Map<String, Object> bm = json(key);
      if (bm == null || v == null) throw new IOException(prefix + ": batch " + batch + " has no manifest");
      versions.put(key, v);
      size += entries(prefix, series, map(bm.get("object")), list(bm.get("series")));
      for (Object sup : list(bm.get("supplements"))) {
        Map<String, Object> s = map(sup);
        size += entries(prefix, series, map(s.get("object")), list(s.get("series")));
      }
    }
    return new Month(versions, series, size);
  }

  private int entries(String prefix, Map<String, List<Entry>> out, Map<String, Object> object, List<Object> series) throws IOException {
    String key = str(object.get("key"));
    // Only the month's own objects: a manifest cannot send a read anywhere else in (or out of) the store.
    if (!key.startsWith(prefix) || !OBJECT.matcher(key.substring(prefix.length())).matches()) {
      throw new IOException(prefix + ": a batch manifest names an object key which is not one of the month's objects (batch-NNNNN[.late-NN][.e-HASH].wrap.gz)");
    }
    List<Object> members = list(object.get("members"));
    int n = 0;
    for (Object e : series) {
      Map<String, Object> entry = map(e);
      long points = num(entry.get("points"));
      if (points == 0) continue;
      String selector = str(entry.get("selector"));
      Part part;
      int line = -1;
      Object m = entry.get("member");
      if (m != null && !members.isEmpty()) {
        long i = num(m);
        if (i < 0 || i >= members.size()) throw new IOException(key + ": a series names member " + i + " of " + members.size());
        Map<String, Object> mem = map(members.get((int) i));
        part = new Part(key, num(mem.get("offset")), num(mem.get("bytes")), sha(mem.get("sha256")), false);
        ArchiveStore.checkRange(key, part.offset(), part.length(), limits.maxReadBytes());
        if (entry.get("line") != null) {
          long l = num(entry.get("line"));
          if (l < 0 || l > Integer.MAX_VALUE) throw new IOException(key + ": a series names line " + l + " of its member");
          line = (int) l;
        }
      } else {
        // An archive written before seekable objects: the whole object, checked by its own hash.
        part = new Part(key, 0, num(object.get("bytes")), sha(object.get("sha256")), true);
        ArchiveStore.checkRange(key, 0, part.length(), limits.maxReadBytes());
      }
      out.computeIfAbsent(selector, k -> new ArrayList<>(1)).add(new Entry(points, num(entry.get("first")), num(entry.get("last")), part, line));
      n++;
    }
    return n;
  }

  /** The lines of one part: its bytes read at their offset, checked against the index, gunzipped. */
  public List<String> lines(Part part) throws IOException {
    List<String> out = new ArrayList<>();
    String text = new String(Bounded.gunzip(bytes(part), limits.maxInflatedBytes(), where(part)), StandardCharsets.US_ASCII);
    for (String line : text.split("\n")) if (!line.isEmpty()) out.add(line);
    return out;
  }

  /**
   * Lines {@code wanted} (sorted, distinct, from 0) of one part, by their number: the part is inflated only
   * up to the last of them. A number past the part's last line is left out of the map.
   */
  public Map<Integer, String> lines(Part part, int[] wanted) throws IOException {
    // A line read before, from the same member (object, offset, length and SHA-256 as the index names it
    // now: what a read checks), while its object is the version it was read at: an object rewritten,
    // changed or removed since is read again. A change that leaves size, mtime and inode as they were (bit
    // rot under the file system) goes unseen while the line is kept: verify-archive reads every member.
    String base = "line:" + part.object() + "@" + part.offset() + "+" + part.length() + (part.whole() ? "w" : "") + "#" + part.sha256() + ":";
    Map<Integer, String> kept = new HashMap<>();
    String version = null;
    for (int w : wanted) {
      if (!(lineCache.get(base + w) instanceof Line l)) break;
      if (version == null && (version = store.version(part.object())) == null) break;
      if (!version.equals(l.version())) break;
      kept.put(w, l.text());
    }
    if (kept.size() == wanted.length) return kept;
    ArchiveStore.Versioned read = part.whole() ? new ArchiveStore.Versioned(bytes(part), null) : versioned(part);
    Map<Integer, String> out = Bounded.gunzipLines(read.bytes(), limits.maxInflatedBytes(), where(part), wanted);
    if (read.version() != null) {
      for (Map.Entry<Integer, String> e : out.entrySet()) {
        String key = base + e.getKey();
        lineCache.put(key, new Line(read.version(), e.getValue()), 2L * (key.length() + e.getValue().length()) + 96);
      }
    }
    return out;
  }

  /** A series' line of a member, and its object's version when it was read. */
  private record Line(String version, String text) {}

  /** A part as an error names it: its object relative to the archive, and the member's offset. */
  static String where(Part part) {
    return part.object() + (part.whole() ? "" : " member at byte " + part.offset());
  }

  /** One part's bytes, read at their offset and checked against the index (members are never kept; lines read from them may be: {@link #lines(Part, int[])}). */
  private byte[] bytes(Part part) throws IOException {
    // A whole member read (line by line) keeps nothing: no version is needed.
    if (!part.whole()) return checkedPart(part, store.range(part.object(), part.offset(), part.length()));
    byte[] bytes = store.get(part.object(), limits.maxReadBytes());
    if (bytes == null) throw new IOException(part.object() + " is missing");
    return checkedPart(part, bytes);
  }

  /** A member's bytes, checked against the index, with its object's version when the store gives it. */
  private ArchiveStore.Versioned versioned(Part part) throws IOException {
    ArchiveStore.Versioned read = store.rangeVersioned(part.object(), part.offset(), part.length());
    checkedPart(part, read.bytes());
    return read;
  }

  private byte[] checkedPart(Part part, byte[] bytes) throws IOException {
    String where = where(part);
    // Whatever was read is named by where it is, never by its content or its hash: a damaged or foreign
    // part tells nothing of what it holds.
    if (bytes.length != part.length() && !part.whole()) throw new IOException(where + " is not the length its index says");
    if (!sha256(bytes).equals(part.sha256())) throw new IOException(where + " does not match its SHA-256 in the index");
    return bytes;
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A JSON document of the store (gzip or plain, as the offloader reads them); null when absent. */
  @SuppressWarnings("unchecked")
  private Map<String, Object> json(String key) throws IOException {
    byte[] bytes = store.get(key, limits.maxManifestBytes());
    if (bytes == null) return null;
    if (Bounded.isGzip(bytes)) bytes = Bounded.gunzip(bytes, limits.maxInflatedBytes(), key);
    return parse(key, bytes);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> parse(String key, byte[] bytes) throws IOException {
    Object o = parseValue(key, new String(bytes, StandardCharsets.UTF_8));
    if (!(o instanceof Map)) throw new IOException(key + " is not a JSON object");
    return (Map<String, Object>) o;
  }

  private static Object parseValue(String key, String text) throws IOException {
    try {
      return JsonUtils.jsonToObject(text);
    } catch (IOException | RuntimeException e) {
      throw new IOException(key + " is not readable JSON");
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object o) throws IOException {
    if (o instanceof Map) return (Map<String, Object>) o;
    throw new IOException("the archive index holds " + brief(o) + " where an object was expected");
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Object o) throws IOException {
    if (o == null) return List.of();
    if (o instanceof List) return (List<Object>) o;
    throw new IOException("the archive index holds " + brief(o) + " where a list was expected");
  }

  private static long num(Object o) throws IOException {
    if (o instanceof Number n) return n.longValue();
    throw new IOException("the archive index holds " + brief(o) + " where a number was expected");
  }

  private static String sha(Object o) throws IOException {
    if (o instanceof String s && SHA256.matcher(s).matches()) return s;
    throw new IOException("the archive index holds " + brief(o) + " where a SHA-256 was expected");
  }

  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

  /** A value of the index as an error may show it: short, printable. */
  private static String brief(Object o) {
    return o == null ? "nothing" : ArchiveStore.printable(String.valueOf(o)).substring(0, Math.min(40, ArchiveStore.printable(String.valueOf(o)).length()));
  }

  private static String str(Object o) throws IOException {
    if (o instanceof String s) return s;
    throw new IOException("the archive index holds " + brief(o) + " where a string was expected");
  }
}
