package offloader.archive;

import io.warp10.continuum.Tokens;
import io.warp10.continuum.gts.GTSHelper;
import io.warp10.continuum.store.Constants;
import io.warp10.continuum.store.DirectoryClient;
import io.warp10.continuum.store.MetadataIterator;
import io.warp10.continuum.store.thrift.data.DirectoryRequest;
import io.warp10.continuum.store.thrift.data.Metadata;
import io.warp10.quasar.token.thrift.data.ReadToken;
import io.warp10.script.NamedWarpScriptFunction;
import io.warp10.script.WarpScriptException;
import io.warp10.script.WarpScriptStack;
import io.warp10.script.WarpScriptStackFunction;
import io.warp10.script.functions.PARSESELECTOR;
import io.warp10.warp.sdk.Capabilities;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code { 'token' … 'class' … 'labels' … } ARCHIVE.OWNERS} (or {@code 'selector'}): each series the token
 * may FIND, by its selector as TOSELECTOR writes it for that token, with its owner and producer as Warp 10
 * knows them ({@code .owner} and {@code .producer}, which FIND hides without {@code .expose}). The offloader
 * records them in a month's index at commit, so that ARCHIVE.FETCH can give a token exactly the archived
 * series FETCH would have. Leaves {@code { 'pairs' [ [ owner producer ] … ] 'series' [ [ selector i ] … ] }}.
 * Needs its own capability ({@code archive.owners} by default): it tells who owns what.
 */
public class ArchiveOwners extends NamedWarpScriptFunction implements WarpScriptStackFunction {

  private final String capability;

  public ArchiveOwners(String name, String capability) {
    super(name);
    this.capability = capability;
  }

  @Override
  @SuppressWarnings("unchecked")
  public Object apply(WarpScriptStack stack) throws WarpScriptException {
    Object top = stack.pop();
    if (!(top instanceof Map)) throw new WarpScriptException(getName() + " expects a parameter map, as FIND's: { 'token' 'class' 'labels' } or { 'token' 'selector' }.");
    Map<?, ?> params = (Map<?, ?>) top;
    if (null == Capabilities.get(stack, capability)) {
      throw new WarpScriptException(getName() + " needs the '" + capability + "' capability: add a token that grants it with CAPADD first.");
    }
    if (!(params.get("token") instanceof String token)) throw new WarpScriptException(getName() + " expects a 'token' STRING (a read token).");
    ReadToken rtoken;
    try {
      rtoken = Tokens.extractReadToken(token);
      Map<String, String> attrs = rtoken.getAttributes();
      if (attrs != null && attrs.containsKey(Constants.TOKEN_ATTR_NOFIND)) throw new WarpScriptException("Token cannot be used for finding data.");
    } catch (WarpScriptException wse) {
      throw new WarpScriptException(getName() + " given an invalid read token.", wse);
    }
    String cls;
    Map<String, String> labels = new LinkedHashMap<>();
    if (params.get("selector") instanceof String selector) {
      Object[] parsed = PARSESELECTOR.parse(selector);
      cls = parsed[0].toString();
      labels.putAll((Map<String, String>) parsed[1]);
    } else if (params.get("class") instanceof String c && params.get("labels") instanceof Map<?, ?> l) {
      cls = c;
      for (Map.Entry<?, ?> e : l.entrySet()) labels.put(e.getKey().toString(), e.getValue().toString());
    } else {
      throw new WarpScriptException(getName() + " expects 'selector', or 'class' and 'labels'.");
    }
    // As FIND: the token decides owners, producers and applications.
    labels.remove(Constants.PRODUCER_LABEL);
    labels.remove(Constants.OWNER_LABEL);
    labels.remove(Constants.APPLICATION_LABEL);
    labels.putAll(Tokens.labelSelectorsFromReadToken(rtoken));
    DirectoryRequest request = new DirectoryRequest();
    List<String> classes = new ArrayList<>();
    classes.add(cls);
    List<Map<String, String>> labelSelectors = new ArrayList<>();
    labelSelectors.add(labels);
    request.setClassSelectors(classes);
    request.setLabelsSelectors(labelSelectors);

    List<Object> pairs = new ArrayList<>();
    Map<String, Long> pairIndex = new HashMap<>();
    List<Object> series = new ArrayList<>();
    DirectoryClient directory = stack.getDirectoryClient();
    try (MetadataIterator it = directory.iterator(request)) {
      while (it.hasNext()) {
        Metadata m = new Metadata(it.next());
        Map<String, String> l = new LinkedHashMap<>(m.getLabels());
        String owner = l.remove(Constants.OWNER_LABEL);
        String producer = l.remove(Constants.PRODUCER_LABEL);
        m.setLabels(l);
        String pair = owner + "\u0000" + producer;
        Long i = pairIndex.get(pair);
        if (i == null) {
          i = (long) pairs.size();
          pairIndex.put(pair, i);
          List<Object> p = new ArrayList<>();
          p.add(owner == null ? "" : owner);
          p.add(producer == null ? "" : producer);
          pairs.add(p);
        }
        List<Object> s = new ArrayList<>();
        s.add(GTSHelper.buildSelector(m, false));
        s.add(i);
        series.add(s);
        stack.handleSignal();
      }
    } catch (WarpScriptException wse) {
      throw wse;
    } catch (Exception e) {
      throw new WarpScriptException(getName() + " could not list the series (" + e.getClass().getSimpleName() + ").");
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("pairs", pairs);
    out.put("series", series);
    stack.push(out);
    return stack;
  }
}
