package offloader.archive;

import io.warp10.ThriftUtils;
import io.warp10.continuum.gts.GTSHelper;
import io.warp10.continuum.store.Constants;
import io.warp10.continuum.gts.GTSWrapperHelper;
import io.warp10.continuum.gts.GeoTimeSerie;
import io.warp10.continuum.store.thrift.data.GTSWrapper;
import io.warp10.crypto.OrderPreservingBase64;
import io.warp10.script.NamedWarpScriptFunction;
import io.warp10.script.WarpScriptException;
import io.warp10.script.WarpScriptLib;
import io.warp10.script.WarpScriptStack;
import io.warp10.script.WarpScriptStackFunction;
import io.warp10.script.functions.FETCH;
import io.warp10.script.functions.PARSESELECTOR;
import io.warp10.continuum.Tokens;
import io.warp10.quasar.token.thrift.data.ReadToken;
import io.warp10.warp.sdk.Capabilities;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.thrift.TDeserializer;
import org.apache.thrift.TSerializer;
import org.apache.thrift.TException;

/**
 * {@code { 'token' … 'selector' … 'start' … 'end' … } ARCHIVE.FETCH}: the archived points FETCH would
 * have returned before the archive, read in place from the archive's seekable objects.
 *
 * <p>Which series: as FETCH would decide. The month's index records each archived series' class, labels,
 * attributes, owner and producer; Warp 10's own selector matcher selects among them with the caller's
 * selector and its token's owners, producers, applications and labels, as FIND does, and FIND's
 * {@code gts.limit} counts them. So a series is found whether or not its metadata is still in Warp 10.
 * Series whose owner the index does not record (months committed before owners were) are selected by a
 * FIND with the caller's token, as before. The index gives where their points are. Only their members are
 * read, each checked by its SHA-256, decoded with Warp 10's own UNWRAP code and clipped to the window.
 * FETCH's {@code fetch.limit} applies: the points the index promises are counted before anything is read,
 * and the points decoded while they are. The token is checked as FETCH checks it ({@code .nofetch},
 * {@code .nofind}, its {@code .start} and {@code .end}). Parts are read on the extension's own bounded
 * pool, within {@link Limits#timeoutMs()}.
 */
public class ArchiveFetch extends NamedWarpScriptFunction implements WarpScriptStackFunction {

  private final ArchiveIndex index;
  private final String capability;
  private final ExecutorService pool;

  public ArchiveFetch(String name, ArchiveIndex index, String capability, ExecutorService pool) {
    super(name);
    this.index = index;
    this.capability = capability;
    this.pool = pool;
  }

  @Override
  public Object apply(WarpScriptStack stack) throws WarpScriptException {
    Object top = stack.pop();
    if (!(top instanceof Map)) {
      throw new WarpScriptException(getName() + " expects a parameter map, as FETCH's: { 'token' 'selector' 'start' 'end' }.");
    }
    Map<?, ?> params = (Map<?, ?>) top;
    if (null == Capabilities.get(stack, capability)) {
      throw new WarpScriptException(getName() + " needs the '" + capability + "' capability: add a token that grants it with CAPADD first.");
    }
    if (!(params.get("token") instanceof String token)) throw new WarpScriptException(getName() + " expects a 'token' STRING (a read token).");
    long[] window = tokenWindow(token, window(params));
    long start = window[0];
    long end = window[1];
    if (start > end) {
      stack.push(new ArrayList<Object>());
      return stack;
    }

    // The series the caller may see, selected on the archive's own index as FIND would select them; FIND
    // itself (the hot directory) only for archived series whose owner the index does not record.
    List<Selection> selections = selections(params, token);
    ArchiveIndex.HotFind hot = () -> {
      Map<Object, Object> find = new LinkedHashMap<>();
      for (String k : new String[] { "token", "selector", "selectors", "class", "labels" }) {
        if (params.containsKey(k)) find.put(k, params.get(k));
      }
      Set<String> wanted = new HashSet<>();
      try {
        stack.push(find);
        ((WarpScriptStackFunction) WarpScriptLib.getFunction(WarpScriptLib.FIND)).apply(stack);
        if (stack.pop() instanceof List<?> l) {
          for (Object o : l) if (o instanceof GeoTimeSerie g) wanted.add(GTSHelper.buildSelector(g, false));
        }
      } catch (WarpScriptException e) {
        throw new HotFindFailed(e);
      }
      return wanted;
    };

    // One time box for the call: the index blocks read ahead, then the parts.
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(index.limits().timeoutMs());
    Map<String, ArchiveIndex.Hit> hits;
    try {
      hits = index.select(selections, start, end, hot, pool, deadline);
    } catch (HotFindFailed f) {
      throw f.cause;
    } catch (IOException ioe) {
      throw new WarpScriptException(getName() + " cannot read the archive's index: " + ioe.getMessage());
    }

    // FIND's limit on series, as FETCH counts them.
    AtomicLong gtscount = (AtomicLong) stack.getAttribute(WarpScriptStack.ATTRIBUTE_GTS_COUNT);
    long gtsLimit = (long) stack.getAttribute(WarpScriptStack.ATTRIBUTE_GTS_LIMIT);
    if (gtscount.addAndGet(hits.size()) > gtsLimit) {
      throw new WarpScriptException(getName() + " exceeded limit of " + gtsLimit + " Geo Time Series, current count is " + gtscount.get());
    }

    // FETCH's limit, against what the index promises, before anything is read.
    AtomicLong fetched = (AtomicLong) stack.getAttribute(WarpScriptStack.ATTRIBUTE_FETCH_COUNT);
    long limit = (long) stack.getAttribute(WarpScriptStack.ATTRIBUTE_FETCH_LIMIT);
    stack.push(read(hits, start, end, fetched, limit, deadline));
    return stack;
  }

  /**
   * The points of the hits in [start, end], each series merged over its parts, read within FETCH's limit
   * (counted in {@code fetched}): what the index promises first, then what is decoded.
   */
  private List<Object> read(Map<String, ArchiveIndex.Hit> hits, long start, long end, AtomicLong fetched, long limit, long deadline)
      throws WarpScriptException {
    long promised = 0;
    for (ArchiveIndex.Hit h : hits.values()) promised += h.points();
    if (fetched.get() + promised > limit) {
      throw new WarpScriptException(getName() + " exceeded limit of " + limit + " datapoints, current count is " + (fetched.get() + promised) + ". Consider raising the limit or using capabilities.");
    }

    // Each part read once; its lines kept for the series wanted in it (by their line, when the index
    // records it), in object order (newest last).
    Map<ArchiveIndex.Part, Map<String, Integer>> byPart = new LinkedHashMap<>();
    for (ArchiveIndex.Hit h : hits.values()) {
      for (int i = 0; i < h.parts().size(); i++) {
        byPart.computeIfAbsent(h.parts().get(i), k -> new HashMap<>()).put(h.selector(), h.lines().get(i));
      }
    }
    List<List<Decoded>> decoded = readAll(byPart, start, end, fetched, limit, deadline);
    Map<String, GeoTimeSerie> out = new LinkedHashMap<>();
    Map<String, Integer> pieces = new LinkedHashMap<>();
    for (List<Decoded> part : decoded) {
      for (Decoded d : part) {
        String selector = d.selector();
        GeoTimeSerie clipped = d.gts();
        GeoTimeSerie base = out.get(selector);
        if (base == null) {
          out.put(selector, clipped);
        } else {
          GTSHelper.merge(base, clipped);
        }
        pieces.merge(selector, 1, Integer::sum);
      }
    }

    List<Object> result = new ArrayList<>(out.size());
    long points = 0;
    for (Map.Entry<String, GeoTimeSerie> e : out.entrySet()) {
      // A supplement rewrote some ticks: the value read last (the newest) wins, as for a restore.
      GeoTimeSerie g = pieces.get(e.getKey()) > 1 ? GTSHelper.dedup(e.getValue()) : e.getValue();
      if (g.size() == 0) continue;
      points += g.size();
      result.add(g);
    }
    fetched.addAndGet(points);
    return result;
  }

  /**
   * Queries of archived series run at start as a caller's would run (selection on the index, members read
   * on the pool, decoded, merged), with no token and no limit: the first query after a restart then finds
   * the code it runs linked (records, lambdas and string concatenations are, at their first use) and
   * compiled for data of the archive's own shape. Which series: {@link ArchiveIndex#samples}, over all the
   * months of their dataset, each its own members. How many of them read something (a test's question).
   */
  int warmQueries(int n) {
    int read = 0;
    try {
      for (ArchiveIndex.Sample sample : index.samples(n)) {
        // Exactly that series (a footer is the store's word: no regex, no other series), within a cap.
        Selection selection = Selection.exactly(sample.selector());
        if (selection == null) continue;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(index.limits().timeoutMs());
        Map<String, ArchiveIndex.Hit> hits = index.select(List.of(selection), sample.startUs(), sample.endUs() - 1, Set::of, pool, deadline);
        ArchiveIndex.Hit hit = hits.get(sample.selector());
        if (hit == null) continue;
        if (!read(Map.of(sample.selector(), hit), sample.startUs(), sample.endUs() - 1, new AtomicLong(), WARM_QUERY_POINTS, deadline).isEmpty()) read++;
      }
    } catch (Exception e) {
      // The first query meets it, and says what it is.
    }
    return read;
  }

  /** What one of the start's warm queries may decode: a series, not a dataset. */
  static final long WARM_QUERY_POINTS = 1_000_000;

  /** FIND's failure, carried out of the index's selection unchanged. */
  private static final class HotFindFailed extends java.io.UncheckedIOException {
    private static final long serialVersionUID = 1L;
    final transient WarpScriptException cause;

    HotFindFailed(WarpScriptException cause) {
      super(new IOException("FIND failed"));
      this.cause = cause;
    }
  }

  /** FETCH's selection parameters ('selector', 'selectors', or 'class' and 'labels') with the token's restrictions. */
  @SuppressWarnings("unchecked")
  private List<Selection> selections(Map<?, ?> params, String token) throws WarpScriptException {
    Map<String, String> restrictions = Tokens.labelSelectorsFromReadToken(Tokens.extractReadToken(token));
    List<Selection> out = new ArrayList<>();
    if (params.get("selectors") instanceof List<?> l) {
      for (Object sel : l) {
        Object[] parsed = PARSESELECTOR.parse(String.valueOf(sel));
        out.add(new Selection(parsed[0].toString(), (Map<String, String>) parsed[1], restrictions));
      }
    } else if (params.get("selector") instanceof String sel) {
      Object[] parsed = PARSESELECTOR.parse(sel);
      out.add(new Selection(parsed[0].toString(), (Map<String, String>) parsed[1], restrictions));
    } else if (params.get("class") instanceof String cls && params.get("labels") instanceof Map<?, ?> labels) {
      Map<String, String> l = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : labels.entrySet()) l.put(String.valueOf(e.getKey()), String.valueOf(e.getValue()));
      out.add(new Selection(cls, l, restrictions));
    } else {
      throw new WarpScriptException(getName() + " expects 'selector', 'selectors', or 'class' and 'labels', as FETCH.");
    }
    return out;
  }

  /** A failure inside a parallel decode; its message follows the function's name. */
  private static final class Failed extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Failed(String message) {
      super(message, null, false, false);
    }
  }

  record Decoded(String selector, GeoTimeSerie gts) {}

  /**
   * Parts read and decoded on the extension's pool (each on its own), in object order. The points decoded
   * count against fetch.limit as they come (the index's counts are the archive's word, not a bound); the
   * whole read is boxed in time; the first failure cancels the rest.
   */
  List<List<Decoded>> readAll(Map<ArchiveIndex.Part, Map<String, Integer>> byPart, long start, long end, AtomicLong fetched, long limit,
      long deadline) throws WarpScriptException {
    AtomicLong decodedPoints = new AtomicLong(fetched.get());
    List<Future<List<Decoded>>> futures = new ArrayList<>(byPart.size());
    try {
      for (Map.Entry<ArchiveIndex.Part, Map<String, Integer>> e : byPart.entrySet()) {
        futures.add(pool.submit(() -> decode(e.getKey(), e.getValue(), start, end, decodedPoints, limit)));
      }
      List<List<Decoded>> out = new ArrayList<>(futures.size());
      for (Future<List<Decoded>> f : futures) {
        long left = deadline - System.nanoTime();
        out.add(f.get(Math.max(0, left), TimeUnit.NANOSECONDS));
      }
      return out;
    } catch (TimeoutException te) {
      throw new WarpScriptException(getName() + " read the archive for more than " + index.limits().timeoutMs()
          + " ms (archive.fetch.timeout.ms): narrow the window or the selector.");
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
      throw new WarpScriptException(getName() + " was interrupted.");
    } catch (ExecutionException ee) {
      if (ee.getCause() instanceof Failed f) throw new WarpScriptException(getName() + f.getMessage());
      throw new WarpScriptException(getName() + " failed to read the archive (" + ee.getCause().getClass().getSimpleName() + ").");
    } catch (CancellationException | java.util.concurrent.RejectedExecutionException ce) {
      throw new WarpScriptException(getName() + " could not read the archive: its read pool is shut down.");
    } finally {
      for (Future<List<Decoded>> f : futures) f.cancel(true);
    }
  }

  /** Most lines of one part read by their number; past it, the part is read line by line. */
  static final int PICK_MAX = 256;

  /**
   * The series of one part that are wanted, each clipped to [start, end] (only when it goes beyond). When
   * the index gives each one's line (and few are wanted), only those lines are inflated and decoded; a line
   * that does not hold its series (an index at odds with its member) sends the part to the line-by-line read.
   */
  private List<Decoded> decode(ArchiveIndex.Part part, Map<String, Integer> wanted, long start, long end, AtomicLong decodedPoints, long limit) {
    // One deserializer a task: they are not thread-safe.
    TDeserializer deser = ThriftUtils.getTDeserializer();
    List<GTSWrapper> wrappers = null;
    List<String> selectors = null;
    // Picking lines pays when few of a member's (~1,000-3,000) are wanted; for many, one pass decodes them all.
    if (wanted.size() <= PICK_MAX && !wanted.containsValue(-1)) {
      int[] numbers = wanted.values().stream().mapToInt(Integer::intValue).distinct().sorted().toArray();
      Map<Integer, String> picked = read(() -> index.lines(part, numbers));
      wrappers = new ArrayList<>(wanted.size());
      selectors = new ArrayList<>(wanted.size());
      for (Map.Entry<String, Integer> w : wanted.entrySet()) {
        String line = picked.get(w.getValue());
        GTSWrapper wrapper = line == null ? null : unwrapOrNull(deser, line);
        if (wrapper == null || !wrapper.isSetMetadata() || !w.getKey().equals(GTSHelper.buildSelector(wrapper.getMetadata(), false))) {
          wrappers = null;
          break;
        }
        wrappers.add(wrapper);
        selectors.add(w.getKey());
      }
    }
    if (wrappers == null) {
      // Line by line: a member holds many series, their points are decoded only when the series is wanted.
      wrappers = new ArrayList<>();
      selectors = new ArrayList<>();
      for (String line : read(() -> index.lines(part))) {
        GTSWrapper wrapper = unwrap(deser, line, part);
        String selector = wrapper.isSetMetadata() ? GTSHelper.buildSelector(wrapper.getMetadata(), false) : null;
        if (selector != null && !wanted.containsKey(selector)) continue;
        wrappers.add(wrapper);
        selectors.add(selector);
      }
    }
    List<Decoded> out = new ArrayList<>(wrappers.size());
    for (int i = 0; i < wrappers.size(); i++) {
      GeoTimeSerie gts;
      String selector = selectors.get(i);
      try {
        gts = GTSWrapperHelper.fromGTSWrapperToGTS(wrappers.get(i));
        if (selector == null) {
          selector = GTSHelper.buildSelector(gts, false);
          if (!wanted.containsKey(selector)) continue;
        }
      } catch (RuntimeException e) {
        throw new Failed(" found an archived line that does not decode in " + part.object() + " (" + e.getClass().getSimpleName() + ")");
      }
      boolean inside = gts.size() == 0 || (GTSHelper.firsttick(gts) >= start && GTSHelper.lasttick(gts) <= end);
      GeoTimeSerie clipped = inside ? gts : GTSHelper.timeclip(gts, start, end);
      long count = decodedPoints.addAndGet(clipped.size());
      if (count > limit) {
        throw new Failed(" exceeded limit of " + limit + " datapoints, current count is " + count + ". Consider raising the limit or using capabilities.");
      }
      if (Thread.currentThread().isInterrupted()) throw new Failed(" was cancelled.");
      out.add(new Decoded(selector, clipped));
    }
    // Every series the index places in this part must be there: one missing is an index at odds with its
    // member, not a series without points (those the index does not list).
    Set<String> found = new HashSet<>();
    for (Decoded d : out) found.add(d.selector());
    if (!found.containsAll(wanted.keySet())) {
      throw new Failed(" cannot read the archive: " + ArchiveIndex.where(part) + " holds no line of a series its index places there");
    }
    return out;
  }

  private interface PartRead<T> {
    T get() throws IOException;
  }

  private static <T> T read(PartRead<T> r) {
    try {
      return r.get();
    } catch (IOException ioe) {
      throw new Failed(" cannot read the archive: " + ioe.getMessage());
    } catch (RuntimeException re) {
      throw new Failed(" cannot read the archive (" + re.getClass().getSimpleName() + ")");
    }
  }

  /** A picked line that does not decode: the index is at odds with its member, which is then read line by line. */
  private static GTSWrapper unwrapOrNull(TDeserializer deser, String line) {
    try {
      GTSWrapper wrapper = new GTSWrapper();
      deser.deserialize(wrapper, OrderPreservingBase64.decode(line.getBytes(StandardCharsets.US_ASCII)));
      return wrapper;
    } catch (TException | RuntimeException e) {
      return null;
    }
  }

  private static GTSWrapper unwrap(TDeserializer deser, String line, ArchiveIndex.Part part) {
    try {
      GTSWrapper wrapper = new GTSWrapper();
      deser.deserialize(wrapper, OrderPreservingBase64.decode(line.getBytes(StandardCharsets.US_ASCII)));
      return wrapper;
    } catch (TException | RuntimeException e) {
      throw new Failed(" found an archived line that does not decode in " + part.object() + " (" + e.getClass().getSimpleName() + ")");
    }
  }

  /**
   * The read path run at start on a made-up member as the archive writes them (1,000 series of 10 points,
   * one a line, ~100 KiB gzipped): checked by its SHA-256, inflated to its last line, that line decoded and
   * matched, every selector of the member tried by a selection, the points clipped and merged. Run
   * {@code runs} times, so that the first query after a restart finds it compiled, not only loaded (the
   * SHA-256 and the line scan of a real member run interpreted at a fraction of their speed). Whether it
   * ran through (a test's question; at start a failure only leaves the cost to the first query).
   */
  static boolean warmUp(int runs) {
    try {
      TSerializer ser = ThriftUtils.getTSerializer();
      StringBuilder text = new StringBuilder();
      List<String> selectors = new ArrayList<>();
      for (int s = 0; s < WARM_UP_SERIES; s++) {
        GeoTimeSerie g = new GeoTimeSerie();
        g.setName("warm.up");
        g.setLabels(new HashMap<>(Map.of("app", String.format("%08x-0000-4000-8000-%012x", s / 4, s), "inst", String.format("%08x", s * 2654435761L))));
        for (long t = 1; t <= 10; t++) GTSHelper.setValue(g, t * 3_600_000_000L + s, (s * t) % 100);
        text.append(new String(OrderPreservingBase64.encode(ser.serialize(GTSWrapperHelper.fromGTSToGTSWrapper(g, true))), StandardCharsets.US_ASCII))
            .append('\n');
        selectors.add(GTSHelper.buildSelector(g, false));
      }
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      try (java.util.zip.GZIPOutputStream gz = new java.util.zip.GZIPOutputStream(out)) {
        gz.write(text.toString().getBytes(StandardCharsets.US_ASCII));
      }
      byte[] member = out.toByteArray();
      int last = WARM_UP_SERIES - 1;
      String wanted = selectors.get(last);
      Object[] parsed = PARSESELECTOR.parse(wanted);
      @SuppressWarnings("unchecked")
      Selection selection = new Selection(parsed[0].toString(), (Map<String, String>) parsed[1], Map.of());
      boolean ok = true;
      for (int r = 0; r < runs; r++) {
        ArchiveIndex.sha256(member);
        String line = Bounded.gunzipLines(member, 1 << 24, "warm-up", new int[] { last }).get(last);
        GTSWrapper w = new GTSWrapper();
        ThriftUtils.getTDeserializer().deserialize(w, OrderPreservingBase64.decode(line.getBytes(StandardCharsets.US_ASCII)));
        int may = 0;
        for (String sel : selectors) if (selection.mayMatch(sel, false)) may++;
        io.warp10.continuum.store.thrift.data.Metadata m = Selection.metadata(wanted, "owner", "producer", null);
        GeoTimeSerie gts = GTSWrapperHelper.fromGTSWrapperToGTS(w);
        GTSHelper.merge(GTSHelper.timeclip(gts, 2 * 3_600_000_000L, 5 * 3_600_000_000L), gts);
        ok &= may == 1 && selection.matches(m) && wanted.equals(GTSHelper.buildSelector(w.getMetadata(), false)) && GTSHelper.dedup(gts).size() == 10;
      }
      return ok;
    } catch (Exception e) {
      return false;
    }
  }

  /** The made-up member's series. */
  static final int WARM_UP_SERIES = 1_000;

  /**
   * The window narrowed as FETCH narrows it for this token ({@code .start}, {@code .end}); a token FETCH
   * refuses ({@code .nofetch}, {@code .nofind}) refused with FETCH's words. Restrictions FETCH applies by
   * count ({@code .count}, {@code .pre}, {@code .post}) have no equivalent here: such a token is refused.
   */
  private long[] tokenWindow(String token, long[] window) throws WarpScriptException {
    ReadToken rtoken;
    try {
      rtoken = Tokens.extractReadToken(token);
      Map<String, String> attrs = rtoken.getAttributes();
      if (attrs != null && (attrs.containsKey(Constants.TOKEN_ATTR_NOFETCH) || attrs.containsKey(Constants.TOKEN_ATTR_NOFIND))) {
        throw new WarpScriptException("Token cannot be used for fetching data.");
      }
    } catch (WarpScriptException wse) {
      throw new WarpScriptException(getName() + " given an invalid read token.", wse);
    }
    Map<String, String> attrs = rtoken.getAttributes();
    if (attrs == null || attrs.isEmpty()) return window;
    for (String a : new String[] { Constants.TOKEN_ATTR_COUNT, Constants.TOKEN_ATTR_BOUNDARY_PRE, Constants.TOKEN_ATTR_BOUNDARY_POST }) {
      if (attrs.containsKey(a)) {
        throw new WarpScriptException(getName() + " cannot honour the token's '" + a + "' restriction: use FETCH with this token.");
      }
    }
    Map<String, Object> p = new HashMap<>();
    p.put(FETCH.PARAM_START, window[0]);
    p.put(FETCH.PARAM_END, window[1]);
    Map<String, Object> t = FETCH.parseTokenAttributes(rtoken, p);
    long start = t.get(FETCH.PARAM_START) instanceof Long s && s > window[0] ? s : window[0];
    long end = t.get(FETCH.PARAM_END) instanceof Long e && e < window[1] ? e : window[1];
    return new long[] { start, end };
  }

  /** [start, end], both inclusive, from FETCH's 'start' + 'end' or 'end' + 'timespan'. */
  private long[] window(Map<?, ?> params) throws WarpScriptException {
    Object end = params.get("end");
    Object start = params.get("start");
    Object timespan = params.get("timespan");
    if (end == null) throw new WarpScriptException(getName() + " expects 'end' (and 'start' or 'timespan').");
    long e = instant(end, "end");
    if (start != null) return new long[] { instant(start, "start"), e };
    if (timespan instanceof Long t && t > 0) return new long[] { e - t + 1, e };
    throw new WarpScriptException(getName() + " expects 'start', or a positive LONG 'timespan'.");
  }

  private long instant(Object v, String name) throws WarpScriptException {
    if (v instanceof Long l) return l;
    if (v instanceof String s) {
      try {
        Instant i = Instant.parse(s);
        long perSecond = Constants.TIME_UNITS_PER_S;
        return i.getEpochSecond() * perSecond + i.getNano() / (1_000_000_000L / perSecond);
      } catch (RuntimeException re) {
        throw new WarpScriptException(getName() + " '" + name + "' is not an ISO-8601 instant: " + s);
      }
    }
    throw new WarpScriptException(getName() + " expects '" + name + "' to be a LONG or an ISO-8601 STRING.");
  }
}
