package offloader.archive;

import io.warp10.WarpURLDecoder;
import io.warp10.WarpURLEncoder;
import io.warp10.continuum.gts.GTSHelper;
import io.warp10.continuum.gts.MetadataSelectorMatcher;
import io.warp10.continuum.store.Constants;
import io.warp10.continuum.store.thrift.data.Metadata;
import io.warp10.script.WarpScriptException;

import java.io.UnsupportedEncodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One selector of an ARCHIVE.FETCH call as FIND would apply it for the caller's token: the user's class and
 * label selectors, {@code .owner}, {@code .producer} and {@code .app} replaced by the token's, matched by
 * Warp 10's own {@link MetadataSelectorMatcher} on each archived series' metadata (owner and producer
 * included, as the index records them). What the index uses to skip what cannot match: the exact class
 * (a range of the index's selector order) and the exact label pairs (each block's filter).
 */
final class Selection {

  private final MetadataSelectorMatcher matcher;
  /** The class's range in the index's order ({@code enc(class){}…}), or null for a class regex. */
  final String low;
  final String high;
  /** Exact {@code name=value} pairs (encoded as TOSELECTOR writes them) every matching series has. */
  final List<String> pairs = new ArrayList<>();
  /** Each pair's filter hashes, computed once for every block of every month the query reads. */
  final List<long[]> pairHashes = new ArrayList<>();
  /** Each pair's label name, as given. */
  private final List<String> pairNames = new ArrayList<>();

  /**
   * @param cls the class selector as PARSESELECTOR gives it ({@code name}, {@code =name} or {@code ~regex})
   * @param labels label selectors ({@code =value}, {@code ~regex}, or a plain value: exact)
   * @param token the token's own label selectors (Tokens.labelSelectorsFromReadToken)
   */
  Selection(String cls, Map<String, String> labels, Map<String, String> token) throws WarpScriptException {
    Map<String, String> all = new LinkedHashMap<>(labels);
    all.remove(Constants.PRODUCER_LABEL);
    all.remove(Constants.OWNER_LABEL);
    all.remove(Constants.APPLICATION_LABEL);
    all.putAll(token);
    StringBuilder sb = new StringBuilder();
    boolean regexClass = cls.startsWith("~");
    String exactClass = regexClass ? null : (cls.startsWith("=") ? cls.substring(1) : cls);
    // An exact class written '=class': a class named '~…' is that class, not a regex.
    sb.append(regexClass ? "~" + enc(cls.substring(1)) : "=" + enc(exactClass)).append('{');
    boolean first = true;
    for (Map.Entry<String, String> e : all.entrySet()) {
      String v = e.getValue();
      boolean regex = v.startsWith("~");
      String value = regex || v.startsWith("=") ? v.substring(1) : v;
      if (!first) sb.append(',');
      first = false;
      sb.append(enc(e.getKey())).append(regex ? '~' : '=').append(enc(value));
      // Owner and producer are no labels of the index's selectors: its filters do not hold them. An empty
      // value also selects series without that label: no pair every match must hold.
      boolean inSelector = !Constants.OWNER_LABEL.equals(e.getKey()) && !Constants.PRODUCER_LABEL.equals(e.getKey());
      if (!regex && inSelector && !value.isEmpty()) {
        pairs.add(pair(e.getKey(), value));
        pairHashes.add(ArchiveIndex.bloomHashes(pairs.get(pairs.size() - 1)));
        pairNames.add(e.getKey());
      }
    }
    sb.append('}');
    this.matcher = new MetadataSelectorMatcher(sb.toString());
    if (exactClass == null) {
      low = null;
      high = null;
    } else {
      Metadata m = new Metadata();
      m.setName(exactClass);
      m.setLabels(new LinkedHashMap<>());
      String selector = GTSHelper.buildSelector(m, false);
      low = selector.substring(0, selector.length() - 1); // enc(class){
      high = low.substring(0, low.length() - 1) + (char) ('{' + 1);
    }
  }

  /**
   * The selection of exactly the series {@code selector} names (as TOSELECTOR writes it: class and labels
   * URL-encoded), every value exact (none read as a regex), no token restriction; null when it is not such
   * a selector. Warp 10's exact selectors still match series with more labels: callers keep the one hit.
   */
  static Selection exactly(String selector) {
    try {
      int open = selector.indexOf('{');
      if (open <= 0 || !selector.endsWith("}")) return null;
      Metadata m = metadata(selector, null, null, null);
      Map<String, String> labels = new LinkedHashMap<>();
      for (Map.Entry<String, String> e : m.getLabels().entrySet()) labels.put(e.getKey(), "=" + e.getValue());
      return new Selection("=" + m.getName(), labels, Map.of());
    } catch (RuntimeException | UnsupportedEncodingException | WarpScriptException e) {
      return null;
    }
  }

  boolean matches(Metadata m) {
    return matcher.matches(m);
  }

  /** The pairs' filter hashes but those of a name some series of the block has as an attribute (the filter holds labels only). */
  List<long[]> labelOnly(Set<String> attributeNames) {
    if (attributeNames.isEmpty()) return pairHashes;
    List<long[]> out = new ArrayList<>(pairHashes.size());
    for (int i = 0; i < pairHashes.size(); i++) if (!attributeNames.contains(pairNames.get(i))) out.add(pairHashes.get(i));
    return out;
  }

  /** Whether an index entry's selector is in this selection's class range. */
  boolean inClassRange(String selector) {
    return low == null || (selector.compareTo(low) >= 0 && selector.compareTo(high) < 0);
  }

  /**
   * Whether an index entry's selector may match: in the class range, and holding each exact pair as one of
   * its labels (a string search; the matcher, which decodes the selector, then decides). A series with
   * attributes is left to the matcher: a label selector matches an attribute of that name too.
   */
  boolean mayMatch(String selector, boolean hasAttributes) {
    if (!inClassRange(selector)) return false;
    if (hasAttributes) return true;
    for (String p : pairs) {
      if (!holdsPair(selector, p)) return false;
    }
    return true;
  }

  /** Whether {@code pair} is one whole label of {@code selector} (labels are encoded: no ',' '{' '}' inside). */
  static boolean holdsPair(String selector, String pair) {
    int open = selector.indexOf('{');
    for (int at = selector.indexOf(pair, open + 1); at > 0; at = selector.indexOf(pair, at + 1)) {
      char before = selector.charAt(at - 1);
      int end = at + pair.length();
      char after = end < selector.length() ? selector.charAt(end) : 0;
      if ((before == '{' || before == ',') && (after == ',' || after == '}')) return true;
    }
    return false;
  }

  private static String enc(String s) throws WarpScriptException {
    try {
      return WarpURLEncoder.encode(s, StandardCharsets.UTF_8);
    } catch (UnsupportedEncodingException e) {
      throw new WarpScriptException(e);
    }
  }

  /** {@code name=value} as TOSELECTOR writes a label (what the index's block filters hold). */
  static String pair(String name, String value) {
    Metadata m = new Metadata();
    m.setName("x");
    Map<String, String> l = new LinkedHashMap<>();
    l.put(name, value);
    m.setLabels(l);
    String s = GTSHelper.buildSelector(m, false);
    return s.substring(s.indexOf('{') + 1, s.length() - 1);
  }

  /** An archived series' metadata from its index entry: class and labels from its selector, then owner and producer. */
  static Metadata metadata(String selector, String owner, String producer, Map<String, String> attributes) throws UnsupportedEncodingException {
    int open = selector.indexOf('{');
    Metadata m = new Metadata();
    m.setName(WarpURLDecoder.decode(selector.substring(0, open), StandardCharsets.UTF_8));
    Map<String, String> labels = new LinkedHashMap<>();
    String body = selector.substring(open + 1, selector.length() - 1);
    if (!body.isEmpty()) {
      for (String p : body.split(",")) {
        int eq = p.indexOf('=');
        labels.put(WarpURLDecoder.decode(p.substring(0, eq), StandardCharsets.UTF_8), WarpURLDecoder.decode(p.substring(eq + 1), StandardCharsets.UTF_8));
      }
    }
    if (owner != null) labels.put(Constants.OWNER_LABEL, owner);
    if (producer != null) labels.put(Constants.PRODUCER_LABEL, producer);
    m.setLabels(labels);
    m.setAttributes(attributes == null ? new LinkedHashMap<>() : attributes);
    return m;
  }
}
