package offloader.archive;

import java.io.IOException;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Where the archive is read from: keys as the offloader writes them ({@code group/dataset/YYYY-MM/...}).
 * Keys come from the archive's own manifests, so a store accepts only {@link #checkKey plain relative
 * keys} and its errors name the key, never a host path, an endpoint or a bucket.
 */
public interface ArchiveStore {

  /** Every committed month: the prefixes {@code group/dataset/YYYY-MM/} that hold a manifest.json, sorted. */
  List<String> months() throws IOException;

  /** How long a listing may be used again (0: list at every query, as a local directory costs little). */
  default long listingTtlMs() {
    return 0;
  }

  /** A whole object of at most {@code maxBytes} (checked before it is read); null when there is none. */
  byte[] get(String key, long maxBytes) throws IOException;

  /** {@code length} bytes of an object from {@code offset}; an IOException naming the key when absent or short. */
  byte[] range(String key, long offset, long length) throws IOException;

  /** What changes when the object is rewritten (size and modification time, an ETag); null when absent. */
  String version(String key) throws IOException;

  /** A range read and the object's {@link #version} as of the read. */
  record Versioned(byte[] bytes, String version) {}

  /**
   * {@link #range}, with the object's version when the store knows it at no extra request (null: it does
   * not, and what was read is then never kept between queries).
   */
  default Versioned rangeVersioned(String key, long offset, long length) throws IOException {
    return new Versioned(range(key, offset, length), null);
  }

  /** Whether {@link #rangeVersioned} gives versions (what was read may then be kept between queries). */
  default boolean versionsWithReads() {
    return false;
  }

  /** Segments of a key: no empty, {@code .} or {@code ..} one, nothing but printable ASCII. */
  Pattern SEGMENT = Pattern.compile("[A-Za-z0-9_\\-][A-Za-z0-9._\\-=@+,]*");

  /** {@code key} when it is relative and stays under the store's root; an IOException otherwise. */
  static String checkKey(String key) throws IOException {
    if (key == null || key.isEmpty() || key.length() > 1024) throw new IOException("the archive names an invalid object key");
    for (String segment : key.split("/", -1)) {
      if (!SEGMENT.matcher(segment).matches() || segment.equals("..")) {
        throw new IOException("the archive names an object key that is not a plain relative key of the store");
      }
    }
    return key;
  }

  /** A key as it may appear in an error: printable ASCII, at most 200 characters. */
  static String printable(String key) {
    String s = key.replaceAll("[^\\x20-\\x7e]", "?");
    return s.length() > 200 ? s.substring(0, 200) + "…" : s;
  }

  /** A range as a store may read it: non-negative, within the cap (before anything is allocated). */
  static void checkRange(String key, long offset, long length, long maxBytes) throws IOException {
    if (offset < 0 || length <= 0 || offset > Long.MAX_VALUE - length) {
      throw new IOException(key + ": the archive's index names an invalid range (" + offset + ", " + length + " bytes)");
    }
    if (length > maxBytes) {
      throw new IOException(key + ": the archive's index names a part of " + length + " bytes, over the limit of " + maxBytes
          + " (archive.fetch.max.read.bytes)");
    }
  }
}
