package offloader.archive;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;
import java.util.zip.GZIPOutputStream;

/**
 * Archives built by hand for the tests, in the formats the offloader writes (docs/ARCHIVE-LAYOUT.md,
 * src/archive/month-index.ts): a committed month with its batch object and index, and catalogs.
 */
final class IndexFixture {

  private IndexFixture() {}

  /** What a dataset catalog says of an indexed month. */
  record Month(String group, String dataset, String name, String prefix, long startUs, long endUs, String indexKey, long indexBytes,
      String indexSha, long footerOffset, long footerBytes, String footerSha, int series, int blocks, String first, String last, String format) {

    /** This month's entry of a dataset catalog (its index key replaced by {@code indexKey} when not null). */
    String entry(String otherIndexKey) {
      return "{\"month\":\"" + name + "\",\"range\":{\"startUs\":" + startUs + ",\"endUs\":" + endUs + "},\"revision\":1,\"series\":" + series
          + ",\"points\":" + series + ",\"index\":{\"format\":\"" + format + "\",\"key\":\"" + (otherIndexKey == null ? indexKey : otherIndexKey)
          + "\",\"bytes\":" + indexBytes + ",\"sha256\":\"" + indexSha + "\",\"footer\":{\"offset\":" + footerOffset + ",\"bytes\":" + footerBytes
          + ",\"sha256\":\"" + footerSha + "\"},\"series\":" + series + ",\"blocks\":" + blocks + ",\"owners\":true,\"first\":\"" + first
          + "\",\"last\":\"" + last + "\"}}";
    }

    String entry() {
      return entry(null);
    }
  }

  /** What the root catalog says of a dataset. */
  record Dataset(String group, String dataset, String key, long bytes, String sha, int months, String firstMonth, String lastMonth, String first,
      String last) {

    String entry(String otherKey) {
      return "{\"group\":\"" + group + "\",\"dataset\":\"" + dataset + "\",\"key\":\"" + (otherKey == null ? key : otherKey) + "\",\"bytes\":" + bytes
          + ",\"sha256\":\"" + sha + "\",\"months\":" + months + ",\"firstMonth\":\"" + firstMonth + "\",\"lastMonth\":\"" + lastMonth + "\""
          + (first == null ? "" : ",\"classes\":{\"first\":\"" + first + "\",\"last\":\"" + last + "\"}") + "}";
    }

    String entry() {
      return entry(null);
    }
  }

  static byte[] gzip(String text) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(text.getBytes(StandardCharsets.UTF_8));
    }
    return out.toByteArray();
  }

  static long startUs(String month) {
    return YearMonth.parse(month).atDay(1).atStartOfDay(ZoneOffset.UTC).toEpochSecond() * 1_000_000L;
  }

  static long endUs(String month) {
    return startUs(YearMonth.parse(month).plusMonths(1).toString());
  }

  /** The line a member of {@link #month} holds for a series. */
  static String line(String selector, String month) {
    return "LINE " + selector + " " + month;
  }

  /**
   * A committed month (manifest.json) over the whole calendar month: one batch object of one member each
   * series (one point, at the month's first microsecond + 1), and an index of blocks of {@code perBlock} series.
   */
  static Month month(Path root, String group, String dataset, String name, List<String> selectors, int perBlock) throws IOException {
    return month(root, group, dataset, name, selectors, perBlock, ArchiveIndex.INDEX_FORMAT);
  }

  /** {@link #month} in an index format: @2 (its parts in the footer) or @1 (a part table heading each block). */
  static Month month(Path root, String group, String dataset, String name, List<String> selectors, int perBlock, String format) throws IOException {
    boolean v1 = format.equals(ArchiveIndex.INDEX_FORMAT_1);
    String prefix = group + "/" + dataset + "/" + name + "/";
    long start = startUs(name);
    long end = endUs(name);
    Path dir = Files.createDirectories(root.resolve(prefix));
    ByteArrayOutputStream object = new ByteArrayOutputStream();
    TreeMap<String, long[]> members = new TreeMap<>();
    for (String sel : selectors) {
      byte[] m = gzip(line(sel, name) + "\n");
      members.put(sel, new long[] { object.size(), m.length });
      object.write(m);
    }
    byte[] obj = object.toByteArray();
    Files.write(dir.resolve("batch-00001.wrap.gz"), obj);
    ByteArrayOutputStream idx = new ByteArrayOutputStream();
    List<String> blocks = new ArrayList<>();
    List<String> sels = new ArrayList<>(members.keySet());
    StringBuilder monthParts = new StringBuilder("[");
    for (int b = 0; b < sels.size(); b += perBlock) {
      List<String> chunk = sels.subList(b, Math.min(sels.size(), b + perBlock));
      StringBuilder table = new StringBuilder("[");
      StringBuilder lines = new StringBuilder();
      for (int i = 0; i < chunk.size(); i++) {
        long[] m = members.get(chunk.get(i));
        byte[] bytes = Arrays.copyOfRange(obj, (int) m[0], (int) (m[0] + m[1]));
        String part = "[\"batch-00001.wrap.gz\"," + m[0] + ',' + m[1] + ",\"" + ArchiveIndex.sha256(bytes) + "\",0]";
        table.append(i == 0 ? "" : ",").append(part);
        monthParts.append(b + i == 0 ? "" : ",").append(part);
        int n = v1 ? i : b + i;
        // Half the entries with their line in the member (indexes written before lines have none).
        lines.append(chunk.get(i)).append("\t\t\t\t").append(n).append(":1:").append(start + 1).append(':').append(start + 1)
            .append(i % 2 == 0 ? ":0" : "").append('\n');
      }
      byte[] gz = gzip(v1 ? table.append("]\n").append(lines).toString() : lines.toString());
      blocks.add("{\"first\":\"" + chunk.get(0) + "\",\"last\":\"" + chunk.get(chunk.size() - 1) + "\",\"offset\":" + idx.size() + ",\"bytes\":"
          + gz.length + ",\"sha256\":\"" + ArchiveIndex.sha256(gz) + "\",\"series\":" + chunk.size() + "}");
      idx.write(gz);
    }
    byte[] footer = gzip("{\"format\":\"" + format + "\",\"series\":" + sels.size() + (v1 ? "" : ",\"parts\":" + monthParts + "]")
        + ",\"blocks\":[" + String.join(",", blocks) + "]}");
    long footerOffset = idx.size();
    idx.write(footer);
    byte[] index = idx.toByteArray();
    String key = prefix + "index-" + ArchiveIndex.sha256(index).substring(0, 16) + ".idx";
    Files.write(root.resolve(key), index);
    Files.writeString(dir.resolve("manifest.json"), "{\"range\":{\"startUs\":" + start + ",\"endUs\":" + end + "},\"batches\":[{\"batch\":1}],"
        + "\"index\":{\"format\":\"" + format + "\",\"key\":\"" + key + "\",\"footer\":{\"offset\":" + footerOffset + ",\"bytes\":"
        + footer.length + ",\"sha256\":\"" + ArchiveIndex.sha256(footer) + "\"}}}");
    return new Month(group, dataset, name, prefix, start, end, key, index.length, ArchiveIndex.sha256(index), footerOffset, footer.length,
        ArchiveIndex.sha256(footer), sels.size(), blocks.size(), sels.get(0), sels.get(sels.size() - 1), format);
  }

  /** A dataset catalog of these month entries (JSON), written at its content-named key. */
  static Dataset datasetCatalog(Path root, String group, String dataset, List<String> entries, String firstMonth, String lastMonth, String first,
      String last) throws IOException {
    byte[] bytes = ("{\"format\":\"warp10-offloader/dataset-catalog@1\",\"group\":\"" + group + "\",\"dataset\":\"" + dataset + "\",\"months\":["
        + String.join(",", entries) + "]}").getBytes(StandardCharsets.UTF_8);
    String sha = ArchiveIndex.sha256(bytes);
    String key = group + "/" + dataset + "/catalog-" + sha.substring(0, 16) + ".json";
    write(root, key, bytes);
    return new Dataset(group, dataset, key, bytes.length, sha, entries.size(), firstMonth, lastMonth, first, last);
  }

  /** The dataset catalog of these indexed months, their class range the dataset's. */
  static Dataset datasetCatalog(Path root, List<Month> months) throws IOException {
    List<String> entries = new ArrayList<>();
    String first = null;
    String last = null;
    for (Month m : months) {
      entries.add(m.entry());
      if (first == null || m.first().compareTo(first) < 0) first = m.first();
      if (last == null || m.last().compareTo(last) > 0) last = m.last();
    }
    Month a = months.get(0);
    return datasetCatalog(root, a.group(), a.dataset(), entries, a.name(), months.get(months.size() - 1).name(), first, last);
  }

  /** The root catalog of these dataset entries (JSON), written as the offloader does: a new file renamed over the old. */
  static void rootCatalog(Path root, List<String> entries) throws IOException {
    write(root, "catalog.json", ("{\"format\":\"warp10-offloader/catalog@1\",\"updatedAt\":\"2026-12-06T21:00:00.000Z\",\"datasets\":["
        + String.join(",", entries) + "]}").getBytes(StandardCharsets.UTF_8));
  }

  static void write(Path root, String key, byte[] bytes) throws IOException {
    Path target = root.resolve(key);
    Files.createDirectories(target.getParent());
    Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
    Files.write(tmp, bytes);
    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
