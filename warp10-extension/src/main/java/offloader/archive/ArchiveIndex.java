package offloader.archive;

import io.warp10.json.JsonUtils;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The archive's index, as the offloader writes it (docs/ARCHIVE-LAYOUT.md):
 * {@code <group>/<dataset>/<YYYY-MM>/manifest.json} for each committed month, its batch manifests
 * {@code batch-NNNNN.json} (gzip JSON) listing every series with its point count, first and last tick
 * and the gzip member of its object that holds it. Finds the members a selection needs and reads them
 * alone, each checked by its SHA-256.
 *
 * <p>A month's index is parsed once and kept (up to {@code maxCachedSeries} series in all, least
 * recently used months first out): a query after that costs a version check of the month's manifests
 * (a file stat, an S3 HEAD), not a parse of every batch manifest. A rewritten manifest (a supplement, a
 * month archived again) has another version and is read again.
 */
public final class ArchiveIndex {

  /** One part of an object to read: a member (offset, length, SHA-256), or the whole object. */
  public record Part(String object, long offset, long length, String sha256, boolean whole) {}

  /** A series of the index inside the window, and where its lines are, in object order. */
  public record Hit(String selector, long points, List<Part> parts) {}

  /** One object's entry of a series in a month: its points, first and last tick, and its part. */
  private record Entry(long points, long first, long last, Part part) {}

  /** A committed month, parsed: its range, the versions it was read at, its series' entries. */
  private record Month(long startUs, long endUs, String manifestVersion, Map<String, String> batchVersions,
      Map<String, List<Entry>> series, int size) {}

  static final Pattern MONTH = Pattern.compile("\\d{4}-\\d{2}");

  /** The objects a month's manifests may name, relative to the month's prefix: its batches and their supplements. */
  static final Pattern OBJECT = Pattern.compile("batch-\\d{5}(\\.late-\\d{2})?\\.wrap\\.gz");

  private final ArchiveStore store;
  private final Limits limits;
  private final long maxCachedSeries;
  /** Months by key prefix, least recently used first. */
  private final LinkedHashMap<String, Month> cache = new LinkedHashMap<>(16, 0.75f, true);
  private long cachedSeries = 0;
  private long reads = 0;

  public ArchiveIndex(ArchiveStore store, long maxCachedSeries) {
    this(store, maxCachedSeries, Limits.DEFAULTS);
  }

  public ArchiveIndex(ArchiveStore store, long maxCachedSeries, Limits limits) {
    this.store = store;
    this.maxCachedSeries = maxCachedSeries;
    this.limits = limits;
  }

  public Limits limits() {
    return limits;
  }

  /** Month indexes parsed so far (a cached month is not parsed again): for tests. */
  public synchronized long monthsRead() {
    return reads;
  }

  /**
   * The archived series among {@code wanted} (selectors as TOSELECTOR writes them) with points in
   * [start, end] (both inclusive), in every committed month of every dataset whose range meets the
   * window. A month not committed (no manifest.json) or outside the window contributes nothing.
   */
  public Map<String, Hit> find(Set<String> wanted, long start, long end) throws IOException {
    Map<String, Hit> hits = new LinkedHashMap<>();
    if (wanted.isEmpty()) return hits;
    for (String prefix : store.months()) {
      Month month = month(prefix, start, end);
      if (month == null || month.startUs() > end || month.endUs() <= start) continue;
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

  private static void add(Map<String, Hit> hits, String selector, List<Entry> entries, long start, long end) {
    if (entries == null) return;
    for (Entry en : entries) {
      if (en.first() > end || en.last() < start) continue;
      Hit hit = hits.computeIfAbsent(selector, k -> new Hit(k, 0, new ArrayList<>()));
      if (!hit.parts().contains(en.part())) hit.parts().add(en.part());
      hits.put(selector, new Hit(selector, hit.points() + en.points(), hit.parts()));
    }
  }

  /** A committed month's index, from the cache when its manifests are those it was read at; null if not committed. */
  private Month month(String prefix, long start, long end) throws IOException {
    String version = store.version(prefix + "manifest.json");
    if (version == null) return null;
    Month cached;
    synchronized (this) {
      cached = cache.get(prefix);
    }
    if (cached != null && cached.manifestVersion().equals(version)) {
      // Outside the window: its range is all that matters, and a committed month's range does not change.
      if (cached.startUs() > end || cached.endUs() <= start) return cached;
      boolean same = true;
      for (Map.Entry<String, String> b : cached.batchVersions().entrySet()) {
        if (!b.getValue().equals(store.version(b.getKey()))) {
          same = false;
          break;
        }
      }
      if (same) return cached;
    }
    Month month = read(prefix, version);
    if (month == null) return null;
    synchronized (this) {
      reads++;
      Month old = cache.remove(prefix);
      if (old != null) cachedSeries -= old.size();
      if (month.size() <= maxCachedSeries) {
        cache.put(prefix, month);
        cachedSeries += month.size();
        Iterator<Map.Entry<String, Month>> it = cache.entrySet().iterator();
        while (cachedSeries > maxCachedSeries && it.hasNext()) {
          Map.Entry<String, Month> eldest = it.next();
          if (eldest.getKey().equals(prefix)) continue;
          cachedSeries -= eldest.getValue().size();
          it.remove();
        }
      }
    }
    return month;
  }

  private Month read(String prefix, String version) throws IOException {
    Map<String, Object> manifest = json(prefix + "manifest.json");
    if (manifest == null) return null;
    Map<String, Object> range = map(manifest.get("range"));
    Map<String, String> versions = new LinkedHashMap<>();
    Map<String, List<Entry>> series = new HashMap<>();
    int size = 0;
    for (Object b : list(manifest.get("batches"))) {
      long batch = num(map(b).get("batch"));
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
    return new Month(num(range.get("startUs")), num(range.get("endUs")), version, versions, series, size);
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
    Object o;
    try {
      o = JsonUtils.jsonToObject(new String(bytes, StandardCharsets.UTF_8));
    } catch (IOException | RuntimeException e) {
      throw new IOException(key + " is not readable JSON");
    }
    if (!(o instanceof Map)) throw new IOException(key + " is not a JSON object");
    return (Map<String, Object>) o;
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
