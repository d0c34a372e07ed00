package offloader.archive;

import io.warp10.WarpDist;
import io.warp10.continuum.Configuration;
import io.warp10.continuum.Tokens;
import io.warp10.continuum.gts.GTSDecoder;
import io.warp10.continuum.gts.GTSHelper;
import io.warp10.continuum.gts.MetadataSelectorMatcher;
import io.warp10.continuum.store.Constants;
import io.warp10.continuum.store.DirectoryClient;
import io.warp10.continuum.store.GTSDecoderIterator;
import io.warp10.continuum.store.MetadataIterator;
import io.warp10.continuum.store.StoreClient;
import io.warp10.continuum.store.thrift.data.DirectoryRequest;
import io.warp10.continuum.store.thrift.data.FetchRequest;
import io.warp10.continuum.store.thrift.data.Metadata;
import io.warp10.crypto.KeyStore;
import io.warp10.crypto.SipHashInline;
import io.warp10.quasar.token.thrift.data.ReadToken;
import io.warp10.quasar.token.thrift.data.WriteToken;
import io.warp10.script.NamedWarpScriptFunction;
import io.warp10.script.WarpScriptException;
import io.warp10.script.WarpScriptStack;
import io.warp10.script.WarpScriptStackFunction;
import io.warp10.script.functions.FIND;
import io.warp10.standalone.AcceleratorConfig;
import io.warp10.standalone.StandaloneDirectoryClient;
import io.warp10.warp.sdk.Capabilities;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * ARCHIVE.PURGE: the metadata of archived series that hold no point at all leave Warp 10's directory, so
 * that it keeps live series only (the offloader archived them; ARCHIVE.FETCH reads their archive on its own
 * index). It never deletes a point. Two calls, both {@code { 'readToken' 'writeToken' 'class' 'labels' … }}:
 * <ul>
 * <li>{@code 'series' [ [ selector { attributes } ] … ]}: each listed series the read token sees under the
 * dataset's selector is unregistered when its selector names that one series for the read token (with the
 * owner and producer the month's index recorded for it: {@code [ selector { attributes } [ [ owner producer ] … ] ]}), the write
 * token may delete it (owner, application, labels and scope, as Warp 10's delete endpoint decides), its
 * attributes are those given (archived as of its export) and its store holds no point; the store of each is
 * then read again at once, and one holding a point (written meanwhile) is registered back, attributes
 * included. Leaves {@code { 'purged' [ [ selector class { labels } { attributes } ] … ] 'live' n 'revived'
 * [ selectors ] 'attributesChanged' [ selectors ] 'ambiguous' n 'outOfReach' n 'missing' n }}: the caller
 * keeps {@code purged} whole, for the second call.</li>
 * <li>{@code 'recheck' [ [ class { labels } { attributes } ] … ]} (what a purge left): each such series
 * that is not in the directory and whose store holds a point now is registered back with its attributes. An
 * update registers its series before it stores its points, and may store them seconds later: the caller
 * rechecks after a grace, and again at its next purge. Leaves {@code { 'revived' [ selectors ] }}.</li>
 * </ul>
 * Warp 10 has no lock against writes: these reads are the guard, and a point is never deleted, at worst
 * invisible until a recheck. {@code 'dryrun' true} changes nothing; {@code 'series' NULL} then takes every
 * series of the dataset, and {@code 'outside' [ start end ]} counts points outside [start, end) only (the
 * month about to be archived). Needs the {@code archive.purge} capability.
 */
public class ArchivePurge extends NamedWarpScriptFunction implements WarpScriptStackFunction {

  /** Series read from the store per request. */
  private static final int CHUNK = 1000;
  private static final long MAX_PAUSE_MS = 60_000;
  private static final String SOURCE = "archive.purge";

  private final String capability;

  public ArchivePurge(String name, String capability) {
    super(name);
    this.capability = capability;
  }

  /** The tokens, the dataset's directory request for the read token, and the stores. */
  private record Scope(ReadToken rtoken, WriteToken wtoken, String owner, DirectoryRequest request, DirectoryClient directory, StoreClient store) {}

  @Override
  public Object apply(WarpScriptStack stack) throws WarpScriptException {
    Object top = stack.pop();
    if (!(top instanceof Map<?, ?> params)) throw new WarpScriptException(getName() + " expects a parameter map: { 'readToken' 'writeToken' 'class' 'labels' 'series' }.");
    if (null == Capabilities.get(stack, capability)) {
      throw new WarpScriptException(getName() + " needs the '" + capability + "' capability: add a token that grants it with CAPADD first.");
    }
    boolean dryrun = Boolean.TRUE.equals(params.get("dryrun"));
    Scope scope = scope(stack, params, dryrun);
    if (params.get("recheck") instanceof List<?> recheck) {
      if (dryrun) throw new WarpScriptException(getName() + " 'recheck' changes the directory: not in a dry run.");
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("revived", recheck(stack, scope, recheck));
      stack.push(out);
      return stack;
    }
    stack.push(purge(stack, scope, params, dryrun));
    return stack;
  }

  private Scope scope(WarpScriptStack stack, Map<?, ?> params, boolean dryrun) throws WarpScriptException {
    if (!(params.get("readToken") instanceof String rt)) throw new WarpScriptException(getName() + " expects a 'readToken' STRING.");
    if (!(params.get("writeToken") instanceof String wt)) throw new WarpScriptException(getName() + " expects a 'writeToken' STRING.");
    if (!(params.get("class") instanceof String cls) || !(params.get("labels") instanceof Map<?, ?> dsLabels)) {
      throw new WarpScriptException(getName() + " expects the dataset's 'class' STRING and 'labels' MAP.");
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
    // As Warp 10's delete endpoint: a token deletes only when its producer is its owner.
    if (!Objects.equals(owner, Tokens.getUUID(wtoken.getProducerId()))) {
      throw new WarpScriptException(getName() + " given a write token whose producer is not its owner: Warp 10 would refuse its deletes too.");
    }
    DirectoryClient directory = stack.getDirectoryClient();
    if (!dryrun && !(directory instanceof StandaloneDirectoryClient)) {
      throw new WarpScriptException(getName() + " runs on a standalone Warp 10 only (its directory here is " + directory.getClass().getSimpleName() + ").");
    }
    // The series the read token sees under the dataset's selector, as FIND.
    Map<String, String> labels = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : dsLabels.entrySet()) labels.put(e.getKey().toString(), e.getValue().toString());
    labels.remove(Constants.PRODUCER_LABEL);
    labels.remove(Constants.OWNER_LABEL);
    labels.remove(Constants.APPLICATION_LABEL);
    labels.putAll(Tokens.labelSelectorsFromReadToken(rtoken));
    DirectoryRequest request = new DirectoryRequest();
    request.setClassSelectors(new ArrayList<>(List.of(cls)));
    request.setLabelsSelectors(new ArrayList<>(List.of(labels)));
    return new Scope(rtoken, wtoken, owner, request, directory, stack.getStoreClient());
  }

  private Map<String, Object> purge(WarpScriptStack stack, Scope scope, Map<?, ?> params, boolean dryrun) throws WarpScriptException {
    // A dry run may name no series: every series of the dataset is then a candidate, whatever its attributes.
    List<?> list = params.get("series") instanceof List<?> l ? l : null;
    if (list == null && !(dryrun && params.containsKey("series") && params.get("series") == null)) {
      throw new WarpScriptException(getName() + " expects 'series', a LIST of [ selector { attributes } ] (NULL, every series of the dataset, in a dry run only).");
    }
    long pause = params.get("pause") == null ? 0 : params.get("pause") instanceof Long n && n >= 0 && n <= MAX_PAUSE_MS ? n : -1;
    if (pause < 0) throw new WarpScriptException(getName() + " expects 'pause' as a LONG of 0 to " + MAX_PAUSE_MS + " ms.");
    long[] outside = null;
    if (params.get("outside") instanceof List<?> o && o.size() == 2 && o.get(0) instanceof Long s && o.get(1) instanceof Long e) {
      outside = new long[] { s, e };
    } else if (params.get("outside") != null) {
      throw new WarpScriptException(getName() + " expects 'outside' as [ start end ] (LONGs, platform time units).");
    }
    // Counting points outside a month is what a dry run estimates; a purge needs no point at all.
    if (outside != null && !dryrun) throw new WarpScriptException(getName() + " takes 'outside' in a dry run only.");

    // The archived series asked for, by selector, with their attributes as of the export and the owners and
    // producers the month's index records for that selector.
    Map<String, Map<String, String>> wanted = new HashMap<>();
    Map<String, Set<String>> owners = new HashMap<>();
    for (Object e : list == null ? List.of() : list) {
      if (!(e instanceof List<?> x) || x.size() != 3 || !(x.get(0) instanceof String sel) || !(x.get(1) instanceof Map<?, ?> attrs)
          || !(x.get(2) instanceof List<?> pairs)) {
        throw new WarpScriptException(getName() + " expects each of 'series' as [ selector { attributes } [ [ owner producer ] … ] ].");
      }
      wanted.put(sel, strings(attrs));
      Set<String> who = new HashSet<>();
      for (Object p : pairs) {
        if (!(p instanceof List<?> op) || op.size() != 2) throw new WarpScriptException(getName() + " expects each owner of 'series' as [ owner producer ].");
        who.add(op.get(0) + "\u0000" + op.get(1));
      }
      owners.put(sel, who);
    }

    Map<String, List<Metadata>> bySelector = new HashMap<>();
    try (MetadataIterator it = FIND.getScopedIterator(scope.directory(), scope.rtoken(), scope.request())) {
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
    long notArchived = 0;
    List<Object> attributesChanged = new ArrayList<>();
    List<Metadata> single = new ArrayList<>();
    for (Map.Entry<String, List<Metadata>> e : bySelector.entrySet()) {
      if (e.getValue().size() > 1) {
        ambiguous += e.getValue().size();
        continue;
      }
      Metadata m = e.getValue().get(0);
      // The one series of that selector must be the archived one: its owner and producer as recorded.
      String who = m.getLabels().get(Constants.OWNER_LABEL) + "\u0000" + m.getLabels().get(Constants.PRODUCER_LABEL);
      if (list != null && !owners.get(e.getKey()).contains(who)) {
        notArchived++;
        continue;
      }
      Map<String, String> attrs = m.getAttributes() == null ? Map.of() : m.getAttributes();
      if (list != null && !attrs.equals(wanted.get(e.getKey()))) {
        attributesChanged.add(e.getKey());
        continue;
      }
      single.add(m);
    }
    List<Metadata> candidates = reachable(scope, single);
    long outOfReach = single.size() - candidates.size();
    // Archived series not in the directory, or whose selector names another owner's or producer's there.
    long missing = list == null ? 0 : wanted.size() - bySelector.size() + notArchived;

    // Empty: no point at all (or, for a dry run of a month not archived yet, none outside it).
    List<Metadata> empty = new ArrayList<>();
    for (int i = 0; i < candidates.size(); i += CHUNK) {
      List<Metadata> chunk = candidates.subList(i, Math.min(candidates.size(), i + CHUNK));
      Set<String> withData = new HashSet<>();
      if (outside == null) {
        withData.addAll(withPoints(scope, chunk, Long.MAX_VALUE, Long.MIN_VALUE));
      } else {
        // The store reads both ends inclusive: before the month is ..start-1, after it end..
        withData.addAll(withPoints(scope, chunk, outside[0] - 1, Long.MIN_VALUE));
        withData.addAll(withPoints(scope, chunk, Long.MAX_VALUE, outside[1]));
      }
      for (Metadata m : chunk) if (!withData.contains(id(m))) empty.add(m);
      stack.handleSignal();
    }
    long live = candidates.size() - empty.size();

    List<Object> revived = new ArrayList<>();
    List<Object> purged = new ArrayList<>();
    if (dryrun) {
      for (Metadata m : empty) purged.add(selector(m));
    } else {
      StandaloneDirectoryClient dir = (StandaloneDirectoryClient) scope.directory();
      sleep(pause); // a test widens the window between the check and the unregister with it
      List<Metadata> gone;
      try {
        for (Metadata m : empty) dir.unregister(m);
      } catch (java.io.IOException e) {
        throw new WarpScriptException(getName() + " failed while unregistering series (" + e.getMessage() + ").");
      } finally {
        // A point written between the check and the unregister is in the store: its series comes back.
        gone = revive(scope, dir, empty, revived);
      }
      for (Metadata m : gone) {
        List<Object> entry = new ArrayList<>();
        entry.add(selector(m));
        entry.add(m.getName());
        entry.add(new LinkedHashMap<>(m.getLabels()));
        entry.add(m.getAttributes() == null ? new LinkedHashMap<>() : new LinkedHashMap<>(m.getAttributes()));
        purged.add(entry);
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
    return out;
  }

  /** Series a purge left that hold a point now, and are not in the directory: registered back. */
  private List<Object> recheck(WarpScriptStack stack, Scope scope, List<?> entries) throws WarpScriptException {
    KeyStore ks = WarpDist.getKeyStore();
    long[] classKey = SipHashInline.getKey(ks.getKey(KeyStore.SIPHASH_CLASS));
    long[] labelsKey = SipHashInline.getKey(ks.getKey(KeyStore.SIPHASH_LABELS));
    List<Metadata> asked = new ArrayList<>();
    for (Object e : entries) {
      if (!(e instanceof List<?> x) || x.size() != 3 || !(x.get(0) instanceof String cls) || !(x.get(1) instanceof Map<?, ?> labels) || !(x.get(2) instanceof Map<?, ?> attrs)) {
        throw new WarpScriptException(getName() + " expects each of 'recheck' as [ class { labels } { attributes } ].");
      }
      Metadata m = new Metadata();
      m.setName(cls);
      m.setLabels(strings(labels));
      m.setAttributes(strings(attrs));
      m.setClassId(GTSHelper.classId(classKey, cls));
      m.setLabelsId(GTSHelper.labelsId(labelsKey, m.getLabels()));
      asked.add(m);
    }
    // What comes back from the archive store is not trusted: only series of the dataset's selector and the
    // read token's reach (as FIND would select them), that the write token may delete.
    List<Metadata> inScope = new ArrayList<>();
    MetadataIterator it = MetadataSelectorMatcher.getIterator(asked.iterator(), scope.request());
    try {
      while (it.hasNext()) inScope.add(it.next());
      it.close();
    } catch (Exception ex) {
      throw new WarpScriptException(getName() + " could not match the series to recheck (" + ex.getClass().getSimpleName() + ").");
    }
    List<Metadata> candidates = reachable(scope, inScope);
    // Those in the directory now (registered again by a point) are live: left as they are.
    Set<String> present = new HashSet<>();
    try (MetadataIterator dirIt = FIND.getScopedIterator(scope.directory(), scope.rtoken(), scope.request())) {
      while (dirIt.hasNext()) {
        present.add(id(dirIt.next()));
        stack.handleSignal();
      }
    } catch (WarpScriptException wse) {
      throw wse;
    } catch (Exception ex) {
      throw new WarpScriptException(getName() + " could not list the series (" + ex.getClass().getSimpleName() + ").");
    }
    List<Metadata> absent = new ArrayList<>();
    for (Metadata m : candidates) if (!present.contains(id(m))) absent.add(m);
    List<Object> revived = new ArrayList<>();
    revive(scope, (StandaloneDirectoryClient) scope.directory(), absent, revived);
    return revived;
  }

  /** The series the write token may delete: its owner, application and labels, and its scope if any. */
  private static List<Metadata> reachable(Scope scope, List<Metadata> metas) throws WarpScriptException {
    WriteToken w = scope.wtoken();
    List<Metadata> out = new ArrayList<>();
    for (Metadata m : metas) if (reaches(w, scope.owner(), m)) out.add(m);
    if (w.getAttributesSize() == 0) return out;
    // As the delete endpoint: a write token with attributes (a scope) sees what a read token of them would.
    ReadToken r = new ReadToken();
    r.setAttributes(w.getAttributes());
    r.addToApps(w.getAppName());
    r.addToOwners(w.bufferForOwnerId());
    r.addToProducers(w.bufferForProducerId());
    List<Metadata> scoped = new ArrayList<>();
    Iterator<Metadata> it = FIND.getScopedIterator(out.iterator(), r, null);
    while (it.hasNext()) scoped.add(it.next());
    return scoped;
  }

  /** Registers again the series of `gone` that hold a point now, attributes included; returns the others. */
  private List<Metadata> revive(Scope scope, StandaloneDirectoryClient dir, List<Metadata> gone, List<Object> revived) throws WarpScriptException {
    List<Metadata> still = new ArrayList<>();
    try {
      for (int i = 0; i < gone.size(); i += CHUNK) {
        List<Metadata> chunk = gone.subList(i, Math.min(gone.size(), i + CHUNK));
        Set<String> withData = withPointsRetried(scope, chunk);
        for (Metadata m : chunk) {
          if (!withData.contains(id(m))) {
            still.add(m);
            continue;
          }
          // Registered first (Warp 10 drops the attributes of a registration), then its attributes set as a
          // metadata update would (which applies to known series only).
          Metadata back = new Metadata(m);
          back.setSource(SOURCE);
          dir.register(back);
          Metadata attrs = new Metadata(m);
          attrs.setSource(Configuration.INGRESS_METADATA_UPDATE_ENDPOINT);
          dir.register(attrs);
          revived.add(selector(m));
        }
      }
      dir.register(null); // flushes what was registered to the directory's store
    } catch (WarpScriptException wse) {
      throw wse;
    } catch (Exception e) {
      throw new WarpScriptException(getName() + " failed while registering series again (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ").");
    }
    return still;
  }

  /** A store read that failed once is tried again: a series left unregistered with points would be hidden. */
  private static Set<String> withPointsRetried(Scope scope, List<Metadata> metas) throws WarpScriptException {
    for (int attempt = 1; ; attempt++) {
      try {
        return withPoints(scope, metas, Long.MAX_VALUE, Long.MIN_VALUE);
      } catch (WarpScriptException e) {
        if (attempt == 3) throw e;
        sleep(200L * attempt);
      }
    }
  }

  /** The ids of the series of `metas` holding at least one point in [thents + 1, now], on disk. */
  private static Set<String> withPoints(Scope scope, List<Metadata> metas, long now, long thents) throws WarpScriptException {
    Set<String> ids = new HashSet<>();
    if (metas.isEmpty() || now <= thents) return ids;
    FetchRequest req = new FetchRequest();
    req.setToken(scope.rtoken());
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
    // The accelerator (an in-memory cache of recent points) would answer a read of the latest point
    // alone: the persistent store is the one that says a series is empty.
    boolean cache = AcceleratorConfig.isCache();
    boolean persist = AcceleratorConfig.isPersist();
    AcceleratorConfig.nocache();
    AcceleratorConfig.persist();
    try (GTSDecoderIterator it = scope.store().fetch(req)) {
      while (it.hasNext()) {
        GTSDecoder d = it.next();
        if (d.next()) ids.add(id(d.getMetadata()));
      }
    } catch (Exception e) {
      throw new WarpScriptException("ARCHIVE.PURGE could not read the store (" + e.getClass().getSimpleName() + ").");
    } finally {
      if (cache) AcceleratorConfig.cache();
      else AcceleratorConfig.nocache();
      if (persist) AcceleratorConfig.persist();
      else AcceleratorConfig.nopersist();
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

  private static Map<String, String> strings(Map<?, ?> m) {
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> x : m.entrySet()) out.put(String.valueOf(x.getKey()), String.valueOf(x.getValue()));
    return out;
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
