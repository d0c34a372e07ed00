package offloader.archive;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

/**
 * A local (or mounted) directory: the offloader's {@code store: { type: local, path }}. A key is read
 * only when its real path (links resolved) is a regular file under the store's real root; errors name
 * the key, never a path of the host.
 */
public final class LocalStore implements ArchiveStore {

  private final Path root;
  private final long maxReadBytes;

  public LocalStore(Path root) {
    this(root, Limits.DEFAULTS.maxReadBytes());
  }

  public LocalStore(Path root, long maxReadBytes) {
    this.root = root.toAbsolutePath().normalize();
    this.maxReadBytes = maxReadBytes;
  }

  @Override
  public List<String> months() throws IOException {
    List<String> out = new ArrayList<>();
    try {
      for (String group : dirs(root)) {
        for (String dataset : dirs(root.resolve(group))) {
          for (String month : dirs(root.resolve(group).resolve(dataset))) {
            String prefix = group + "/" + dataset + "/" + month + "/";
            if (!ArchiveIndex.MONTH.matcher(month).matches()) continue;
            try {
              if (file(prefix + "manifest.json") != null) out.add(prefix);
            } catch (IOException notAFile) {
              // A manifest that is no regular file of the store is no committed month.
            }
          }
        }
      }
    } catch (IOException e) {
      throw new IOException("the archive store cannot be listed (" + e.getClass().getSimpleName() + ")");
    }
    return out;
  }

  private static List<String> dirs(Path dir) throws IOException {
    List<String> out = new ArrayList<>();
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) return out;
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))) {
      for (Path p : ds) {
        String name = p.getFileName().toString();
        if (ArchiveStore.SEGMENT.matcher(name).matches()) out.add(name);
      }
    }
    out.sort(null);
    return out;
  }

  /** The key's real path when it is a regular file under the root; null when absent. */
  private Path file(String key) throws IOException {
    ArchiveStore.checkKey(key);
    Path p = root.resolve(key).normalize();
    if (!p.startsWith(root)) throw new IOException("the archive names an object key that is not a plain relative key of the store");
    Path real;
    try {
      real = p.toRealPath();
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException e) {
      throw new IOException(key + " cannot be read (" + e.getClass().getSimpleName() + ")");
    }
    if (!real.startsWith(root.toRealPath())) throw new IOException(key + " leads outside the archive store");
    if (!Files.isRegularFile(real)) throw new IOException(key + " is not a regular file");
    return real;
  }

  @Override
  public byte[] get(String key, long maxBytes) throws IOException {
    Path p = file(key);
    if (p == null) return null;
    try (InputStream in = Files.newInputStream(p)) {
      long size = Files.size(p);
      if (size > maxBytes) throw new IOException(key + " is " + size + " bytes, over the limit of " + maxBytes);
      return Bounded.read(in, maxBytes, key);
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  @Override
  public byte[] range(String key, long offset, long length) throws IOException {
    ArchiveStore.checkRange(key, offset, length, maxReadBytes);
    Path p = file(key);
    if (p == null) throw new IOException(key + " is missing");
    try (SeekableByteChannel ch = Files.newByteChannel(p, StandardOpenOption.READ)) {
      // The file's length before the buffer: a manifest cannot make us allocate what is not there.
      if (ch.size() < offset + length) {
        throw new IOException(key + " is " + ch.size() + " bytes, its index names bytes up to " + (offset + length));
      }
      ByteBuffer buf = ByteBuffer.allocate((int) length);
      ch.position(offset);
      while (buf.hasRemaining()) {
        if (ch.read(buf) < 0) throw new IOException(key + " ended before byte " + (offset + length));
      }
      return buf.array();
    } catch (NoSuchFileException e) {
      throw new IOException(key + " is missing");
    }
  }

  @Override
  public boolean versionsWithReads() {
    return true;
  }

  /** A file's version costs a stat, no request: taken before the read, so a rewrite during it is seen at the next one. */
  @Override
  public Versioned rangeVersioned(String key, long offset, long length) throws IOException {
    ArchiveStore.checkRange(key, offset, length, maxReadBytes);
    String version = version(key);
    if (version == null) throw new IOException(key + " is missing");
    return new Versioned(range(key, offset, length), version);
  }

  @Override
  public String version(String key) throws IOException {
    Path p = file(key);
    if (p == null) return null;
    try {
      BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
      // A rewrite by rename (as the offloader writes) changes the file key too.
      return a.size() + "@" + a.lastModifiedTime() + "#" + a.fileKey();
    } catch (NoSuchFileException e) {
      return null;
    }
  }
}
