package offloader.archive;

import io.warp10.WarpConfig;
import io.warp10.warp.sdk.WarpScriptExtension;

import java.nio.file.Path;
import java.util.Map;

/**
 * Loads ARCHIVE.FETCH. Configuration (Warp 10's): {@code archive.fetch.dir}, the archive store's
 * directory (the offloader's local store: its {@code store.path}); {@code archive.fetch.capability},
 * the capability a script must hold (default {@code archive.fetch}).
 */
public class ArchiveFetchExtension extends WarpScriptExtension {

  public static final String DIR = "archive.fetch.dir";
  public static final String CAPABILITY = "archive.fetch.capability";

  @Override
  public Map<String, Object> getFunctions() {
    String dir = WarpConfig.getProperty(DIR);
    if (dir == null || dir.isBlank()) {
      throw new IllegalStateException("ARCHIVE.FETCH needs '" + DIR + "' in the Warp 10 configuration: the archive store's directory");
    }
    String capability = WarpConfig.getProperty(CAPABILITY, "archive.fetch");
    return Map.of("ARCHIVE.FETCH", new ArchiveFetch("ARCHIVE.FETCH", new ArchiveIndex(Path.of(dir)), capability));
  }
}
