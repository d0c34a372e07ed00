package offloader.archive;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
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

  static boolean isGzip(byte[] bytes) {
    return bytes.length > 2 && (bytes[0] & 0xff) == 0x1f && (bytes[1] & 0xff) == 0x8b;
  }
}
