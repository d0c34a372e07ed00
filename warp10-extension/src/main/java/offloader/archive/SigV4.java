package offloader.archive;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * AWS Signature Version 4 of a bodiless S3 request (GET, HEAD): what every S3-compatible store accepts.
 * The secret never leaves this class: only the signature does.
 */
final class SigV4 {

  /** SHA-256 of an empty body, the payload hash of a GET or HEAD. */
  static final String EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

  private final String accessKeyId;
  private final byte[] secret;
  private final String region;

  SigV4(String accessKeyId, String secretAccessKey, String region) {
    this.accessKeyId = accessKeyId;
    this.secret = ("AWS4" + secretAccessKey).getBytes(StandardCharsets.UTF_8);
    this.region = region;
  }

  /**
   * The Authorization header of a request. {@code path} is already URI-encoded (as sent);
   * {@code query} maps raw names to raw values; {@code headers} are every header to sign (lower-case
   * names, host and x-amz-date and x-amz-content-sha256 included); {@code amzDate} is yyyyMMdd'T'HHmmss'Z'.
   */
  String authorization(String method, String path, Map<String, String> query, Map<String, String> headers, String amzDate) {
    StringBuilder cq = new StringBuilder();
    for (Map.Entry<String, String> e : new TreeMap<>(query).entrySet()) {
      if (cq.length() > 0) cq.append('&');
      cq.append(encode(e.getKey(), true)).append('=').append(encode(e.getValue(), true));
    }
    TreeMap<String, String> sorted = new TreeMap<>(headers);
    StringBuilder ch = new StringBuilder();
    for (Map.Entry<String, String> e : sorted.entrySet()) ch.append(e.getKey()).append(':').append(e.getValue().trim()).append('\n');
    String signed = String.join(";", sorted.keySet());
    String canonical = method + "\n" + path + "\n" + cq + "\n" + ch + "\n" + signed + "\n"
        + headers.getOrDefault("x-amz-content-sha256", EMPTY_SHA256);
    String day = amzDate.substring(0, 8);
    String scope = day + "/" + region + "/s3/aws4_request";
    String toSign = "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex(sha256(canonical));
    byte[] key = hmac(hmac(hmac(hmac(secret, day), region), "s3"), "aws4_request");
    String signature = hex(hmac(key, toSign));
    return "AWS4-HMAC-SHA256 Credential=" + accessKeyId + "/" + scope + ",SignedHeaders=" + signed + ",Signature=" + signature;
  }

  /** RFC 3986 encoding as SigV4 wants it: unreserved characters kept, '/' kept in paths. */
  static String encode(String s, boolean slash) {
    StringBuilder out = new StringBuilder();
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      char c = (char) (b & 0xff);
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !slash)) {
        out.append(c);
      } else {
        out.append('%').append(String.format("%02X", b & 0xff));
      }
    }
    return out.toString();
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] hmac(byte[] key, String data) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }
}
