package offloader.archive;

import io.warp10.json.JsonUtils;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * The archive's index, as the offloader writes it into a local store (docs/ARCHIVE-LAYOUT.md):
 * {@code <group>/<dataset>/<YYYY-MM>/manifest.json} for each committed month, its batch manifests
 * {@code batch-NNNNN.json} (gzip JSON) listing every series with its point count, first and last tick
 * and the gzip member of its object that holds it. Finds the members a selection needs and reads them
 * alone, each checked by its SHA-256.
 */
public final class ArchiveIndex {

  /** One part of an object to read: a member (offset, length, SHA-256), or the whole object. */
  public record Part(Path object, long offset, long length, String sha256, boolean whole) {}

  /** A series of the index inside the window, and where its lines are, in object order. */
  public record Hit(String selector, long points, List<Part> parts) {}

  private static final Pattern MONTH = Pattern.compile("\\d{4}-\\d{2}");

  private final Path root;

  public ArchiveIndex(Path root) {
    this.root = root;
  }

  public Path root() {
    return root;
  }

  /**
   * The archived series among {@code wanted} (selectors as TOSELECTOR writes them) with points in
   * [start, end] (both inclusive), in every committed month of every dataset whose range meets the
   * window. A month not committed (no manifest.json) or outside the window contributes nothing.
   */
  public Map<String, Hit> find(Set<String> wanted, long start, long end) throws IOException {
    Map<String, Hit> hits = new LinkedHashMap<>();
    if (wanted.isEmpty() || !Files.isDirectory(root)) return hits;
    for (Path group : dirs(root)) {
      for (Path dataset : dirs(group)) {
        for (Path month : dirs(dataset)) {
          if (!MONTH.matcher(month.getFileName().toString()).matches()) continue;
          Map<String, Object> manifest = json(month.resolve("manifest.json"));
          if (manifest == null) continue;
          Map<String, Object> range = map(manifest.get("range"));
          long from = num(range.get("startUs"));
          long until = num(range.get("endUs"));
          if (from > end || until <= start) continue;
          for (Object b : list(manifest.get("batches"))) {
            long batch = num(map(b).get("batch"));
            Map<String, Object> bm = json(month.resolve(String.format("batch-%05d.json", batch)));
            if (bm == null) throw new IOException(month + ": batch " + batch + " has no manifest");
            addObject(hits, month, map(bm.get("object")), list(bm.get("series")), wanted, start, end);
            for (Object sup : list(bm.get("supplements"))) {
              Map<String, Object> s = map(sup);
              addObject(hits, month, map(s.get("object")), list(s.get("series")), wanted, start, end);
            }
          }
        }
      }
    }
    return hits;
  }

  private static void addObject(Map<String, Hit> hits, Path month, Map<String, Object> object, List<Object> series,
      Set<String> wanted, long start, long end) throws IOException {
    Path file = month.getParent().getParent().getParent().resolve(str(object.get("key")));
    List<Object> members = list(object.get("members"));
    for (Object e : series) {
      Map<String, Object> entry = map(e);
      String selector = str(entry.get("selector"));
      long points = num(entry.get("points"));
      if (points == 0 || !wanted.contains(selector)) continue;
      long first = num(entry.get("first"));
      long last = num(entry.get("last"));
      if (first > end || last < start) continue;
      Part part;
      Object m = entry.get("member");
      if (m != null && !members.isEmpty()) {
        int i = (int) num(m);
        if (i < 0 || i >= members.size()) throw new IOException(file + ": series " + selector + " names member " + i + " of " + members.size());
        Map<String, Object> mem = map(members.get(i));
        part = new Part(file, num(mem.get("offset")), num(mem.get("bytes")), str(mem.get("sha256")), false);
      } else {
        // An archive written before seekable objects: the whole object, checked by its own hash.
        part = new Part(file, 0, num(object.get("bytes")), str(object.get("sha256")), true);
      }
      Hit hit = hits.computeIfAbsent(selector, k -> new Hit(k, 0, new ArrayList<>()));
      if (!hit.parts().contains(part)) hit.parts().add(part);
      hits.put(selector, new Hit(selector, hit.points() + points, hit.parts()));
    }
  }

  /** The lines of one part: its bytes read at their offset, checked against the index, gunzipped. */
  public static List<String> lines(Part part) throws IOException {
    byte[] bytes = new byte[Math.toIntExact(part.length())];
    try (RandomAccessFile f = new RandomAccessFile(part.object().toFile(), "r")) {
      if (f.length() < part.offset() + part.length()) {
        throw new IOException(part.object() + " is " + f.length() + " bytes, its index names bytes up to " + (part.offset() + part.length()));
      }
      f.seek(part.offset());
      f.readFully(bytes);
    } catch (java.io.FileNotFoundException fnf) {
      throw new IOException(part.object() + " is missing", fnf);
    }
    String sha = sha256(bytes);
    if (!sha.equals(part.sha256())) {
      throw new IOException(part.object() + (part.whole() ? "" : " member at byte " + part.offset()) + " has SHA-256 " + sha + ", its index says " + part.sha256());
    }
    List<String> out = new ArrayList<>();
    try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(bytes))) {
      String text = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
      for (String line : text.split("\n")) if (!line.isEmpty()) out.add(line);
    } catch (java.util.zip.ZipException ze) {
      throw new IOException(part.object() + (part.whole() ? "" : " member at byte " + part.offset()) + " is not readable gzip: " + ze.getMessage(), ze);
    }
    return out;
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static List<Path> dirs(Path dir) throws IOException {
    List<Path> out = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, Files::isDirectory)) {
      for (Path p : ds) out.add(p);
    }
    out.sort(null);
    return out;
  }

  /** A JSON document of the store (gzip or plain, as the offloader reads them); null when absent. */
  @SuppressWarnings("unchecked")
  static Map<String, Object> json(Path file) throws IOException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return null;
    }
    if (bytes.length > 2 && (bytes[0] & 0xff) == 0x1f && (bytes[1] & 0xff) == 0x8b) {
      try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(bytes)); ByteArrayOutputStream out = new ByteArrayOutputStream()) {
        in.transferTo(out);
        bytes = out.toByteArray();
      }
    }
    Object o = JsonUtils.jsonToObject(new String(bytes, StandardCharsets.UTF_8));
    if (!(o instanceof Map)) throw new IOException(file + " is not a JSON object");
    return (Map<String, Object>) o;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object o) throws IOException {
    if (o instanceof Map) return (Map<String, Object>) o;
    throw new IOException("the archive index holds " + o + " where an object was expected");
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Object o) throws IOException {
    if (o == null) return List.of();
    if (o instanceof List) return (List<Object>) o;
    throw new IOException("the archive index holds " + o + " where a list was expected");
  }

  private static long num(Object o) throws IOException {
    if (o instanceof Number n) return n.longValue();
    throw new IOException("the archive index holds " + o + " where a number was expected");
  }

  private static String str(Object o) throws IOException {
    if (o instanceof String s) return s;
    throw new IOException("the archive index holds " + o + " where a string was expected");
  }
}
