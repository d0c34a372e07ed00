package offloader.archive;

import io.warp10.continuum.Configuration;
import io.warp10.continuum.Tokens;
import io.warp10.continuum.gts.GTSDecoder;
import io.warp10.continuum.gts.GTSHelper;
import io.warp10.continuum.store.Constants;
import io.warp10.continuum.store.DirectoryClient;
import io.warp10.continuum.store.GTSDecoderIterator;
import io.warp10.continuum.store.MetadataIterator;
import io.warp10.continuum.store.StoreClient;
import io.warp10.continuum.store.thrift.data.DirectoryRequest;
import io.warp10.continuum.store.thrift.data.FetchRequest;
import io.warp10.continuum.store.thrift.data.Metadata;
import io.warp10.quasar.token.thrift.data.ReadToken;
import io.warp10.quasar.token.thrift.data.WriteToken;
import io.warp10.script.NamedWarpScriptFunction;
import io.warp10.script.WarpScriptException;
import io.warp10.script.WarpScriptStack;
import io.warp10.script.WarpScriptStackFunction;
import io.warp10.script.functions.FIND;
import io.warp10.standalone.StandaloneDirectoryClient;
import io.warp10.warp.sdk.Capabilities;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * {@code { 'readToken' … 'writeToken' … 'class' … 'labels' … 'series' [ [ selector { attributes } ] … ] } ARCHIVE.PURGE}:
 * removes from Warp 10's directory the metadata of the listed series that hold no point at all, so that the
 * directory keeps live series only (the offloader archived them; their archive is read by ARCHIVE.FETCH on
 * its own index). Points are never deleted here: a series is unregistered only after its store held no
 * point, its store is read again right after, and again after {@code 'grace'} ms; a series found with a
 * point then (written while it was being purged) gets its metadata back, attributes included ("revived").
 * Warp 10 offers no lock against writes, so this is the guard: a point is never lost, at worst it is
 * invisible between the unregister and the revival.
 * <p>
 * A series is left alone when its attributes differ from those given (archived as of its export), when
 * its selector names more than one series the read token sees (hidden owners or producers), when the
 * write token may not delete it (another owner or application, as Warp 10's delete endpoint decides), or
 * when it holds a point. {@code 'dryrun' true} changes nothing; {@code 'outside' [ start end ]} then counts
 * points outside [start, end) only (the month about to be archived). Needs the {@code archive.purge}
 * capability. Leaves {@code { 'purged' [ selectors ] 'live' n 'revived' [ … ] 'attributesChanged' [ … ]
 * 'ambiguous' n 'outOfReach' n 'missing' n }}.
 */
public class ArchivePurge extends NamedWarpScriptFunction implements WarpScriptStackFunction {

  /** Series read from the store per request. */
  private static final int CHUNK = 1000;
  private static final long MAX_GRACE_MS = 60_000;
  private static final String SOURCE = "archive.purge";

  private final String capability;

  public ArchivePurge(String name, String capability) {
    super(name);
    this.capability = capability;
  }

  @Override
  @SuppressWarnings("unchecked")
  public Object apply(WarpScriptStack stack) throws WarpScriptException {
    Object top = stack.pop();
    if (!(top instanceof Map<?, ?> params)) throw new WarpScriptException(getName() + " expects a parameter map: { 'readToken' 'writeToken' 'class' 'labels' 'series' }.");
    if (null == Capabilities.get(stack, capability)) {
      throw new WarpScriptException(getName() + " needs the '" + capability + "' capability: add a token that grants it with CAPADD first.");
    }
    if (!(params.get("readToken") instanceof String rt)) throw new WarpScriptException(getName() + " expects a 'readToken' STRING.");
    if (!(params.get("writeToken") instanceof String wt)) throw new WarpScriptException(getName() + " expects a 'writeToken' STRING.");
    if (!(params.get("class") instanceof String cls) || !(params.get("labels") instanceof Map<?, ?> dsLabels)) {
      throw new WarpScriptException(getName() + " expects the dataset's 'class' STRING and 'labels' MAP.");
    }
    boolean dryrun = Boolean.TRUE.equals(params.get("dryrun"));
    // A dry run may name no series: every series of the dataset is then a candidate, whatever its attributes.
    List<?> list = params.get("series") instanceof List<?> l ? l : null;
    if (list == null && !(dryrun && params.containsKey("series") && params.get("series") == null)) {
      throw new WarpScriptException(getName() + " expects 'series', a LIST of [ selector { attributes } ] (NULL, every series of the dataset, in a dry run only).");
    }
    long grace = number(params.get("grace"), 2000);
    long pause = number(params.get("pause"), 0);
    if (grace > MAX_GRACE_MS || pause > MAX_GRACE_MS) throw new WarpScriptException(getName() + " 'grace' and 'pause' are at most " + MAX_GRACE_MS + " ms.");
    long[] outside = null;
    if (params.get("outside") instanceof List<?> o && o.size() == 2 && o.get(0) instanceof Long s && o.get(1) instanceof Long e) {
      outside = new long[] { s, e };
    } else if (params.get("outside") != null) {
      throw new WarpScriptException(getName() + " expects 'outside' as [ start end ] (LONGs, platform time units).");
    }

    ReadToken rtoken;
    WriteToken wtoken;
    try {
      rtoken = Tokens.extractReadToken(rt);
      wtoken = Tokens.extractWriteToken(wt);
    } catch (WarpScriptException wse) {
      throw new WarpScriptException(getName() + " given an invalid token.", wse);
    }
    if (wtoken.getAttributesSize() > 0 && wtoken.getAttributes().containsKey(Constants.TOKEN_ATTR_NODELETE)) {
      throw new WarpScriptException(getName() + " given a write token that cannot be used for deletions.");
    }
    String owner = Tokens.getUUID(wtoken.getOwnerId());
    String producer = Tokens.getUUID(wtoken.getProducerId());
    // As Warp 10's delete endpoint: a token deletes only when its producer is its owner.
    if (!Objects.equals(owner, producer)) throw new WarpScriptException(getName() + " given a write token whose producer is not its owner: Warp 10 would refuse its deletes too.");

    // The archived series asked for, by selector, with their attributes as of the export.
    Map<String, Map<String, String>> wanted = new HashMap<>();
    for (Object e : list == null ? List.of() : list) {
      if (!(e instanceof List<?> pair) || pair.size() != 2 || !(pair.get(0) instanceof String sel) || !(pair.get(1) instanceof Map<?, ?> attrs)) {
        throw new WarpScriptException(getName() + " expects each of 'series' as [ selector { attributes } ].");
      }
      Map<String, String> a = new HashMap<>();
      for (Map.Entry<?, ?> x : attrs.entrySet()) a.put(String.valueOf(x.getKey()), String.valueOf(x.getValue()));
      wanted.put(sel, a);
    }

    DirectoryClient directory = stack.getDirectoryClient();
    if (!dryrun && !(directory instanceof StandaloneDirectoryClient)) {
      throw new WarpScriptException(getName() + " runs on a standalone Warp 10 only (its directory here is " + directory.getClass().getSimpleName() + ").");
    }
    StoreClient store = stack.getStoreClient();

    // The series the read token sees under the dataset's selector, as FIND (ArchiveOwners' selectors).
    Map<String, String> labels = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : dsLabels.entrySet()) labels.put(e.getKey().toString(), e.getValue().toString());
    labels.remove(Constants.PRODUCER_LABEL);
    labels.remove(Constants.OWNER_LABEL);
    labels.remove(Constants.APPLICATION_LABEL);
    labels.putAll(Tokens.labelSelectorsFromReadToken(rtoken));
    DirectoryRequest request = new DirectoryRequest();
    request.setClassSelectors(new ArrayList<>(List.of(cls)));
    request.setLabelsSelectors(new ArrayList<>(List.of(labels)));

    Map<String, List<Metadata>> bySelector = new HashMap<>();
    try (MetadataIterator it = FIND.getScopedIterator(directory, rtoken, request)) {
      while (it.hasNext()) {
        Metadata m = it.next();
        String sel = selector(m);
        if (list == null || wanted.containsKey(sel)) bySelector.computeIfAbsent(sel, k -> new ArrayList<>()).add(new Metadata(m));
        stack.handleSignal();
      }
    } catch (WarpScriptException wse) {
      throw wse;
    } catch (Exception e) {
      throw new WarpScriptException(getName() + " could not list the series (" + e.getClass().getSimpleName() + ").");
    }

    long ambiguous = 0;
    long outOfReach = 0;
    List<Object> attributesChanged = new ArrayList<>();
    List<Metadata> candidates = new ArrayList<>();
    for (Map.Entry<String, List<Metadata>> e : bySelector.entrySet()) {
      if (e.getValue().size() > 1) {
        ambiguous += e.getValue().size();
        continue;
      }
      Metadata m = e.getValue().get(0);
      if (!reaches(wtoken, owner, m)) {
        outOfReach++;
        continue;
      }
      Map<String, String> attrs = m.getAttributes() == null ? Map.of() : m.getAttributes();
      if (list != null && !attrs.equals(wanted.get(e.getKey()))) {
        attributesChanged.add(e.getKey());
        continue;
      }
      candidates.add(m);
    }
    long missing = list == null ? 0 : wanted.size() - bySelector.size();

    // Empty: no point at all (or, for a dry run of a month not archived yet, none outside it).
    List<Metadata> empty = new ArrayList<>();
    for (int i = 0; i < candidates.size(); i += CHUNK) {
      List<Metadata> chunk = candidates.subList(i, Math.min(candidates.size(), i + CHUNK));
      Set<String> withData = outside == null ? withPoints(store, rtoken, chunk, Long.MAX_VALUE, Long.MIN_VALUE)
          : union(withPoints(store, rtoken, chunk, outside[0] - 1, Long.MIN_VALUE), withPoints(store, rtoken, chunk, Long.MAX_VALUE, outside[1] - 1));
      for (Metadata m : chunk) if (!withData.contains(id(m))) empty.add(m);
      stack.handleSignal();
    }
    long live = candidates.size() - empty.size();

    List<Object> revived = new ArrayList<>();
    List<Object> purged = new ArrayList<>();
    if (dryrun) {
      for (Metadata m : empty) purged.add(selector(m));
    } else {
      StandaloneDirectoryClient dir = (StandaloneDirectoryClient) directory;
      sleep(pause); // a test widens the window between the check and the unregister with it
      try {
        for (Metadata m : empty) dir.unregister(m);
        // A point written between the check and the unregister is in the store: its series comes back.
        List<Metadata> gone = revive(store, dir, rtoken, empty, revived);
        // An update that registered its series before the unregister may store its points a little later.
        // Interrupted meanwhile, it still looks again: nothing may stay unregistered with points.
        try {
          Thread.sleep(grace);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        gone = revive(store, dir, rtoken, gone, revived);
        for (Metadata m : gone) purged.add(selector(m));
      } catch (WarpScriptException wse) {
        throw wse;
      } catch (Exception e) {
        throw new WarpScriptException(getName() + " failed while changing the directory (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ").");
      }
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("purged", purged);
    out.put("live", live);
    out.put("revived", revived);
    out.put("attributesChanged", attributesChanged);
    out.put("ambiguous", ambiguous);
    out.put("outOfReach", outOfReach);
    out.put("missing", missing);
    stack.push(out);
    return stack;
  }

  /** Registers again the series of `gone` that hold a point now; returns the others. */
  private List<Metadata> revive(StoreClient store, StandaloneDirectoryClient dir, ReadToken rtoken, List<Metadata> gone, List<Object> revived) throws Exception {
    List<Metadata> still = new ArrayList<>();
    for (int i = 0; i < gone.size(); i += CHUNK) {
      List<Metadata> chunk = gone.subList(i, Math.min(gone.size(), i + CHUNK));
      Set<String> withData = withPoints(store, rtoken, chunk, Long.MAX_VALUE, Long.MIN_VALUE);
      for (Metadata m : chunk) {
        if (withData.contains(id(m))) {
          // Registered first (Warp 10 drops the attributes of a registration), then its attributes set as
          // a metadata update would (which applies to known series only).
          Metadata back = new Metadata(m);
          back.setSource(SOURCE);
          dir.register(back);
          Metadata attrs = new Metadata(m);
          attrs.setSource(Configuration.INGRESS_METADATA_UPDATE_ENDPOINT);
          dir.register(attrs);
          revived.add(selector(m));
        } else {
          still.add(m);
        }
      }
    }
    dir.register(null); // flushes what was registered to the directory's store
    return still;
  }

  /** The ids of the series of `metas` holding at least one point in (thents, now]. */
  private static Set<String> withPoints(StoreClient store, ReadToken rtoken, List<Metadata> metas, long now, long thents) throws WarpScriptException {
    Set<String> ids = new HashSet<>();
    if (metas.isEmpty() || now <= thents) return ids;
    FetchRequest req = new FetchRequest();
    req.setToken(rtoken);
    req.setMetadatas(new ArrayList<>(metas));
    req.setNow(now);
    req.setThents(thents);
    req.setCount(1);
    req.setSkip(0);
    req.setStep(1);
    req.setTimestep(1);
    req.setSample(1.0D);
    req.setPreBoundary(0);
    req.setPostBoundary(0);
    try (GTSDecoderIterator it = store.fetch(req)) {
      while (it.hasNext()) {
        GTSDecoder d = it.next();
        if (d.next()) ids.add(id(d.getMetadata()));
      }
    } catch (Exception e) {
      throw new WarpScriptException("ARCHIVE.PURGE could not read the store (" + e.getClass().getSimpleName() + ").");
    }
    return ids;
  }

  /** Whether Warp 10's delete endpoint would let this write token delete the series. */
  private static boolean reaches(WriteToken wtoken, String owner, Metadata m) {
    Map<String, String> l = m.getLabels();
    if (!owner.equals(l.get(Constants.OWNER_LABEL))) return false;
    String app = wtoken.getAppName();
    if (app != null && !app.equals(l.get(Constants.APPLICATION_LABEL))) return false;
    if (wtoken.getLabelsSize() > 0) {
      for (Map.Entry<String, String> e : wtoken.getLabels().entrySet()) {
        String k = e.getKey();
        if (k.equals(Constants.PRODUCER_LABEL) || k.equals(Constants.OWNER_LABEL) || k.equals(Constants.APPLICATION_LABEL)) continue;
        if (!e.getValue().equals(l.get(k))) return false;
      }
    }
    return true;
  }

  /** The selector TOSELECTOR writes for a token that does not expose owners and producers. */
  private static String selector(Metadata m) {
    Metadata c = new Metadata(m);
    Map<String, String> l = new LinkedHashMap<>(m.getLabels());
    l.remove(Constants.OWNER_LABEL);
    l.remove(Constants.PRODUCER_LABEL);
    c.setLabels(l);
    return GTSHelper.buildSelector(c, false);
  }

  private static String id(Metadata m) {
    return m.getClassId() + ":" + m.getLabelsId();
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    a.addAll(b);
    return a;
  }

  private long number(Object v, long dflt) throws WarpScriptException {
    if (v == null) return dflt;
    if (v instanceof Long n && n >= 0) return n;
    throw new WarpScriptException(getName() + " expects 'grace' and 'pause' as LONGs (ms) of 0 or more.");
  }

  private static void sleep(long ms) throws WarpScriptException {
    if (ms <= 0) return;
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new WarpScriptException("ARCHIVE.PURGE was interrupted.");
    }
  }
}
