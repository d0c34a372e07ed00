package offloader.archive;

import java.io.IOException;
import java.util.List;

/** Where the archive is read from: keys as the offloader writes them ({@code group/dataset/YYYY-MM/...}). */
public interface ArchiveStore {

  /** Every committed month: the prefixes {@code group/dataset/YYYY-MM/} that hold a manifest.json, sorted. */
  List<String> months() throws IOException;

  /** A whole object; null when there is none. */
  byte[] get(String key) throws IOException;

  /** {@code length} bytes of an object from {@code offset}; an IOException naming the key when absent or short. */
  byte[] range(String key, long offset, long length) throws IOException;

  /** What changes when the object is rewritten (size and modification time, an ETag); null when absent. */
  String version(String key) throws IOException;
}
