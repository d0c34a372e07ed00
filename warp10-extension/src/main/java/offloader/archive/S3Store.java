package offloader.archive;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.xml.parsers.DocumentBuilderFactory;

import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * An S3-compatible store, path-style ({@code <endpoint>/<bucket>/<prefix><key>}, what MinIO, Ceph,
 * Cellar and s3rver serve), read with signed GET (ranges), HEAD and ListObjectsV2. Errors name the key
 * (relative to the archive) and the HTTP status, never the endpoint, the bucket or the credentials.
 */
public final class S3Store implements ArchiveStore {

  /** How long a listing of the committed months is used before the bucket is listed again. */
  static final long LISTING_TTL_MS = 60_000;

  @Override
  public long listingTtlMs() {
    return LISTING_TTL_MS;
  }
  /** A ListObjectsV2 page holds 1,000 keys of at most 1 KiB each: more is not a listing. */
  private static final long MAX_LISTING_PAGE_BYTES = 4L << 20;
  private static final java.util.regex.Pattern MANIFEST = java.util.regex.Pattern.compile("([^/]+/[^/]+/\\d{4}-\\d{2}/)manifest\\.json");
  private static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'");

  private final URI endpoint;
  private final String bucket;
  private final String prefix;
  private final SigV4 signer;
  private final HttpClient http;
  private final long maxReadBytes;

  public S3Store(String endpoint, String region, String bucket, String prefix, String accessKeyId, String secretAccessKey) {
    this(endpoint, region, bucket, prefix, accessKeyId, secretAccessKey, Limits.DEFAULTS.maxReadBytes());
  }

  public S3Store(String endpoint, String region, String bucket, String prefix, String accessKeyId, String secretAccessKey,
      long maxReadBytes) {
    this.maxReadBytes = maxReadBytes;
    this.endpoint = URI.create(endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint);
    this.bucket = bucket;
    this.prefix = prefix == null || prefix.isEmpty() || prefix.endsWith("/") ? (prefix == null ? "" : prefix) : prefix + "/";
    this.signer = new SigV4(accessKeyId, secretAccessKey, region);
    // HTTP/1.1: no h2c upgrade attempt, which some S3-compatible servers mishandle.
    this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
  }

  private <T> HttpResponse<T> send(String method, String key, Map<String, String> query, String range, HttpResponse.BodyHandler<T> body)
      throws IOException {
    if (key != null) ArchiveStore.checkKey(key);
    String path = "/" + SigV4.encode(bucket, true) + (key == null ? "/" : "/" + SigV4.encode(prefix + key, false));
    StringBuilder qs = new StringBuilder();
    for (Map.Entry<String, String> e : new java.util.TreeMap<>(query).entrySet()) {
      qs.append(qs.length() == 0 ? "?" : "&").append(SigV4.encode(e.getKey(), true)).append('=').append(SigV4.encode(e.getValue(), true));
    }
    URI uri = URI.create(endpoint + path + qs);
    String host = uri.getPort() == -1 ? uri.getHost() : uri.getHost() + ":" + uri.getPort();
    String date = ZonedDateTime.now(ZoneOffset.UTC).format(AMZ_DATE);
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("host", host);
    headers.put("x-amz-content-sha256", SigV4.EMPTY_SHA256);
    headers.put("x-amz-date", date);
    if (range != null) headers.put("range", range);
    HttpRequest.Builder req = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60)).method(method, HttpRequest.BodyPublishers.noBody());
    for (Map.Entry<String, String> h : headers.entrySet()) if (!h.getKey().equals("host")) req.header(h.getKey(), h.getValue());
    req.header("Authorization", signer.authorization(method, path, query, headers, date));
    try {
      return http.send(req.build(), body);
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while reading " + what(key));
    } catch (IOException ioe) {
      // The exception's kind only: its message can name the endpoint's host.
      throw new IOException("cannot reach the archive's S3 store for " + what(key) + " (" + ioe.getClass().getSimpleName() + ")");
    }
  }

  private HttpResponse<byte[]> send(String method, String key, Map<String, String> query, String range) throws IOException {
    return send(method, key, query, range, HttpResponse.BodyHandlers.ofByteArray());
  }

  /** An object as errors name it: its key in the archive, never the endpoint, the bucket or the prefix. */
  private static String what(String key) {
    return key == null ? "a listing of the archive" : ArchiveStore.printable(key);
  }

  private static IOException failed(String key, int status, byte[] bytes) {
    String body = new String(bytes == null ? new byte[0] : bytes, java.nio.charset.StandardCharsets.UTF_8);
    String code = body.replaceAll("(?s).*<Code>([A-Za-z]{1,64})</Code>.*", "$1");
    return new IOException(what(key) + ": HTTP " + status + (code.equals(body) ? "" : " " + code));
  }

  private static IOException failed(String key, HttpResponse<byte[]> res) {
    return failed(key, res.statusCode(), res.body());
  }

  /**
   * One flat listing of the prefix (the index keeps it {@link #listingTtlMs()}). Flat, not by delimiter,
   * because S3-compatible servers differ on nested common prefixes.
   */
  @Override
  public List<String> months() throws IOException {
    List<String> out = new ArrayList<>();
    String token = null;
    do {
      Map<String, String> q = new LinkedHashMap<>();
      q.put("list-type", "2");
      if (!prefix.isEmpty()) q.put("prefix", prefix);
      if (token != null) q.put("continuation-token", token);
      HttpResponse<java.io.InputStream> res = send("GET", null, q, null, HttpResponse.BodyHandlers.ofInputStream());
      byte[] page;
      try (java.io.InputStream in = res.body()) {
        if (res.statusCode() != 200) throw failed(null, res.statusCode(), in.readNBytes(4096));
        page = Bounded.read(in, MAX_LISTING_PAGE_BYTES, "a page of the archive's listing");
      }
      Document doc = xml(page);
      NodeList keys = doc.getElementsByTagName("Key");
      for (int i = 0; i < keys.getLength(); i++) {
        String key = keys.item(i).getTextContent();
        if (!key.startsWith(prefix)) continue;
        java.util.regex.Matcher m = MANIFEST.matcher(key.substring(prefix.length()));
        if (m.matches()) out.add(m.group(1));
      }
      token = "true".equals(text(doc.getDocumentElement(), "IsTruncated")) ? text(doc.getDocumentElement(), "NextContinuationToken") : null;
    } while (token != null);
    out.sort(null);
    return out;
  }

  @Override
  public byte[] get(String key, long maxBytes) throws IOException {
    HttpResponse<java.io.InputStream> res = send("GET", key, Map.of(), null, HttpResponse.BodyHandlers.ofInputStream());
    try (java.io.InputStream in = res.body()) {
      if (res.statusCode() == 404) return null;
      if (res.statusCode() != 200) throw failed(key, res.statusCode(), in.readNBytes(4096));
      long declared = res.headers().firstValueAsLong("content-length").orElse(-1);
      if (declared > maxBytes) throw new IOException(what(key) + " is " + declared + " bytes, over the limit of " + maxBytes);
      return Bounded.read(in, maxBytes, what(key));
    }
  }

  @Override
  public byte[] range(String key, long offset, long length) throws IOException {
    ArchiveStore.checkRange(what(key), offset, length, maxReadBytes);
    HttpResponse<java.io.InputStream> res =
        send("GET", key, Map.of(), "bytes=" + offset + "-" + (offset + length - 1), HttpResponse.BodyHandlers.ofInputStream());
    try (java.io.InputStream in = res.body()) {
      int status = res.statusCode();
      if (status == 404) throw new IOException(what(key) + " is missing");
      if (status == 416) throw new IOException(what(key) + " is shorter than its index says (bytes up to " + (offset + length) + ")");
      if (status != 206 && status != 200) throw failed(key, status, in.readNBytes(4096));
      // A server that ignores Range answers 200 with the whole object: skip to the range, read only it.
      if (status == 200) in.skipNBytes(offset);
      byte[] body = in.readNBytes((int) length);
      if (body.length != length) throw new IOException(what(key) + " gave " + body.length + " bytes at " + offset + ", its index says " + length);
      return body;
    } catch (java.io.EOFException eof) {
      throw new IOException(what(key) + " is shorter than its index says (bytes up to " + (offset + length) + ")");
    }
  }

  @Override
  public String version(String key) throws IOException {
    HttpResponse<byte[]> res = send("HEAD", key, Map.of(), null);
    if (res.statusCode() == 404) return null;
    if (res.statusCode() != 200) throw failed(key, res);
    return res.headers().firstValue("etag").orElse("") + "/" + res.headers().firstValue("content-length").orElse("") + "/"
        + res.headers().firstValue("last-modified").orElse("");
  }

  private static Document xml(byte[] body) throws IOException {
    try {
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      f.setNamespaceAware(false);
      return f.newDocumentBuilder().parse(new ByteArrayInputStream(body));
    } catch (Exception e) {
      throw new IOException("the S3 listing is not readable XML: " + e.getMessage(), e);
    }
  }

  private static String text(Element parent, String tag) {
    NodeList l = parent.getElementsByTagName(tag);
    return l.getLength() == 0 ? null : l.item(0).getTextContent();
  }
}
