package offloader.archive;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

/** A local (or mounted) directory: the offloader's {@code store: { type: local, path }}. */
public final class LocalStore implements ArchiveStore {

  private final Path root;

  public LocalStore(Path root) {
    this.root = root;
  }

  @Override
  public List<String> months() throws IOException {
    List<String> out = new ArrayList<>();
    for (String group : dirs(root)) {
      for (String dataset : dirs(root.resolve(group))) {
        for (String month : dirs(root.resolve(group).resolve(dataset))) {
          String prefix = group + "/" + dataset + "/" + month + "/";
          if (ArchiveIndex.MONTH.matcher(month).matches() && Files.isRegularFile(root.resolve(prefix + "manifest.json"))) out.add(prefix);
        }
      }
    }
    return out;
  }

  private static List<String> dirs(Path dir) throws IOException {
    List<String> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) return out;
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, Files::isDirectory)) {
      for (Path p : ds) out.add(p.getFileName().toString());
    }
    out.sort(null);
    return out;
  }

  @Override
  public byte[] get(String key) throws IOException {
    try {
      return Files.readAllBytes(root.resolve(key));
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  @Override
  public byte[] range(String key, long offset, long length) throws IOException {
    byte[] bytes = new byte[Math.toIntExact(length)];
    try (RandomAccessFile f = new RandomAccessFile(root.resolve(key).toFile(), "r")) {
      if (f.length() < offset + length) {
        throw new IOException(key + " is " + f.length() + " bytes, its index names bytes up to " + (offset + length));
      }
      f.seek(offset);
      f.readFully(bytes);
    } catch (FileNotFoundException fnf) {
      throw new IOException(key + " is missing", fnf);
    }
    return bytes;
  }

  @Override
  public String version(String key) throws IOException {
    try {
      BasicFileAttributes a = Files.readAttributes(root.resolve(key), BasicFileAttributes.class);
      // A rewrite by rename (as the offloader writes) changes the file key too.
      return a.size() + "@" + a.lastModifiedTime() + "#" + a.fileKey();
    } catch (NoSuchFileException e) {
      return null;
    }
  }
}
