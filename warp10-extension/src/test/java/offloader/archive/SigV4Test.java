package offloader.archive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The signature examples of the S3 documentation (sig-v4-header-based-auth, "Example signature calculations"). */
class SigV4Test {

  private static final String ID = "AKIAIOSFODNN7EXAMPLE";
  private static final String SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  private final SigV4 signer = new SigV4(ID, SECRET, "us-east-1");

  private static Map<String, String> headers(String range) {
    Map<String, String> h = new LinkedHashMap<>();
    h.put("host", "examplebucket.s3.amazonaws.com");
    if (range != null) h.put("range", range);
    h.put("x-amz-content-sha256", SigV4.EMPTY_SHA256);
    h.put("x-amz-date", "20130524T000000Z");
    return h;
  }

  @Test
  void getObjectWithARange() {
    String auth = signer.authorization("GET", "/test.txt", Map.of(), headers("bytes=0-9"), "20130524T000000Z");
    assertEquals("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", auth);
    assertFalse(auth.contains(SECRET), "the secret is never in the header");
  }

  @Test
  void listObjectsWithAQuery() {
    Map<String, String> q = new LinkedHashMap<>();
    q.put("prefix", "J");
    q.put("max-keys", "2");
    String auth = signer.authorization("GET", "/", q, headers(null), "20130524T000000Z");
    assertEquals("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        + "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
        + "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7", auth);
  }

  @Test
  void encodesAsSigV4Wants() {
    assertEquals("a/b%20c%2Bd~_.-", SigV4.encode("a/b c+d~_.-", false));
    assertEquals("a%2Fb", SigV4.encode("a/b", true));
  }
}
