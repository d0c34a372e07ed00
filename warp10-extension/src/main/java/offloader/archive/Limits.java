package offloader.archive;

/**
 * What one ARCHIVE.FETCH may cost Warp 10, whatever the store holds: the store is written by another
 * system, so every length and count it gives is checked against these before anything is allocated.
 *
 * @param maxReadBytes  one object part read (a member, or a whole object of an archive without members)
 * @param maxManifestBytes  one manifest as stored (gzip or plain)
 * @param maxInflatedBytes  what one part or manifest may decompress to
 * @param timeoutMs  how long one call may spend reading and decoding the archive
 * @param threads  the extension's own read pool (shared by every call)
 */
public record Limits(long maxReadBytes, long maxManifestBytes, long maxInflatedBytes, long timeoutMs, int threads) {

  public static final Limits DEFAULTS = new Limits(64L << 20, 64L << 20, 256L << 20, 60_000L,
      Math.max(2, Runtime.getRuntime().availableProcessors()));

  public Limits {
    if (maxReadBytes <= 0 || maxManifestBytes <= 0 || maxInflatedBytes <= 0 || timeoutMs <= 0 || threads <= 0) {
      throw new IllegalArgumentException("every ARCHIVE.FETCH limit must be positive");
    }
    // A part or manifest over Integer.MAX_VALUE could not be held in one array anyway.
    if (maxReadBytes > Integer.MAX_VALUE - 8 || maxManifestBytes > Integer.MAX_VALUE - 8 || maxInflatedBytes > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("ARCHIVE.FETCH byte limits must be under 2 GiB");
    }
  }
}
