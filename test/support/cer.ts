/** Character error rate: Levenshtein distance over code points divided by the reference length. */
export function characterErrorRate(reference: string, hypothesis: string): number {
  const ref = [...reference];
  const hyp = [...hypothesis];
  let prev = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const cur = [i];
    for (let j = 1; j <= hyp.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ref[i - 1] === hyp[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return ref.length ? prev[hyp.length] / ref.length : hyp.length;
}

export const joinLines = (lines: string[]) => lines.join(' ').replace(/\s+/g, ' ').trim();
export const withoutSpaces = (text: string) => text.replace(/\s+/g, '');
