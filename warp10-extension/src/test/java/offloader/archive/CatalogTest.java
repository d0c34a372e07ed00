package offloader.archive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.warp10.WarpConfig;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store's catalog (catalog.json and each dataset's content-named catalog, as the offloader writes them,
 * built here by hand): a query never lists the store, and a dataset or month that cannot meet it costs nothing.
 */
class CatalogTest {

  private static final long Y0 = IndexFixture.startUs("2026-01");
  private static final long Y1 = IndexFixture.startUs("2027-01");
  private static final long MAY = IndexFixture.startUs("2026-05");
  private static final long JUNE = IndexFixture.startUs("2026-06");

  @TempDir
  Path root;

  /** Selection builds selectors with Warp 10's GTSHelper, which needs a configuration (an empty one will do). */
  @BeforeAll
  static void warpConfig() throws IOException {
    if (!WarpConfig.isPropertiesSet()) WarpConfig.safeSetProperties(new StringReader("warp.timeunits = us\nlabelsid.slowimpl = true\n"));
  }

  /** The keys a store was asked for, each as {@code op key}: what a query touched. */
  private static final class KeyLog implements ArchiveStore {
    private final ArchiveStore store;
    final List<String> keys = Collections.synchronizedList(new ArrayList<>());

    KeyLog(ArchiveStore store) {
      this.store = store;
    }

    @Override
    public List<String> months() throws IOException {
      keys.add("list");
      return store.months();
    }

    @Override
    public byte[] get(String key, long maxBytes) throws IOException {
      keys.add("get " + key);
      return store.get(key, maxBytes);
    }

    @Override
    public byte[] range(String key, long offset, long length) throws IOException {
      keys.add("range " + key);
      return store.range(key, offset, length);
    }

    @Override
    public String version(String key) throws IOException {
      keys.add("head " + key);
      return store.version(key);
    }

    boolean touched(String prefix) {
      synchronized (keys) {
        return keys.stream().anyMatch(k -> k.substring(k.indexOf(' ') + 1).startsWith(prefix));
      }
    }
  }

  private KeyLog log;
  private CountingStore store;
  private final Map<String, List<IndexFixture.Month>> months = new LinkedHashMap<>();
  private final Map<String, IndexFixture.Dataset> datasets = new LinkedHashMap<>();

  private static List<String> series(String cls, String tag) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < 10; i++) out.add(String.format("%s{k=%s%05d}", cls, tag, i));
    return out;
  }

  /** Three datasets of 12 indexed months each (2026): g/a and g/b of class c, g/o of class other; the catalog of all three. */
  @BeforeEach
  void archive() throws IOException {
    Map<String, List<String>> sets = new LinkedHashMap<>();
    sets.put("a", series("c", "a"));
    sets.put("b", series("c", "b"));
    sets.put("o", series("other", ""));
    for (Map.Entry<String, List<String>> e : sets.entrySet()) {
      List<IndexFixture.Month> ms = new ArrayList<>();
      for (int m = 1; m <= 12; m++) ms.add(IndexFixture.month(root, "g", e.getKey(), String.format("2026-%02d", m), e.getValue(), 10));
      months.put(e.getKey(), ms);
      datasets.put(e.getKey(), IndexFixture.datasetCatalog(root, ms));
    }
    writeRoot();
    fresh(Limits.DEFAULTS);
  }

  private void writeRoot() throws IOException {
    List<String> entries = new ArrayList<>();
    for (IndexFixture.Dataset d : datasets.values()) entries.add(d.entry());
    IndexFixture.rootCatalog(root, entries);
  }

  private ArchiveIndex fresh(Limits limits) {
    log = new KeyLog(new LocalStore(root));
    store = new CountingStore(log);
    return new ArchiveIndex(store, 64L << 20, limits);
  }

  private ArchiveIndex fresh() {
    return fresh(Limits.DEFAULTS);
  }

  private long stat(String kind) {
    return (long) store.stats().get(kind);
  }

  /** The requests of a query, by kind: listings, heads, gets, ranges. */
  private List<Long> counts() {
    return List.of(stat("listings"), stat("heads"), stat("gets"), stat("ranges"));
  }

  private static List<Long> counts(long listings, long heads, long gets, long ranges) {
    return List.of(listings, heads, gets, ranges);
  }

  /** The lines of every part of the hit (a member read each). */
  private static List<String> lines(ArchiveIndex index, ArchiveIndex.Hit hit) throws IOException {
    List<String> out = new ArrayList<>();
    for (ArchiveIndex.Part p : hit.parts()) out.addAll(index.lines(p));
    return out;
  }

  @Test
  void theStartReadsAheadTheCatalogsEachDatasetsNewestFooterAndFirstBlockThenTheOtherFootersNewestFirst() throws IOException {
    ArchiveIndex index = fresh();
    assertEquals(-1, index.preloadMs(), "not run yet");
    index.preload();
    assertTrue(index.preloadMs() >= 0);
    // HEAD and GET catalog.json, GET each of the 3 dataset catalogs, per dataset its newest month's footer and
    // first block, then the 33 other months' footers (they fit in half the cache).
    assertEquals(counts(0, 1, 4, 3 * 2 + 33), counts(), store.stats().toString());
    List<String> blocks = new ArrayList<>();
    for (List<IndexFixture.Month> ms : months.values()) for (IndexFixture.Month m : ms) blocks.add("range " + m.indexKey());
    assertEquals(new TreeSet<>(blocks), new TreeSet<>(log.keys.stream().filter(k -> k.startsWith("range")).toList()), "footers and blocks of indexes only");
    assertTrue(log.keys.indexOf("range " + months.get("a").get(10).indexKey()) < log.keys.indexOf("range " + months.get("a").get(0).indexKey()),
        "newest first: " + log.keys);
    // A query of December then reads its member alone (and the catalog's version); a query of the year, per
    // month the block (the footers are read) and the member.
    List<Long> before = counts();
    assertEquals(List.of(IndexFixture.line("c{k=a00000}", "2026-12")),
        lines(index, index.find(Set.of("c{k=a00000}"), IndexFixture.startUs("2026-12"), Y1 - 1).get("c{k=a00000}")));
    assertEquals(counts(before.get(0), before.get(1) + 1, before.get(2), before.get(3) + 1), counts(), store.stats().toString());
    before = counts();
    assertEquals(12, lines(index, index.find(Set.of("c{k=a00003}"), Y0, Y1 - 1).get("c{k=a00003}")).size());
    assertEquals(counts(before.get(0), before.get(1) + 1, before.get(2), before.get(3) + 11 + 12), counts(), store.stats().toString());
  }

  @Test
  void theStartsWarmQueriesTakeTheFirstSeriesOfTheLargestDatasetsBlocksAndRunAfterTheReadAhead() throws IOException {
    ArchiveIndex index = fresh();
    // g/a, g/b and g/o have as many blocks (1 of 10 series) each: the first, g/a, over its 12 months.
    assertEquals(List.of(new ArchiveIndex.Sample("c{k=a00000}", Y0, Y1)), index.samples(5));
    // g/w, of blocks of 3 series in November and December: the first series of each of its 4 blocks, over both months.
    List<IndexFixture.Month> w = List.of(IndexFixture.month(root, "g", "w", "2026-11", series("w", "w"), 3),
        IndexFixture.month(root, "g", "w", "2026-12", series("w", "w"), 3));
    datasets.put("w", IndexFixture.datasetCatalog(root, w));
    writeRoot();
    long nov = IndexFixture.startUs("2026-11");
    assertEquals(List.of(new ArchiveIndex.Sample("w{k=w00000}", nov, Y1), new ArchiveIndex.Sample("w{k=w00003}", nov, Y1),
        new ArchiveIndex.Sample("w{k=w00006}", nov, Y1)), fresh().samples(3));
    assertEquals(4, fresh().samples(5).size());
    List<Long> seen = new ArrayList<>();
    ArchiveIndex other = fresh();
    other.preload(() -> seen.add(other.preloadMs()));
    assertEquals(List.of(-1L), seen, "preload.ms is set once the warm query is over");
    assertTrue(other.preloadMs() >= 0);
    // No catalog: no sample.
    Files.delete(root.resolve(ArchiveIndex.CATALOG));
    assertEquals(List.of(), fresh().samples(5));
  }

  @Test
  void theStartReadsAheadFootersWithinHalfTheIndexCacheOnly() throws IOException {
    // Each footer is ~200 bytes as the cache counts it: a cache of 4 KiB (3 KiB for the index) keeps a few.
    log = new KeyLog(new LocalStore(root));
    store = new CountingStore(log);
    ArchiveIndex index = new ArchiveIndex(store, 4096, Limits.DEFAULTS);
    index.preload();
    long footers = stat("ranges") - 3 * 2;
    assertTrue(footers >= 0 && footers < 33, "fewer than every footer: " + footers);
    assertTrue((long) index.cacheStats().get("bytes") <= 4096, index.cacheStats().toString());
  }

  @Test
  void aSelectionReadsItsMonthsBlocksAheadOnThePoolAndSelectsAsWithoutIt() throws Exception {
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
    try {
      List<Selection> c = List.of(new Selection("c", Map.of("k", "a00003"), Map.of()));
      Map<String, ArchiveIndex.Hit> alone = fresh().select(c, Y0, Y1 - 1, () -> Set.of("c{k=a00003}"));
      List<Long> without = counts();
      Map<String, ArchiveIndex.Hit> pooled = fresh().select(c, Y0, Y1 - 1, () -> Set.of("c{k=a00003}"), pool, System.nanoTime() + 60_000_000_000L);
      assertEquals(alone, pooled);
      assertEquals(without, counts(), "the same reads, each once");
      // A damaged block: the read ahead fails, the selection reads it again and says so.
      IndexFixture.Month may = months.get("a").get(4);
      byte[] ix = Files.readAllBytes(root.resolve(may.indexKey()));
      ix[3] ^= 1;
      Files.write(root.resolve(may.indexKey()), ix);
      IOException e = assertThrows(IOException.class, () -> fresh().select(c, Y0, Y1 - 1, () -> Set.of(), pool, System.nanoTime() + 60_000_000_000L));
      assertTrue(e.getMessage().startsWith(may.indexKey() + " block 0 does not match its SHA-256"), e.getMessage());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void oneSeriesOfAYearCostsTheCatalogsThenPerMonthItsFooterBlockAndMemberAndNoListing() throws IOException {
    ArchiveIndex index = fresh();
    Map<String, ArchiveIndex.Hit> hits = index.find(Set.of("c{k=a00003}"), Y0, Y1 - 1);
    assertEquals(Set.of("c{k=a00003}"), hits.keySet());
    List<String> year = lines(index, hits.get("c{k=a00003}"));
    assertEquals(12, year.size());
    assertEquals(IndexFixture.line("c{k=a00003}", "2026-01"), year.get(0));
    // Cold: HEAD catalog.json, GET it, GET g/a's catalog; per month the footer, the block and the member (12 x 3).
    assertEquals(counts(0, 1, 2, 12 * 3), counts(), store.stats().toString());
    assertTrue(index.catalogUsed());
    assertFalse(log.touched("g/b/"), "g/b's class range does not hold the series");
    assertFalse(log.touched("g/o/"), "g/o holds class other");
    assertFalse(log.keys.stream().anyMatch(k -> k.endsWith("manifest.json")), "no month's manifest.json: " + log.keys);

    // Warm: HEAD catalog.json, then a member a month.
    List<Long> before = counts();
    assertEquals(12, lines(index, index.find(Set.of("c{k=a00003}"), Y0, Y1 - 1).get("c{k=a00003}")).size());
    assertEquals(counts(before.get(0), before.get(1) + 1, before.get(2), before.get(3) + 12), counts(), store.stats().toString());

    // A month's window: HEAD catalog.json and that month's member (warm); cold, that month alone.
    before = counts();
    assertEquals(List.of(IndexFixture.line("c{k=a00003}", "2026-05")), lines(index, index.find(Set.of("c{k=a00003}"), MAY, JUNE - 1).get("c{k=a00003}")));
    assertEquals(counts(before.get(0), before.get(1) + 1, before.get(2), before.get(3) + 1), counts(), store.stats().toString());
    ArchiveIndex cold = fresh();
    assertEquals(List.of(IndexFixture.line("c{k=a00003}", "2026-05")), lines(cold, cold.find(Set.of("c{k=a00003}"), MAY, JUNE - 1).get("c{k=a00003}")));
    assertEquals(counts(0, 1, 2, 3), counts(), store.stats().toString());
    String may = months.get("a").get(4).indexKey();
    assertEquals(List.of("head catalog.json", "get catalog.json", "get " + datasets.get("a").key(), "range " + may, "range " + may,
        "range g/a/2026-05/batch-00001.wrap.gz"), log.keys);
  }

  @Test
  void aSelectionOfAClassReadsOnlyTheDatasetsOfThatClass() throws Exception {
    ArchiveIndex index = fresh();
    List<Selection> c = List.of(new Selection("c", Map.of("k", "a00003"), Map.of()));
    Map<String, ArchiveIndex.Hit> hits = index.select(c, Y0, Y1 - 1, () -> Set.of("c{k=a00003}"));
    assertEquals(Set.of("c{k=a00003}"), hits.keySet());
    assertEquals(12, hits.get("c{k=a00003}").parts().size());
    // g/a and g/b hold class c: both catalogs, and per month of each the footer and the block (no filter in
    // these indexes); g/o nothing.
    assertEquals(counts(0, 1, 3, 2 * 12 * 2), counts(), store.stats().toString());
    assertFalse(log.touched("g/o/"));

    ArchiveIndex other = fresh();
    List<Selection> o = List.of(new Selection("other", Map.of(), Map.of()));
    assertEquals(Set.of("other{k=00001}"), other.select(o, MAY, JUNE - 1, () -> Set.of("other{k=00001}")).keySet());
    // HEAD and GET catalog.json, GET g/o's catalog, May's footer and block.
    assertEquals(counts(0, 1, 2, 2), counts(), store.stats().toString());
    assertFalse(log.touched("g/a/") || log.touched("g/b/"), log.keys.toString());

    // A class regex may match any class: no dataset is skipped by its classes.
    ArchiveIndex regex = fresh();
    regex.select(List.of(new Selection("~x.*", Map.of(), Map.of())), MAY, JUNE - 1, Set::of);
    assertEquals(counts(0, 1, 4, 3 * 2), counts(), store.stats().toString());
  }

  @Test
  void monthsTheCatalogDoesNotListAreNotReadAndANewCatalogIsSeenAtTheNextQuery() throws IOException {
    // Committed (manifest.json, index) but in no catalog yet: 2027-01 of g/a, and all of g/new.
    IndexFixture.Month jan = IndexFixture.month(root, "g", "a", "2027-01", series("c", "a"), 10);
    IndexFixture.month(root, "g", "new", "2026-05", series("c", "a"), 10);
    ArchiveIndex index = fresh();
    assertEquals(Map.of(), index.find(Set.of("c{k=a00003}"), Y1, IndexFixture.endUs("2027-01") - 1));
    // g/a's months end at 2026-12, which its name lets meet January (a time zone's margin): its catalog is
    // read, and its December's range does not meet the window. No index, no manifest.json is read.
    assertEquals(counts(0, 1, 2, 0), counts(), store.stats().toString());
    assertFalse(log.touched("g/a/2027-01/"));
    // February: g/a's months cannot meet it, nothing but catalog.json's HEAD.
    List<Long> feb = counts();
    assertEquals(Map.of(), index.find(Set.of("c{k=a00003}"), IndexFixture.startUs("2027-02"), IndexFixture.endUs("2027-02") - 1));
    assertEquals(counts(0, feb.get(1) + 1, feb.get(2), feb.get(3)), counts(), store.stats().toString());
    assertEquals(1, index.find(Set.of("c{k=a00003}"), MAY, JUNE - 1).get("c{k=a00003}").parts().size(), "g/new is not read");
    assertFalse(log.touched("g/new/"));

    // The offloader commits 2027-01: a new catalog of g/a (a new key), and catalog.json rewritten.
    List<IndexFixture.Month> ms = new ArrayList<>(months.get("a"));
    ms.add(jan);
    datasets.put("a", IndexFixture.datasetCatalog(root, ms));
    writeRoot();
    List<Long> before = counts();
    Map<String, ArchiveIndex.Hit> hits = index.find(Set.of("c{k=a00003}"), Y1, IndexFixture.endUs("2027-01") - 1);
    assertEquals(List.of(IndexFixture.line("c{k=a00003}", "2027-01")), lines(index, hits.get("c{k=a00003}")));
    // HEAD and GET catalog.json (a new version), GET g/a's new catalog, the month's footer, block and member.
    assertEquals(counts(0, before.get(1) + 1, before.get(2) + 2, before.get(3) + 3), counts(), store.stats().toString());
  }

  @Test
  void aMonthTheCatalogGivesWithoutAnIndexIsReadFromItsManifest() throws IOException {
    IndexFixture.month(root, "g", "l", "2026-05", series("c", "l"), 10);
    String entry = "{\"month\":\"2026-05\",\"range\":{\"startUs\":" + MAY + ",\"endUs\":" + JUNE + "},\"revision\":1,\"series\":10,\"points\":10}";
    datasets.put("l", IndexFixture.datasetCatalog(root, "g", "l", List.of(entry), "2026-05", "2026-05", null, null));
    writeRoot();
    ArchiveIndex index = fresh();
    assertEquals(Set.of("c{k=l00001}"), index.find(Set.of("c{k=l00001}"), MAY, JUNE - 1).keySet());
    // catalog.json (HEAD, GET), g/l's catalog (no classes: it may hold anything), the month's manifest.json
    // (HEAD, GET) which names its index, the footer and the block. g/a, g/b, g/o: their class ranges do not hold it.
    assertEquals(counts(0, 2, 3, 2), counts(), store.stats().toString());
    String ix = log.keys.get(5).substring("range ".length());
    assertTrue(ix.startsWith("g/l/2026-05/index-"), ix);
    assertEquals(List.of("head catalog.json", "get catalog.json", "get " + datasets.get("l").key(), "head g/l/2026-05/manifest.json",
        "get g/l/2026-05/manifest.json", "range " + ix, "range " + ix), log.keys);
  }

  @Test
  void monthsIndexedInEitherFormatReadAlikeAndAFooterPartOutsideTheMonthIsRefused() throws IOException {
    // g/v: 2026-05 indexed as before (@1: a part table heading each block), 2026-06 as now (@2: the parts in the footer).
    List<IndexFixture.Month> v = List.of(IndexFixture.month(root, "g", "v", "2026-05", series("v", "v"), 3, ArchiveIndex.INDEX_FORMAT_1),
        IndexFixture.month(root, "g", "v", "2026-06", series("v", "v"), 3, ArchiveIndex.INDEX_FORMAT));
    datasets.put("v", IndexFixture.datasetCatalog(root, v));
    writeRoot();
    ArchiveIndex index = fresh();
    for (String sel : List.of("v{k=v00000}", "v{k=v00004}", "v{k=v00009}")) {
      assertEquals(List.of(IndexFixture.line(sel, "2026-05"), IndexFixture.line(sel, "2026-06")), lines(index, index.find(Set.of(sel), MAY, Y1 - 1).get(sel)),
          sel);
    }
    // The @2 footer naming a file outside the month: refused when the footer is read, before any part is.
    IndexFixture.Month june = v.get(1);
    byte[] body = Files.readAllBytes(root.resolve(june.indexKey()));
    String footer = new String(new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(body, (int) june.footerOffset(),
        (int) june.footerBytes())).readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(footer.contains("\"parts\":[[\"batch-00001.wrap.gz\""), footer);
    IOException e = withFooter(v, body, footer.replaceFirst("batch-00001\\.wrap\\.gz", "../../../../etc/passwd"), ArchiveIndex.INDEX_FORMAT);
    assertTrue(e.getMessage().contains("footer names an object which is not one of the month's objects"), e.getMessage());
    assertFalse(log.keys.stream().anyMatch(k -> k.contains("passwd")), log.keys.toString());
    // An @2 footer without its parts; one whose reference says @1; entries naming a part the footer does not list.
    e = withFooter(v, body, footer.replaceFirst("\"parts\":\\[", "\"nothing\":["), ArchiveIndex.INDEX_FORMAT);
    assertTrue(e.getMessage().endsWith("footer lists no parts"), e.getMessage());
    e = withFooter(v, body, footer, ArchiveIndex.INDEX_FORMAT_1);
    assertTrue(e.getMessage().endsWith("footer is not of the format its reference names"), e.getMessage());
    e = withFooter(v, body, footer.replaceFirst(",\\[[^]]*\\]\\],\"blocks\"", "],\"blocks\""), ArchiveIndex.INDEX_FORMAT, "v{k=v00009}");
    assertTrue(e.getMessage().contains("an index entry names a part the footer does not list"), e.getMessage());
  }

  /** The error of a query of g/v's June after its index footer is replaced by {@code footer}, named as of {@code format}. */
  private IOException withFooter(List<IndexFixture.Month> v, byte[] body, String footer, String format) throws IOException {
    return withFooter(v, body, footer, format, "v{k=v00004}");
  }

  private IOException withFooter(List<IndexFixture.Month> v, byte[] body, String footer, String format, String selector) throws IOException {
    IndexFixture.Month june = v.get(1);
    byte[] bad = IndexFixture.gzip(footer);
    byte[] tampered = java.util.Arrays.copyOf(body, (int) june.footerOffset() + bad.length);
    System.arraycopy(bad, 0, tampered, (int) june.footerOffset(), bad.length);
    Files.write(root.resolve(june.indexKey()), tampered);
    String entry = june.entry().replace("\"bytes\":" + june.footerBytes() + ",\"sha256\":\"" + june.footerSha() + "\"",
        "\"bytes\":" + bad.length + ",\"sha256\":\"" + ArchiveIndex.sha256(bad) + "\"").replace(ArchiveIndex.INDEX_FORMAT, format);
    datasets.put("v", IndexFixture.datasetCatalog(root, "g", "v", List.of(v.get(0).entry(), entry), "2026-05", "2026-06", "v{k=v00000}",
        "v{k=v00009}"));
    writeRoot();
    return assertThrows(IOException.class, () -> fresh().find(Set.of(selector), MAY, Y1 - 1));
  }

  @Test
  void withoutACatalogTheStoreIsListedAsBefore() throws IOException {
    IndexFixture.month(root, "g", "new", "2026-05", series("c", "a"), 10);
    ArchiveIndex index = fresh();
    assertEquals(1, index.find(Set.of("c{k=a00003}"), MAY, JUNE - 1).get("c{k=a00003}").parts().size(), "g/a's (g/new is in no catalog)");
    assertTrue(index.catalogUsed());
    Files.delete(root.resolve("catalog.json"));
    // The same index: catalog.json is gone, so a listing, and the manifest.json of each month its name lets meet
    // the window (April to June, of g/a, g/b, g/o; May of g/new): g/new's month is read too.
    List<Long> before = counts();
    Map<String, ArchiveIndex.Hit> hits = index.find(Set.of("c{k=a00003}"), MAY, JUNE - 1);
    assertEquals(2, hits.get("c{k=a00003}").parts().size(), "g/a's and g/new's");
    assertFalse(index.catalogUsed());
    // catalog.json's HEAD, the listing, a HEAD and a GET of 10 manifest.json (heads are not kept from the catalog);
    // the footers of g/b's and g/o's May (g/a's is kept from the first query), g/new's footer and block.
    assertEquals(counts(before.get(0) + 1, before.get(1) + 1 + 10, before.get(2) + 10, before.get(3) + 4), counts(), store.stats().toString());
    assertTrue(log.keys.contains("head g/new/2026-05/manifest.json"));
  }

  @Test
  void aTamperedCatalogIsRefusedAndNamedAndReadsNothingOutside() throws IOException {
    IndexFixture.Dataset a = datasets.get("a");
    String hex = a.key().substring("g/a/catalog-".length(), "g/a/catalog-".length() + 16);
    for (String key : List.of("other/x/catalog-" + hex + ".json", "g/a/../x/catalog-" + hex + ".json", "g/a/2026-01/catalog-" + hex + ".json")) {
      IndexFixture.rootCatalog(root, List.of(a.entry(key)));
      ArchiveIndex index = fresh();
      IOException e = assertThrows(IOException.class, () -> index.find(Set.of("c{k=a00003}"), Y0, Y1 - 1));
      assertEquals("catalog.json names a dataset catalog for g/a/ which is not one of its own (g/a/catalog-<16 hex>.json)", e.getMessage());
      assertEquals(List.of("head catalog.json", "get catalog.json"), log.keys);
    }
    // A key that is not the first 16 hex of its SHA-256.
    IndexFixture.rootCatalog(root, List.of(a.entry("g/a/catalog-0000000000000000.json")));
    IOException named = assertThrows(IOException.class, () -> fresh().find(Set.of("c{k=a00003}"), Y0, Y1 - 1));
    assertEquals("catalog.json: g/a/catalog-0000000000000000.json is not named by its SHA-256", named.getMessage());

    // The dataset catalog's bytes are not those catalog.json gives (same length).
    writeRoot();
    Path file = root.resolve(a.key());
    byte[] good = Files.readAllBytes(file);
    byte[] bad = good.clone();
    bad[20] ^= 1;
    Files.write(file, bad);
    ArchiveIndex index = fresh();
    IOException sha = assertThrows(IOException.class, () -> index.find(Set.of("c{k=a00003}"), Y0, Y1 - 1));
    assertEquals(a.key() + " does not match its SHA-256 in catalog.json", sha.getMessage());
    assertEquals(counts(0, 1, 2, 0), counts());
    Files.write(file, good);

    // A month naming the index of another month.
    List<String> entries = new ArrayList<>();
    for (IndexFixture.Month m : months.get("a")) entries.add(m.name().equals("2026-05") ? m.entry(months.get("a").get(3).indexKey()) : m.entry());
    IndexFixture.Dataset forged = IndexFixture.datasetCatalog(root, "g", "a", entries, "2026-01", "2026-12", a.first(), a.last());
    IndexFixture.rootCatalog(root, List.of(forged.entry()));
    ArchiveIndex index2 = fresh();
    IOException other = assertThrows(IOException.class, () -> index2.find(Set.of("c{k=a00003}"), MAY, JUNE - 1));
    assertEquals(forged.key() + ": month 2026-05 names an index object which is not one of the month's (index-<16 hex>.idx)", other.getMessage());
    assertEquals(counts(0, 1, 2, 0), counts(), "no index read");

    // Over the size cap: catalog.json itself, then a dataset catalog (refused before it is read).
    writeRoot();
    long rootBytes = Files.size(root.resolve("catalog.json"));
    ArchiveIndex small = fresh(new Limits(1 << 20, rootBytes - 1, 1 << 20, 60_000, 2));
    IOException big = assertThrows(IOException.class, () -> small.find(Set.of("c{k=a00003}"), Y0, Y1 - 1));
    assertEquals("catalog.json is " + rootBytes + " bytes, over the limit of " + (rootBytes - 1), big.getMessage());
    ArchiveIndex capped = fresh(new Limits(1 << 20, rootBytes, 1 << 20, 60_000, 2));
    IOException bigger = assertThrows(IOException.class, () -> capped.find(Set.of("c{k=a00003}"), Y0, Y1 - 1));
    assertEquals(a.key() + ": catalog.json gives it " + a.bytes() + " bytes, not within the limit of " + rootBytes
        + " (archive.fetch.max.manifest.bytes)", bigger.getMessage());
    assertEquals(List.of("head catalog.json", "get catalog.json"), log.keys);

    // Not a catalog of this format; a month of another dataset; a month which is none.
    Files.writeString(root.resolve("catalog.json"), "{\"format\":\"warp10-offloader/catalog@2\",\"datasets\":[]}");
    assertEquals("catalog.json is not a catalog of the format warp10-offloader/catalog@1",
        assertThrows(IOException.class, () -> fresh().find(Set.of("c{k=a00003}"), Y0, Y1 - 1)).getMessage());
    IndexFixture.rootCatalog(root, List.of(a.entry().replace("\"firstMonth\":\"2026-01\"", "\"firstMonth\":\"2026-13\"")));
    assertEquals("catalog.json: the catalog of g/a/ names a month which is not YYYY-MM",
        assertThrows(IOException.class, () -> fresh().find(Set.of("c{k=a00003}"), Y0, Y1 - 1)).getMessage());
    IndexFixture.rootCatalog(root, List.of(a.entry().replace("\"bytes\":" + a.bytes(), "\"bytes\":\"x\"")));
    assertEquals("catalog.json: the archive index holds x where a number was expected",
        assertThrows(IOException.class, () -> fresh().find(Set.of("c{k=a00003}"), Y0, Y1 - 1)).getMessage());

    for (String m : new TreeSet<>(List.of(named.getMessage(), sha.getMessage(), other.getMessage(), big.getMessage(), bigger.getMessage()))) {
      assertFalse(m.contains(root.toString()), m);
    }
  }
}
