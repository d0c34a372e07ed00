package offloader.archive;

import io.warp10.script.NamedWarpScriptFunction;
import io.warp10.script.WarpScriptException;
import io.warp10.script.WarpScriptStack;
import io.warp10.script.WarpScriptStackFunction;
import io.warp10.warp.sdk.Capabilities;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code ARCHIVE.STATS}: what ARCHIVE.FETCH has cost this Warp 10 since it started — store requests by
 * kind and bytes read, the index cache's bytes, entries, hits and misses, and whether the last query used the
 * store's catalog (no listing). Operators and the cold
 * bench read it; it needs ARCHIVE.FETCH's capability and tells nothing of the archive's content.
 */
public class ArchiveStats extends NamedWarpScriptFunction implements WarpScriptStackFunction {

  private final CountingStore store;
  private final ArchiveIndex index;
  private final String capability;

  public ArchiveStats(String name, CountingStore store, ArchiveIndex index, String capability) {
    super(name);
    this.store = store;
    this.index = index;
    this.capability = capability;
  }

  @Override
  public Object apply(WarpScriptStack stack) throws WarpScriptException {
    if (null == Capabilities.get(stack, capability)) {
      throw new WarpScriptException(getName() + " needs the '" + capability + "' capability: add a token that grants it with CAPADD first.");
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("store", store.stats());
    out.put("cache", index.cacheStats());
    out.put("parsed", index.monthsRead());
    // The start's read-ahead: its duration in ms, -1 while it runs.
    out.put("preload.ms", index.preloadMs());
    // Whether the last query found its months in the store's catalog (false: it listed the store).
    out.put("catalog", index.catalogUsed());
    stack.push(out);
    return stack;
  }
}
