/** For clients of the inference service (tests, the benchmark): its Server-Timing header, parsed. */

/** Reads a `Server-Timing` header back: name -> milliseconds (summed if a name repeats). */
export function parseServerTiming(header: string | null): Record<string, number> {
  const result: Record<string, number> = {};
  for (const part of (header ?? '').split(',')) {
    const [name, ...params] = part.trim().split(';');
    const duration = params.map((p) => /^dur=([\d.]+)$/.exec(p.trim())).find(Boolean);
    if (name && duration) result[name] = (result[name] ?? 0) + Number(duration[1]);
  }
  return result;
}
