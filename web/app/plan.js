// Where the first worker cuts a large text for a lint in parts, found in JavaScript: passing the
// whole text into wasm only to find the cuts would cost about as much as a helper's head start.
// The rule is the adapter's (`plan_parts` in ../src/lib.rs): at most `parts` parts, each cut at
// the first document marker (`---` at the start of a line, alone or before a blank) at or after
// an equal share of the text. The adapter does not take the plan on trust: each part reports how
// it was cut and `parts_agree` refuses cuts that are not at markers, or whose lines and offsets
// do not add up, so a wrong plan here costs a lint by one worker, never a wrong lint.

const BLANK_OR_END = new Set([undefined, ' ', '\t', '\r', '\n']);

/** The first document marker at or after UTF-16 index `from`, or -1. */
function nextMarker(text, from) {
  for (let at = text.indexOf('---', from); at !== -1; at = text.indexOf('---', at + 1)) {
    const before = text[at - 1];
    if ((at === 0 || before === '\n' || before === '\r') && BLANK_OR_END.has(text[at + 3])) return at;
  }
  return -1;
}

/** Line breaks in `text[from, to)`, as the adapter counts them: `\n`, `\r\n`, and a lone `\r`. */
function lineBreaks(text, from, to, hasCarriageReturn) {
  let breaks = 0;
  for (let at = text.indexOf('\n', from); at !== -1 && at < to; at = text.indexOf('\n', at + 1)) breaks++;
  if (hasCarriageReturn) {
    for (let at = text.indexOf('\r', from); at !== -1 && at < to; at = text.indexOf('\r', at + 1)) {
      if (text[at + 1] !== '\n') breaks++;
    }
  }
  return breaks;
}

/**
 * The parts to lint `text` in, as `{from, to, firstLine}`: UTF-16 indices (`text.slice(from,
 * to)`) and the lines before each part. One part (the whole text) when there is no marker to cut at.
 */
export function planParts(text, parts) {
  const starts = [0];
  for (let k = 1; k < parts; k++) {
    const share = Math.max(Math.floor((text.length * k) / parts), starts[starts.length - 1] + 1);
    const at = nextMarker(text, share);
    if (at === -1) break;
    starts.push(at);
  }
  const hasCarriageReturn = text.includes('\r');
  let firstLine = 0;
  return starts.map((from, k) => {
    const to = starts[k + 1] ?? text.length;
    const part = { from, to, firstLine };
    firstLine += lineBreaks(text, from, to, hasCarriageReturn);
    return part;
  });
}
