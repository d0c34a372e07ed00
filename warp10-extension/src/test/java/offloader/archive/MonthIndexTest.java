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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.zip.GZIPOutputStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A month with an index object (the format src/archive/month-index.ts writes, built here by hand):
 * a series costs the footer once, its block and its member, and nothing else of the month or the store.
 */
class MonthIndexTest {

  private static final long S = 1_777_593_600_000_000L; // 2026-05-01T00:00:00Z
  private static final long E = 1_780_272_000_000_000L; // 2026-06-01T00:00:00Z

  @TempDir
  Path root;

  private static byte[] gzip(String text) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(text.getBytes(StandardCharsets.UTF_8));
    }
    return out.toByteArray();
  }

  /**
   * A committed month of {@code n} series {@code c{k=NNNNN}} in one batch object of one member each
   * series, and an index of blocks of {@code perBlock} series.
   */
  private String month(String dataset, String name, long start, long end, int n, int perBlock) throws IOException {
    String prefix = "g/" + dataset + "/" + name + "/";
    Path dir = Files.createDirectories(root.resolve(prefix));
    ByteArrayOutputStream object = new ByteArrayOutputStream();
    TreeMap<String, long[]> members = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      String sel = String.format("c{k=%05d}", i);
      byte[] m = gzip("LINE-" + i + "\n");
      members.put(sel, new long[] { object.size(), m.length });
      object.write(m);
    }
    byte[] obj = object.toByteArray();
    Files.write(dir.resolve("batch-00001.wrap.gz"), obj);
    ByteArrayOutputStream idx = new ByteArrayOutputStream();
    List<String> blocks = new ArrayList<>();
    List<String> sels = new ArrayList<>(members.keySet());
    for (int b = 0; b < sels.size(); b += perBlock) {
      List<String> chunk = sels.subList(b, Math.min(sels.size(), b + perBlock));
      StringBuilder table = new StringBuilder("[");
      StringBuilder lines = new StringBuilder();
      for (int i = 0; i < chunk.size(); i++) {
        long[] m = members.get(chunk.get(i));
        byte[] bytes = java.util.Arrays.copyOfRange(obj, (int) m[0], (int) (m[0] + m[1]));
        table.append(i == 0 ? "" : ",").append("[\"batch-00001.wrap.gz\",").append(m[0]).append(',').append(m[1]).append(",\"")
            .append(ArchiveIndex.sha256(bytes)).append("\",0]");
        lines.append(chunk.get(i)).append("\t\t\t\t").append(i).append(":1:").append(start + 1).append(':').append(start + 1).append('\n');
      }
      byte[] gz = gzip(table.append("]\n").append(lines).toString());
      blocks.add("{\"first\":\"" + chunk.get(0) + "\",\"last\":\"" + chunk.get(chunk.size() - 1) + "\",\"offset\":" + idx.size() + ",\"bytes\":"
          + gz.length + ",\"sha256\":\"" + ArchiveIndex.sha256(gz) + "\",\"series\":" + chunk.size() + "}");
      idx.write(gz);
    }
    byte[] footer = gzip("{\"format\":\"warp10-offloader/index@1\",\"series\":" + n + ",\"blocks\":[" + String.join(",", blocks) + "]}");
    long footerOffset = idx.size();
    idx.write(footer);
    String key = prefix + "index-0123456789abcdef.idx";
    Files.write(root.resolve(key), idx.toByteArray());
    Files.writeString(dir.resolve("manifest.json"), "{\"range\":{\"startUs\":" + start + ",\"endUs\":" + end + "},\"batches\":[{\"batch\":1}],"
        + "\"index\":{\"format\":\"warp10-offloader/index@1\",\"key\":\"" + key + "\",\"footer\":{\"offset\":" + footerOffset + ",\"bytes\":"
        + footer.length + ",\"sha256\":\"" + ArchiveIndex.sha256(footer) + "\"}}}");
    return prefix;
  }

  @Test
  void oneSeriesCostsTheFooterOnceThenItsBlockAndItsMember() throws IOException {
    month("big", "2026-05", S, E, 2000, 100);
    CountingStore store = new CountingStore(new LocalStore(root));
    ArchiveIndex index = new ArchiveIndex(store, 64L << 20);
    Map<String, ArchiveIndex.Hit> hits = index.find(Set.of("c{k=01234}"), S, E - 1);
    assertEquals(Set.of("c{k=01234}"), hits.keySet());
    ArchiveIndex.Part p = hits.get("c{k=01234}").parts().get(0);
    assertEquals(List.of("LINE-1234"), index.lines(p));
    // Cold: a listing, a HEAD and a GET of manifest.json, the footer, one block (of 20), the member.
    assertEquals(1L, store.stats().get("listings"));
    assertEquals(1L, store.stats().get("gets"));
    assertEquals(3L, store.stats().get("ranges"));
    // Warm: the catalog's absence (a HEAD of catalog.json, at each query), the listing, the manifest's version,
    // and the member; another series of another block costs that block.
    long before = (long) store.stats().get("requests");
    index.lines(index.find(Set.of("c{k=01234}"), S, E - 1).get("c{k=01234}").parts().get(0));
    assertEquals(before + 4, (long) store.stats().get("requests"), "catalog HEAD, listing, HEAD, member: " + store.stats());
    before = (long) store.stats().get("requests");
    assertEquals(1, index.find(Set.of("c{k=00007}"), S, E - 1).size());
    assertEquals(before + 4, (long) store.stats().get("requests"), "catalog HEAD, listing, HEAD, its block: " + store.stats());
  }

  @Test
  void monthsOutsideTheWindowCostNothingAndManyWantedReadOnlyTheirBlocks() throws IOException {
    month("big", "2026-05", S, E, 1000, 100);
    for (String m : new String[] { "2025-01", "2025-02", "2026-09", "2027-01" }) month("big", m, 0, 1, 10, 5);
    CountingStore store = new CountingStore(new LocalStore(root));
    ArchiveIndex index = new ArchiveIndex(store, 64L << 20);
    Map<String, ArchiveIndex.Hit> hits = index.find(Set.of("c{k=00001}", "c{k=00002}", "c{k=00999}", "c{k=zzz}"), S, E - 1);
    assertEquals(Set.of("c{k=00001}", "c{k=00002}", "c{k=00999}"), hits.keySet());
    // One HEAD and one GET of the one month that can meet the window (and the HEAD of catalog.json, absent):
    // no other month is touched.
    assertEquals(2L, store.stats().get("heads"));
    assertEquals(1L, store.stats().get("gets"));
    assertEquals(3L, store.stats().get("ranges"), "the footer and 2 blocks of 10");
  }

  @Test
  void theCacheIsBoundedInBytesAndAQueryStillAnswersWithoutIt() throws IOException {
    month("big", "2026-05", S, E, 2000, 100);
    CountingStore store = new CountingStore(new LocalStore(root));
    ArchiveIndex small = new ArchiveIndex(store, 16 * 1024);
    for (int i = 0; i < 2000; i += 97) assertEquals(1, small.find(Set.of(String.format("c{k=%05d}", i)), S, E - 1).size());
    assertTrue((long) small.cacheStats().get("bytes") <= 16 * 1024, small.cacheStats().toString());
    ArchiveIndex none = new ArchiveIndex(new LocalStore(root), 0);
    assertEquals(1, none.find(Set.of("c{k=01999}"), S, E - 1).size());
    assertEquals(0L, none.cacheStats().get("bytes"));
  }

  @Test
  void aTamperedIndexIsRefusedAndNamed() throws IOException {
    String prefix = month("big", "2026-05", S, E, 300, 100);
    Path idx = root.resolve(prefix + "index-0123456789abcdef.idx");
    byte[] bytes = Files.readAllBytes(idx);
    bytes[10] ^= (byte) 0xff; // inside block 0
    Files.write(idx, bytes);
    ArchiveIndex index = new ArchiveIndex(new LocalStore(root), 64L << 20);
    IOException e = assertThrows(IOException.class, () -> index.find(Set.of("c{k=00001}"), S, E - 1));
    assertEquals(prefix + "index-0123456789abcdef.idx block 0 does not match its SHA-256", e.getMessage());
    assertEquals(1, index.find(Set.of("c{k=00201}"), S, E - 1).size(), "another block still reads");
    // An index key out of the month.
    Path manifest = root.resolve(prefix + "manifest.json");
    Files.writeString(manifest, Files.readString(manifest).replace(prefix + "index-0123456789abcdef.idx", "g/other/2026-05/index-0123456789abcdef.idx"));
    IOException out = assertThrows(IOException.class, () -> new ArchiveIndex(new LocalStore(root), 0).find(Set.of("c{k=00001}"), S, E - 1));
    assertTrue(out.getMessage().contains("names an index object which is not one of the month's"), out.getMessage());
    assertFalse(out.getMessage().contains(root.toString()));
  }
}
