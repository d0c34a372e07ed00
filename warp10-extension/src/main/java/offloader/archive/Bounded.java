package offloader.archive;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/** Reads that stop at a cap instead of trusting a length or a compression ratio. */
final class Bounded {

  private Bounded() {}

  /** At most {@code cap} bytes of {@code in}; an IOException naming {@code what} past that. */
  static byte[] read(InputStream in, long cap, String what) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.min(cap, 1 << 16));
    byte[] buf = new byte[1 << 16];
    long total = 0;
    int n;
    while ((n = in.read(buf)) > 0) {
      total += n;
      if (total > cap) throw new IOException(what + " is larger than " + cap + " bytes, the limit");
      out.write(buf, 0, n);
    }
    return out.toByteArray();
  }

  /** {@code bytes} gunzipped (every member), at most {@code cap} bytes of output. */
  static byte[] gunzip(byte[] bytes, long cap, String what) throws IOException {
    try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(bytes), 1 << 16)) {
      return read(in, cap, what + " decompressed");
    } catch (ZipException ze) {
      throw new IOException(what + " is not readable gzip", ze);
    }
  }

  /**
   * Lines {@code wanted} (sorted, distinct; line {@code i} ends at the {@code i+1}-th newline) of gzip
   * {@code bytes}, inflated only up to the last wanted line, at most {@code cap} bytes of output.
   */
  static Map<Integer, String> gunzipLines(byte[] bytes, long cap, String what, int[] wanted) throws IOException {
    Map<Integer, String> out = new HashMap<>();
    if (wanted.length == 0) return out;
    int last = wanted[wanted.length - 1];
    int w = 0;
    int line = 0;
    long total = 0;
    ByteArrayOutputStream cur = wanted[0] == 0 ? new ByteArrayOutputStream(512) : null;
    try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(bytes), 1 << 16)) {
      byte[] buf = new byte[1 << 16];
      int n;
      reading:
      while ((n = in.read(buf)) > 0) {
        total += n;
        if (total > cap) throw new IOException(what + " decompressed is larger than " + cap + " bytes, the limit");
        int from = 0;
        for (int i = 0; i < n; i++) {
          if (buf[i] != '\n') continue;
          if (cur != null) {
            cur.write(buf, from, i - from);
            out.put(line, cur.toString(StandardCharsets.US_ASCII));
            cur = null;
            w++;
          }
          line++;
          if (line > last) break reading;
          from = i + 1;
          if (w < wanted.length && wanted[w] == line) cur = new ByteArrayOutputStream(512);
        }
        if (cur != null) cur.write(buf, from, n - from);
      }
    } catch (ZipException ze) {
      throw new IOException(what + " is not readable gzip", ze);
    }
    return out;
  }

  static boolean isGzip(byte[] bytes) {
    return bytes.length > 2 && (bytes[0] & 0xff) == 0x1f && (bytes[1] & 0xff) == 0x8b;
  }
}
