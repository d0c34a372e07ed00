package offloader.archive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPOutputStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The index as the offloader writes it (docs/ARCHIVE-LAYOUT.md), built here by hand. */
class ArchiveIndexTest {

  private static final long S = 1_777_593_600_000_000L; // 2026-05-01T00:00:00Z
  private static final long E = 1_780_272_000_000_000L; // 2026-06-01T00:00:00Z

  @TempDir
  Path root;

  private static ArchiveIndex index(Path dir) {
    return new ArchiveIndex(new LocalStore(dir), 1_000_000);
  }

  private static byte[] gzip(String text) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(text.getBytes(StandardCharsets.US_ASCII));
    }
    return out.toByteArray();
  }

  private static String member(long offset, byte[] bytes) {
    return "{\"offset\":" + offset + ",\"bytes\":" + bytes.length + ",\"sha256\":\"" + ArchiveIndex.sha256(bytes) + "\"}";
  }

  /** A month of one batch: two members (a, b | c), and a supplement holding a again. */
  private Path month(String name, long start, long end, boolean committed) throws IOException {
    return month(name, start, end, committed, true);
  }

  private Path month(String name, long start, long end, boolean committed, boolean withLate) throws IOException {
    Path dir = Files.createDirectories(root.resolve("g/ds/" + name));
    byte[] m0 = gzip("LINE-A\nLINE-B\n");
    byte[] m1 = gzip("LINE-C\n");
    byte[] object = new byte[m0.length + m1.length];
    System.arraycopy(m0, 0, object, 0, m0.length);
    System.arraycopy(m1, 0, object, m0.length, m1.length);
    Files.write(dir.resolve("batch-00001.wrap.gz"), object);
    byte[] late = gzip("LINE-A2\n");
    Files.write(dir.resolve("batch-00001.late-01.wrap.gz"), late);
    String prefix = "g/ds/" + name + "/";
    String bm = "{\"object\":{\"key\":\"" + prefix + "batch-00001.wrap.gz\",\"bytes\":" + object.length
        + ",\"sha256\":\"" + ArchiveIndex.sha256(object) + "\",\"members\":[" + member(0, m0) + "," + member(m0.length, m1) + "]},"
        + "\"series\":["
        + "{\"selector\":\"c{k=a}\",\"points\":2,\"first\":" + (start + 10) + ",\"last\":" + (start + 20) + ",\"member\":0},"
        + "{\"selector\":\"c{k=b}\",\"points\":1,\"first\":" + (end - 1) + ",\"last\":" + (end - 1) + ",\"member\":0,\"line\":1},"
        + "{\"selector\":\"c{k=c}\",\"points\":1,\"first\":" + (start + 5) + ",\"last\":" + (start + 5) + ",\"member\":1},"
        + "{\"selector\":\"c{k=empty}\",\"points\":0,\"first\":null,\"last\":null}],"
        + "\"supplements\":["
        + (!withLate ? "" : "{\"object\":{\"key\":\"" + prefix + "batch-00001.late-01.wrap.gz\",\"bytes\":" + late.length
        + ",\"sha256\":\"" + ArchiveIndex.sha256(late) + "\",\"members\":[" + member(0, late) + "]},"
        + "\"series\":[{\"selector\":\"c{k=a}\",\"points\":1,\"first\":" + (start + 30) + ",\"last\":" + (start + 30) + ",\"member\":0}]}")
        + "]}";
    Files.write(dir.resolve("batch-00001.json"), gzip(bm));
    if (committed) {
      Files.writeString(dir.resolve("manifest.json"), "{\"range\":{\"startUs\":" + start + ",\"endUs\":" + end + "},\"batches\":[{\"batch\":1}]}");
    }
    return dir;
  }

  @Test
  void aSeriesLineIsReadAloneByItsNumber() throws IOException {
    month("2026-05", S, E, true);
    ArchiveIndex index = index(root);
    ArchiveIndex.Hit b = index.find(Set.of("c{k=b}"), S, E - 1).get("c{k=b}");
    assertEquals(List.of(1), b.lines());
    assertEquals(Map.of(1, "LINE-B"), index.lines(b.parts().get(0), new int[] { 1 }));
    assertEquals(Map.of(0, "LINE-A", 1, "LINE-B"), index.lines(b.parts().get(0), new int[] { 0, 1 }));
    assertEquals(Map.of(), index.lines(b.parts().get(0), new int[] { 7 }), "a line past the member's end");
    assertEquals(List.of(-1, -1), index.find(Set.of("c{k=a}"), S, E - 1).get("c{k=a}").lines(), "entries written before lines");
  }

  @Test
  void aLineReadBeforeIsKeptWhileItsObjectIsUnchangedAndReadAgainWhenItIsRewrittenDamagedOrRemoved() throws IOException {
    Path dir = month("2026-05", S, E, true);
    CountingStore store = new CountingStore(new LocalStore(root));
    ArchiveIndex index = new ArchiveIndex(store, 1_000_000);
    ArchiveIndex.Part b = index.find(Set.of("c{k=b}"), S, E - 1).get("c{k=b}").parts().get(0);
    assertEquals(Map.of(1, "LINE-B"), index.lines(b, new int[] { 1 }));
    long ranges = (long) store.stats().get("ranges");
    long heads = (long) store.stats().get("heads");
    // Again: the object's version (a stat of the file), no read.
    assertEquals(Map.of(1, "LINE-B"), index.lines(b, new int[] { 1 }));
    assertEquals(ranges, store.stats().get("ranges"));
    assertEquals(heads + 1, store.stats().get("heads"));
    // The same member named with another length (an index that lies): read again, and refused as before.
    ArchiveIndex.Part longer = new ArchiveIndex.Part(b.object(), b.offset(), b.length() + 1000, b.sha256(), false);
    IOException past = assertThrows(IOException.class, () -> index.lines(longer, new int[] { 1 }));
    assertTrue(past.getMessage().contains("its index names bytes up to"), past.getMessage());
    ranges++;
    // A line not kept yet: the member is read.
    assertEquals(Map.of(0, "LINE-A", 1, "LINE-B"), index.lines(b, new int[] { 0, 1 }));
    assertEquals(ranges + 1, store.stats().get("ranges"));
    // The same object rewritten with the same bytes: its version changed, read again (and kept again).
    Path object = dir.resolve("batch-00001.wrap.gz");
    byte[] bytes = Files.readAllBytes(object);
    Files.write(object, bytes);
    Files.setLastModifiedTime(object, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5_000));
    assertEquals(Map.of(1, "LINE-B"), index.lines(b, new int[] { 1 }));
    assertEquals(ranges + 2, store.stats().get("ranges"));
    // Damaged in place: the kept line is not served, the damage is named.
    bytes[(int) b.offset() + 12] ^= (byte) 0xff;
    Files.write(object, bytes);
    Files.setLastModifiedTime(object, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 10_000));
    IOException bad = assertThrows(IOException.class, () -> index.lines(b, new int[] { 1 }));
    assertTrue(bad.getMessage().contains("does not match its SHA-256"), bad.getMessage());
    // Removed: named missing.
    bytes[(int) b.offset() + 12] ^= (byte) 0xff;
    Files.write(object, bytes);
    assertEquals(Map.of(1, "LINE-B"), index.lines(b, new int[] { 1 }));
    Files.delete(object);
    IOException gone = assertThrows(IOException.class, () -> index.lines(b, new int[] { 1 }));
    assertTrue(gone.getMessage().endsWith("batch-00001.wrap.gz is missing"), gone.getMessage());
    // Lines are kept within a quarter of the cache's bound, counted in its bytes.
    Map<?, ?> lines = (Map<?, ?>) index.cacheStats().get("lines");
    assertEquals(250_000L, lines.get("max.bytes"));
    assertEquals(1_000_000L, index.cacheStats().get("max.bytes"));
  }

  @Test
  void aStoreThatCannotTellAVersionWithTheReadKeepsNoLine() throws IOException {
    month("2026-05", S, E, true);
    ArchiveStore plain = new ArchiveStore() {
      private final LocalStore local = new LocalStore(root);

      public List<String> months() throws IOException {
        return local.months();
      }

      public byte[] get(String key, long maxBytes) throws IOException {
        return local.get(key, maxBytes);
      }

      public byte[] range(String key, long offset, long length) throws IOException {
        return local.range(key, offset, length);
      }

      public String version(String key) throws IOException {
        return local.version(key);
      }
    };
    CountingStore store = new CountingStore(plain);
    ArchiveIndex index = new ArchiveIndex(store, 1_000_000);
    // Its whole cache bound goes to the index: no quarter held for lines it never keeps.
    assertEquals(0L, ((Map<?, ?>) index.cacheStats().get("lines")).get("max.bytes"));
    assertEquals(1_000_000L, index.cacheStats().get("max.bytes"));
    ArchiveIndex.Part b = index.find(Set.of("c{k=b}"), S, E - 1).get("c{k=b}").parts().get(0);
    index.lines(b, new int[] { 1 });
    long ranges = (long) store.stats().get("ranges");
    assertEquals(Map.of(1, "LINE-B"), index.lines(b, new int[] { 1 }));
    assertEquals(ranges + 1, store.stats().get("ranges"), "read again, as S3 is (a HEAD would cost what the range read costs)");
  }

  @Test
  void theStartsWarmQueriesSelectExactlyTheSeriesAFooterNamesNeverARegex() throws Exception {
    Selection s = Selection.exactly("c{k=~a.*,z=%2C}");
    io.warp10.continuum.store.thrift.data.Metadata literal = Selection.metadata("c{k=~a.*,z=%2C}", "o", "p", null);
    io.warp10.continuum.store.thrift.data.Metadata other = Selection.metadata("c{k=abc,z=%2C}", "o", "p", null);
    assertTrue(s.matches(literal));
    assertFalse(s.matches(other), "~a.* is a value, not a regex");
    assertFalse(Selection.exactly("~.*{}").matches(other), "a class named ~.* is that class, not every class");
    assertEquals(null, Selection.exactly("no selector"));
  }

  @Test
  void theReadPathWarmsUpOnAMadeUpSeries() {
    assertTrue(ArchiveFetch.warmUp(2));
  }

  @Test
  void pairsAnAttributeOrAnAbsentLabelMayMatchAreNotRequired() throws Exception {
    Selection s = new Selection("c", new java.util.LinkedHashMap<>(Map.of("rack", "r2", "host", "h1")), Map.of());
    // A series with attributes is left to the matcher (a label selector matches an attribute of its name).
    assertFalse(s.mayMatch("c{host=h1}", false));
    assertTrue(s.mayMatch("c{host=h1}", true));
    assertTrue(s.matches(Selection.metadata("c{host=h1}", null, null, Map.of("rack", "r2"))), "Warp 10's matcher: an attribute matches");
    // A block whose series have an attribute "rack": its label filter is not asked for rack=r2.
    assertEquals(2, s.labelOnly(Set.of()).size());
    assertEquals(1, s.labelOnly(Set.of("rack")).size());
    // An empty value also selects series without the label: nothing to require.
    Selection empty = new Selection("c", Map.of("zone", ""), Map.of());
    assertTrue(empty.mayMatch("c{host=h1}", false));
    assertEquals(0, empty.labelOnly(Set.of()).size());
  }

  @Test
  void anExactPairIsAWholeLabelOfTheSelector() {
    assertTrue(Selection.holdsPair("c{a=1,k=v}", "k=v"));
    assertTrue(Selection.holdsPair("c{k=v,z=1}", "k=v"));
    assertTrue(Selection.holdsPair("c{kk=v,k=v}", "k=v"));
    assertFalse(Selection.holdsPair("c{a=1,kk=v}", "k=v"));
    assertFalse(Selection.holdsPair("c{k=vv}", "k=v"));
    assertFalse(Selection.holdsPair("c{k=v%2Cx}", "k=v"));
    assertFalse(Selection.holdsPair("k=v{}", "k=v"), "not in the class");
  }

  @Test
  void aMemberIsInflatedOnlyUpToTheLastLineWanted() throws IOException {
    // A first line, then 2 MiB of text: line 0 under a 1 MiB cap; the whole member, or line 1, is refused.
    byte[] gz = gzip("FIRST\n" + "0".repeat(2 << 20) + "\n");
    assertEquals(Map.of(0, "FIRST"), Bounded.gunzipLines(gz, 1 << 20, "m", new int[] { 0 }));
    assertThrows(IOException.class, () -> Bounded.gunzip(gz, 1 << 20, "m"));
    IOException e = assertThrows(IOException.class, () -> Bounded.gunzipLines(gz, 1 << 20, "m", new int[] { 1 }));
    assertTrue(e.getMessage().contains("larger than 1048576 bytes"), e.getMessage());
  }

  @Test
  void findsTheMembersOfTheSeriesAskedForInsideTheWindowExportFirst() throws IOException {
    month("2026-05", S, E, true);
    ArchiveIndex index = index(root);
    Map<String, ArchiveIndex.Hit> hits = index.find(Set.of("c{k=a}", "c{k=c}", "c{k=empty}", "c{k=zz}"), S, E - 1);
    assertEquals(Set.of("c{k=a}", "c{k=c}"), hits.keySet());
    ArchiveIndex.Hit a = hits.get("c{k=a}");
    assertEquals(3, a.points());
    assertEquals(2, a.parts().size());
    assertTrue(a.parts().get(0).object().endsWith("batch-00001.wrap.gz"), "the export first");
    assertTrue(a.parts().get(1).object().endsWith("batch-00001.late-01.wrap.gz"), "then its supplement");
    assertEquals(List.of("LINE-A", "LINE-B"), index.lines(a.parts().get(0)));
    assertEquals(List.of("LINE-A2"), index.lines(a.parts().get(1)));
    assertEquals(List.of("LINE-C"), index.lines(hits.get("c{k=c}").parts().get(0)), "its member alone");
    // A window that misses b's only point, and one before the month.
    assertFalse(index.find(Set.of("c{k=b}"), S, E - 2).containsKey("c{k=b}"));
    assertTrue(index.find(Set.of("c{k=b}"), 0, S - 1).isEmpty());
  }

  @Test
  void aMonthNotCommittedOrOutsideTheWindowContributesNothing() throws IOException {
    month("2026-05", S, E, false);
    month("2026-06", E, E + 30L * 86_400_000_000L, true);
    ArchiveIndex index = index(root);
    assertTrue(index.find(Set.of("c{k=a}"), S, E - 1).isEmpty());
    assertEquals(1, index.find(Set.of("c{k=a}"), S, E + 100).size(), "the June month only");
    assertTrue(index(root.resolve("none")).find(Set.of("c{k=a}"), S, E).isEmpty());
  }

  @Test
  void aDamagedMemberOrAMissingObjectIsNamed() throws IOException {
    Path dir = month("2026-05", S, E, true);
    ArchiveIndex index = index(root);
    ArchiveIndex.Part c = index.find(Set.of("c{k=c}"), S, E).get("c{k=c}").parts().get(0);
    byte[] bytes = Files.readAllBytes(dir.resolve("batch-00001.wrap.gz"));
    bytes[(int) c.offset() + 12] ^= (byte) 0xff;
    Files.write(dir.resolve("batch-00001.wrap.gz"), bytes);
    IOException bad = assertThrows(IOException.class, () -> index.lines(c));
    assertTrue(bad.getMessage().contains("member at byte " + c.offset() + " does not match its SHA-256"), bad.getMessage());
    assertFalse(bad.getMessage().matches("(?s).*[0-9a-f]{64}.*"), "no hash of what was read: " + bad.getMessage());
    Files.delete(dir.resolve("batch-00001.wrap.gz"));
    IOException gone = assertThrows(IOException.class, () -> index.lines(c));
    assertTrue(gone.getMessage().endsWith("batch-00001.wrap.gz is missing"), gone.getMessage());
  }

  @Test
  void aMonthIsParsedOnceUntilOneOfItsManifestsIsRewritten() throws IOException {
    month("2026-05", S, E, true, false);
    ArchiveIndex index = index(root);
    assertEquals(2, index.find(Set.of("c{k=a}"), S, E).get("c{k=a}").points());
    assertEquals(1, index.find(Set.of("c{k=c}"), S, E).get("c{k=c}").points());
    assertEquals(1, index.monthsRead(), "the second query reads no index");
    // A supplement arrives: the batch manifest is rewritten, and read again at the next query.
    month("2026-05", S, E, true, true);
    ArchiveIndex.Hit a = index.find(Set.of("c{k=a}"), S, E).get("c{k=a}");
    assertEquals(3, a.points());
    assertEquals(2, a.parts().size());
    assertEquals(2, index.monthsRead());
    // Without a cache, every query reads the index.
    ArchiveIndex none = new ArchiveIndex(new LocalStore(root), 0);
    none.find(Set.of("c{k=a}"), S, E);
    none.find(Set.of("c{k=a}"), S, E);
    assertEquals(2, none.monthsRead());
  }

  @Test
  void anArchiveWrittenBeforeMembersIsReadWhole() throws IOException {
    Path dir = Files.createDirectories(root.resolve("g/old/2026-05"));
    byte[] object = gzip("OLD-1\nOLD-2\n");
    Files.write(dir.resolve("batch-00001.wrap.gz"), object);
    Files.writeString(dir.resolve("batch-00001.json"), "{\"object\":{\"key\":\"g/old/2026-05/batch-00001.wrap.gz\",\"bytes\":"
        + object.length + ",\"sha256\":\"" + ArchiveIndex.sha256(object) + "\"},\"series\":[{\"selector\":\"o{}\",\"points\":2,\"first\":"
        + S + ",\"last\":" + (S + 1) + "}]}");
    Files.writeString(dir.resolve("manifest.json"), "{\"range\":{\"startUs\":" + S + ",\"endUs\":" + E + "},\"batches\":[{\"batch\":1}]}");
    ArchiveIndex index = index(root);
    ArchiveIndex.Part p = index.find(Set.of("o{}"), S, E).get("o{}").parts().get(0);
    assertTrue(p.whole());
    assertEquals(List.of("OLD-1", "OLD-2"), index.lines(p));
  }
}
