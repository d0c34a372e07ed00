package offloader.archive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.zip.GZIPOutputStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store written by someone else (issue 32's attacker: write access to the store): keys, lengths,
 * hashes and sizes from a manifest are checked before they are used, and errors name nothing of the host.
 */
class HostileArchiveTest {

  private static final long S = 1_777_593_600_000_000L;
  private static final long E = 1_780_272_000_000_000L;
  private static final Limits SMALL = new Limits(1 << 20, 1 << 20, 4 << 20, 10_000, 2);

  @TempDir
  Path tmp;

  private static byte[] gzip(byte[] raw) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(raw);
    }
    return out.toByteArray();
  }

  private Path store() throws IOException {
    return Files.createDirectories(tmp.resolve("store"));
  }

  /** A committed month of one batch whose manifest names {@code key}, a member at offset/bytes/sha. */
  private void month(Path root, String key, long offset, long bytes, String sha) throws IOException {
    Path dir = Files.createDirectories(root.resolve("g/ds/2026-05"));
    String bm = "{\"object\":{\"key\":\"" + key + "\",\"bytes\":" + (offset + bytes) + ",\"sha256\":\"" + sha + "\",\"members\":[{\"offset\":"
        + offset + ",\"bytes\":" + bytes + ",\"sha256\":\"" + sha + "\"}]},\"series\":[{\"selector\":\"c{k=a}\",\"points\":1,\"first\":"
        + S + ",\"last\":" + S + ",\"member\":0}]}";
    Files.write(dir.resolve("batch-00001.json"), gzip(bm.getBytes(StandardCharsets.UTF_8)));
    Files.writeString(dir.resolve("manifest.json"), "{\"range\":{\"startUs\":" + S + ",\"endUs\":" + E + "},\"batches\":[{\"batch\":1}]}");
  }

  private static String zeros() {
    return "0".repeat(64);
  }

  private static void noHostInside(String message, Path root) {
    assertFalse(message.contains(root.toString()), "no host path: " + message);
    assertFalse(message.contains(System.getProperty("java.io.tmpdir")), "no host path: " + message);
    assertFalse(message.matches("(?s).*[0-9a-f]{64}.*"), "no hash of what was read: " + message);
  }

  @Test
  void aManifestNamingAFileOutsideTheMonthIsRefusedBeforeAnyRead() throws IOException {
    Path root = store();
    Path secret = Files.writeString(tmp.resolve("secret.conf"), "warp.aes.token = hex:00");
    for (String key : new String[] { secret.toString(), "../secret.conf", "g/ds/2026-05/../../../secret.conf", "g/ds/2026-05/manifest.json",
        "g/other/2026-05/batch-00001.wrap.gz", "/etc/passwd", "g/ds/2026-05/batch-00001.wrap.gz/../../x" }) {
      month(root, key, 0, 1, zeros());
      ArchiveIndex index = new ArchiveIndex(new LocalStore(root, SMALL.maxReadBytes()), 1000, SMALL);
      IOException e = assertThrows(IOException.class, () -> index.find(Set.of("c{k=a}"), S, E), key);
      assertTrue(e.getMessage().contains("which is not one of the month's objects"), e.getMessage());
      assertFalse(e.getMessage().contains(tmp.toString()), e.getMessage());
    }
  }

  @Test
  void theStoreItselfRefusesKeysThatLeaveItAndLinksThatLeadOut() throws IOException {
    Path root = store();
    Files.writeString(tmp.resolve("outside.txt"), "x");
    Path month = Files.createDirectories(root.resolve("g/ds/2026-05"));
    Files.createSymbolicLink(month.resolve("batch-00001.wrap.gz"), tmp.resolve("outside.txt"));
    Files.createSymbolicLink(month.resolve("batch-00002.wrap.gz"), Path.of("/dev/zero"));
    LocalStore store = new LocalStore(root, 1024);
    for (String key : new String[] { "../outside.txt", "/etc/passwd", "g/./ds", "g//ds", "" }) {
      IOException e = assertThrows(IOException.class, () -> store.get(key, 10), key);
      noHostInside(e.getMessage(), root);
    }
    IOException out = assertThrows(IOException.class, () -> store.range("g/ds/2026-05/batch-00001.wrap.gz", 0, 1));
    assertTrue(out.getMessage().contains("leads outside the archive store"), out.getMessage());
    IOException dev = assertThrows(IOException.class, () -> store.get("g/ds/2026-05/batch-00002.wrap.gz", 10));
    assertTrue(dev.getMessage().contains("leads outside") || dev.getMessage().contains("not a regular file"), dev.getMessage());
    noHostInside(dev.getMessage(), root);
  }

  @Test
  void aHugeMemberLengthIsRefusedBeforeAllocation() throws IOException {
    Path root = store();
    Path object = root.resolve("g/ds/2026-05/batch-00001.wrap.gz");
    Files.createDirectories(object.getParent());
    Files.write(object, new byte[] { 1 });
    // 2 GB named by the manifest, over the cap: refused while the index is read.
    month(root, "g/ds/2026-05/batch-00001.wrap.gz", 0, 2_000_000_000L, zeros());
    ArchiveIndex index = new ArchiveIndex(new LocalStore(root, SMALL.maxReadBytes()), 1000, SMALL);
    IOException e = assertThrows(IOException.class, () -> index.find(Set.of("c{k=a}"), S, E));
    assertTrue(e.getMessage().contains("over the limit of " + SMALL.maxReadBytes()), e.getMessage());
    // Under the cap but longer than the file: the file's length is checked before the buffer.
    try (RandomAccessFile f = new RandomAccessFile(object.toFile(), "rw")) {
      f.setLength(10);
    }
    LocalStore store = new LocalStore(root, SMALL.maxReadBytes());
    IOException shortFile = assertThrows(IOException.class, () -> store.range("g/ds/2026-05/batch-00001.wrap.gz", 5, 1000));
    assertTrue(shortFile.getMessage().contains("its index names bytes up to 1005"), shortFile.getMessage());
    IOException negative = assertThrows(IOException.class, () -> store.range("g/ds/2026-05/batch-00001.wrap.gz", -1, 5));
    assertTrue(negative.getMessage().contains("invalid range"), negative.getMessage());
  }

  @Test
  void aMemberThatInflatesPastTheCapIsStopped() throws IOException {
    Path root = store();
    Path object = root.resolve("g/ds/2026-05/batch-00001.wrap.gz");
    Files.createDirectories(object.getParent());
    byte[] bomb = gzip(new byte[8 << 20]); // 8 MiB of zeros in a few KiB
    Files.write(object, bomb);
    month(root, "g/ds/2026-05/batch-00001.wrap.gz", 0, bomb.length, ArchiveIndex.sha256(bomb));
    ArchiveIndex index = new ArchiveIndex(new LocalStore(root, SMALL.maxReadBytes()), 1000, SMALL);
    ArchiveIndex.Part p = index.find(Set.of("c{k=a}"), S, E).get("c{k=a}").parts().get(0);
    IOException e = assertThrows(IOException.class, () -> index.lines(p));
    assertTrue(e.getMessage().contains("decompressed is larger than " + SMALL.maxInflatedBytes()), e.getMessage());
    assertTrue(e.getMessage().startsWith("g/ds/2026-05/batch-00001.wrap.gz"), e.getMessage());
  }

  @Test
  void aManifestThatInflatesPastTheCapIsStopped() throws IOException {
    Path root = store();
    Path dir = Files.createDirectories(root.resolve("g/ds/2026-05"));
    byte[] raw = new byte[6 << 20];
    java.util.Arrays.fill(raw, (byte) ' ');
    Files.write(dir.resolve("batch-00001.json"), gzip(raw));
    Files.writeString(dir.resolve("manifest.json"), "{\"range\":{\"startUs\":" + S + ",\"endUs\":" + E + "},\"batches\":[{\"batch\":1}]}");
    ArchiveIndex index = new ArchiveIndex(new LocalStore(root, SMALL.maxReadBytes()), 1000, SMALL);
    IOException e = assertThrows(IOException.class, () -> index.find(Set.of("c{k=a}"), S, E));
    assertTrue(e.getMessage().contains("batch-00001.json decompressed is larger than"), e.getMessage());
    // And one too large as stored.
    Files.write(dir.resolve("batch-00001.json"), new byte[(2 << 20)]);
    IOException big = assertThrows(IOException.class, () -> new ArchiveIndex(new LocalStore(root), 1000, SMALL).find(Set.of("c{k=a}"), S, E));
    assertTrue(big.getMessage().contains("over the limit of " + SMALL.maxManifestBytes()), big.getMessage());
  }

  @Test
  void anIndexValueInAnErrorIsShortAndPrintable() throws IOException {
    Path root = store();
    month(root, "g/ds/2026-05/batch-00001.wrap.gz", 0, 1, "x".repeat(5000));
    IOException e = assertThrows(IOException.class, () -> new ArchiveIndex(new LocalStore(root), 1000, SMALL).find(Set.of("c{k=a}"), S, E));
    assertTrue(e.getMessage().contains("where a SHA-256 was expected"), e.getMessage());
    assertTrue(e.getMessage().length() < 200, e.getMessage());
    assertEquals(-1, e.getMessage().indexOf("x".repeat(41)));
  }
}
