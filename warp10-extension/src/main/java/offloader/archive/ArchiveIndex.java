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
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 * <p>What is kept between queries ({@link ByteCache}, bounded in bytes): each month's head (its range and
 * index reference, checked against the manifest's version at each query: a file stat, an S3 HEAD), index
 * footers and blocks (index objects are named by their content, so they never go stale), and months of
 * archives without an index. A month whose name puts it outside the window costs nothing.
 */
public final class ArchiveIndex {

  /** One part of an object to read: a member (offset, length, SHA-256), or the whole object. */
  public record Part(String object, long offset, long length, String sha256, boolean whole) {}

  /** A series of the index inside the window, and where its lines are, in object order. */
  public record Hit(String selector, long points, List<Part> parts) {}

  /** One object's entry of a series in a month: its points, first and last tick, and its part. */
  private record Entry(long points, long first, long last, Part part) {}

  /** A committed month of an archive without index, parsed: the versions it was read at, its series' entries. */
  private record Month(Map<String, String> batchVersions, Map<String, List<Entry>> series, int size) {}

  /** What a month's manifest.json says that a query needs: its range, and its index (or its batches). */
  private record Head(String version, long startUs, long endUs, IndexRef index, List<Long> batches) {}

  /** Where a month's index object is, and its footer. */
  private record IndexRef(String key, long footerOffset, long footerBytes, String footerSha) {}

  /** An index footer: its blocks' first and last selectors, offsets, lengths and SHA-256, in order. */
  private record Footer(String[] first, String[] last, long[] offset, long[] bytes, String[] sha, byte[][] bloom, int[] bloomM, int[] bloomK) {}

  /** An index block: its part table and its series, sorted by selector. */
  private record Block(Part[] parts, String[] selectors, String[] owners, String[] producers, String[] attributes, String[] refs) {}

  /** The series FIND gives the caller (asked at most once a call, and only when an archived series' owner is not recorded). */
  public interface HotFind {
    Set<String> selectors() throws IOException;
  }

  static final Pattern MONTH = Pattern.compile("\\d{4}-\\d{2}");

  /** The objects a month's manifests may name, relative to the month's prefix: its batches and their supplements. */
  static final Pattern OBJECT = Pattern.compile("batch-\\d{5}(\\.late-\\d{2})?\\.wrap\\.gz");

  /** A month's index object, relative to the month's prefix. */
  static final Pattern INDEX = Pattern.compile("index-[0-9a-f]{16}\\.idx");

  /** The widest offset of a dataset's time zone from UTC, and then some: a month's name bounds its range. */
  private static final long ZONE_MARGIN_US = 2L * 86_400_000_000L;

  private final ArchiveStore store;
  private final Limits limits;
  private final ByteCache cache;
  private long reads = 0;
  private List<String> months;
  private long listedAt;

  public ArchiveIndex(ArchiveStore store, long cacheBytes) {
    this(store, cacheBytes, Limits.DEFAULTS);
  }

  public ArchiveIndex(ArchiveStore store, long cacheBytes, Limits limits) {
    this.store = store;
    this.cache = new ByteCache(cacheBytes);
    this.limits = limits;
  }

  public Limits limits() {
    return limits;
  }

  Map<String, Object> cacheStats() {
    return cache.stats();
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
   * The archived series among {@code wanted} (selectors as TOSELECTOR writes them) with points in
   * [start, end] (both inclusive), in every committed month of every dataset whose range meets the
   * window. A month not committed (no manifest.json) or outside the window contributes nothing.
   */
  public Map<String, Hit> find(Set<String> wanted, long start, long end) throws IOException {
    Map<String, Hit> hits = new LinkedHashMap<>();
    if (wanted.isEmpty()) return hits;
    String[] sorted = wanted.toArray(new String[0]);
    Arrays.sort(sorted);
    for (String prefix : months()) {
      if (!mayMeet(prefix, start, end)) continue;
      Head head = head(prefix);
      if (head == null || head.startUs() > end || head.endUs() <= start) continue;
      if (head.index() != null) {
        indexed(prefix, head.index(), sorted, start, end, hits);
        continue;
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
    }
    return hits;
  }

  /**
   * The archived series the selections match (Warp 10's selector matcher on the index's own metadata,
   * the token's owner, producer and application included) with points in [start, end], in every committed
   * month whose range meets the window. A series whose owner the index does not record (a month committed
   * before owners were, or without an index) is selected only when {@code hot} (FIND) gives it.
   */
  public Map<String, Hit> select(List<Selection> selections, long start, long end, HotFind hot) throws IOException {
    Map<String, Hit> hits = new LinkedHashMap<>();
    Set<String> found = null;
    for (String prefix : months()) {
      if (!mayMeet(prefix, start, end)) continue;
      Head head = head(prefix);
      if (head == null || head.startUs() > end || head.endUs() <= start) continue;
      if (head.index() == null) {
        if (found == null) found = hot.selectors();
        Month month = legacy(prefix, head);
        for (String selector : found) add(hits, selector, month.series().get(selector), start, end);
        continue;
      }
      Footer footer = footer(head.index());
      for (int b = 0; b < footer.first().length; b++) {
        if (!mayHold(footer, b, selections)) continue;
        Block block = block(prefix, head.index(), footer, b);
        for (int i = 0; i < block.selectors().length; i++) {
          String selector = block.selectors()[i];
          boolean inRange = false;
          for (Selection s : selections) inRange |= s.inClassRange(selector);
          if (!inRange) continue;
          boolean selected;
          if (block.owners()[i].isEmpty()) {
            if (found == null) found = hot.selectors();
            selected = found.contains(selector);
          } else {
            selected = visible(head.index().key(), block, i, selections);
          }
          if (selected) for (Entry en : refs(head.index().key(), block, i)) add(hits, selector, en, start, end);
        }
      }
    }
    return hits;
  }

  /** Whether block b may hold a series of one of the selections: its selector range, then its filter. */
  private static boolean mayHold(Footer f, int b, List<Selection> selections) {
    for (Selection s : selections) {
      if (s.low != null && (f.last()[b].compareTo(s.low) < 0 || f.first()[b].compareTo(s.high) >= 0)) continue;
      if (f.bloom()[b] != null && !bloomHasAll(f.bloom()[b], f.bloomM()[b], f.bloomK()[b], s.pairs)) continue;
      return true;
    }
    return false;
  }

  /** The same positions as src/archive/month-index.ts: SHA-256's first two 32-bit words, double hashing. */
  static boolean bloomHasAll(byte[] bits, int m, int k, List<String> pairs) {
    for (String pair : pairs) {
      byte[] d;
      try {
        d = MessageDigest.getInstance("SHA-256").digest(pair.getBytes(StandardCharsets.UTF_8));
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
      long h1 = ((d[0] & 0xffL) << 24) | ((d[1] & 0xffL) << 16) | ((d[2] & 0xffL) << 8) | (d[3] & 0xffL);
      long h2 = (((d[4] & 0xffL) << 24) | ((d[5] & 0xffL) << 16) | ((d[6] & 0xffL) << 8) | (d[7] & 0xffL)) | 1L;
      for (int i = 0; i < k; i++) {
        int j = (int) ((h1 + i * h2) % m);
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
    if (!MONTH.matcher(name).matches()) return true;
    try {
      YearMonth ym = YearMonth.parse(name);
      long from = ym.atDay(1).atStartOfDay(ZoneOffset.UTC).toEpochSecond() * 1_000_000L - ZONE_MARGIN_US;
      long to = ym.plusMonths(1).atDay(1).atStartOfDay(ZoneOffset.UTC).toEpochSecond() * 1_000_000L + ZONE_MARGIN_US;
      return from <= end && to > start;
    } catch (RuntimeException e) {
      return true;
    }
  }

  private static void add(Map<String, Hit> hits, String selector, List<Entry> entries, long start, long end) {
    if (entries == null) return;
    for (Entry en : entries) add(hits, selector, en, start, end);
  }

  private static void add(Map<String, Hit> hits, String selector, Entry en, long start, long end) {
    if (en.first() > end || en.last() < start) return;
    Hit hit = hits.computeIfAbsent(selector, k -> new Hit(k, 0, new ArrayList<>()));
    if (!hit.parts().contains(en.part())) hit.parts().add(en.part());
    hits.put(selector, new Hit(selector, hit.points() + en.points(), hit.parts()));
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
      index = new IndexRef(ixKey, num(footer.get("offset")), num(footer.get("bytes")), sha(footer.get("sha256")));
      ArchiveStore.checkRange(ixKey, index.footerOffset(), index.footerBytes(), Math.min(limits.maxReadBytes(), limits.maxManifestBytes()));
    } else {
      for (Object b : list(manifest.get("batches"))) batches.add(num(map(b).get("batch")));
    }
    Head head = new Head(version, num(range.get("startUs")), num(range.get("endUs")), index, batches);
    cache.put("head:" + prefix, head, 256 + 16L * batches.size() + prefix.length() * 4L);
    return head;
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
    List<Object> blocks = list(doc.get("blocks"));
    int n = blocks.size();
    Footer f = new Footer(new String[n], new String[n], new long[n], new long[n], new String[n], new byte[n][], new int[n], new int[n]);
    long size = 128;
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
    int nl = text.indexOf('\n');
    if (nl < 0) throw new IOException(ix.key() + " block " + b + " has no part table");
    Object t = parseValue(ix.key() + " block " + b, text.substring(0, nl));
    List<Object> table = list(t);
    Part[] parts = new Part[table.size()];
    for (int i = 0; i < parts.length; i++) {
      List<Object> row = list(table.get(i));
      if (row.size() != 5) throw new IOException(ix.key() + " block " + b + ": a part is not [object, offset, bytes, sha256, whole]");
      String name = str(row.get(0));
      if (!OBJECT.matcher(name).matches()) throw new IOException(ix.key() + " block " + b + " names an object which is not one of the month's objects");
      boolean whole = num(row.get(4)) == 1;
      parts[i] = new Part(prefix + name, num(row.get(1)), num(row.get(2)), sha(row.get(3)), whole);
      ArchiveStore.checkRange(parts[i].object(), parts[i].offset(), parts[i].length(), limits.maxReadBytes());
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
    Block block = new Block(parts, selectors.toArray(new String[0]), owners.toArray(new String[0]), producers.toArray(new String[0]),
        attributes.toArray(new String[0]), refs.toArray(new String[0]));
    cache.put(cacheKey, block, 2L * text.length() + 64L * selectors.size() + 128L * parts.length);
    return block;
  }

  /** A series' entries of an index block: {@code part:points:first:last,...}, export first. */
  private static List<Entry> refs(String key, Block block, int i) throws IOException {
    List<Entry> out = new ArrayList<>(2);
    for (String ref : block.refs()[i].split(",")) {
      String[] f = ref.split(":");
      try {
        if (f.length != 4) throw new NumberFormatException();
        int p = Integer.parseInt(f[0]);
        if (p < 0 || p >= block.parts().length) throw new NumberFormatException();
        out.add(new Entry(Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]), block.parts()[p]));
      } catch (NumberFormatException e) {
        throw new IOException(key + ": an index entry's parts are not part:points:first:last");
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
      throw new IOException(prefix + ": a batch manifest names an object key which is not one of the month's objects (batch-NNNNN[.late-NN].wrap.gz)");
    }
    List<Object> members = list(object.get("members"));
    int n = 0;
    for (Object e : series) {
      Map<String, Object> entry = map(e);
      long points = num(entry.get("points"));
      if (points == 0) continue;
      String selector = str(entry.get("selector"));
      Part part;
      Object m = entry.get("member");
      if (m != null && !members.isEmpty()) {
        long i = num(m);
        if (i < 0 || i >= members.size()) throw new IOException(key + ": a series names member " + i + " of " + members.size());
        Map<String, Object> mem = map(members.get((int) i));
        part = new Part(key, num(mem.get("offset")), num(mem.get("bytes")), sha(mem.get("sha256")), false);
        ArchiveStore.checkRange(key, part.offset(), part.length(), limits.maxReadBytes());
      } else {
        // An archive written before seekable objects: the whole object, checked by its own hash.
        part = new Part(key, 0, num(object.get("bytes")), sha(object.get("sha256")), true);
        ArchiveStore.checkRange(key, 0, part.length(), limits.maxReadBytes());
      }
      out.computeIfAbsent(selector, k -> new ArrayList<>(1)).add(new Entry(points, num(entry.get("first")), num(entry.get("last")), part));
      n++;
    }
    return n;
  }

  /** The lines of one part: its bytes read at their offset, checked against the index, gunzipped. */
  public List<String> lines(Part part) throws IOException {
    byte[] bytes = part.whole() ? store.get(part.object(), limits.maxReadBytes()) : store.range(part.object(), part.offset(), part.length());
    if (bytes == null) throw new IOException(part.object() + " is missing");
    String where = part.object() + (part.whole() ? "" : " member at byte " + part.offset());
    // Whatever was read is named by where it is, never by its content or its hash: a damaged or foreign
    // part tells nothing of what it holds.
    if (bytes.length != part.length() && !part.whole()) throw new IOException(where + " is not the length its index says");
    if (!sha256(bytes).equals(part.sha256())) throw new IOException(where + " does not match its SHA-256 in the index");
    List<String> out = new ArrayList<>();
    String text = new String(Bounded.gunzip(bytes, limits.maxInflatedBytes(), where), StandardCharsets.US_ASCII);
    for (String line : text.split("\n")) if (!line.isEmpty()) out.add(line);
    return out;
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
