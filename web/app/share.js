// Share links: the editor's text and the settings, deflated and base64url-encoded into the URL
// fragment. A fragment never reaches a server, so a shared manifest stays between the people
// who exchange the link.

const COMPRESSED = 'z1.';
const PLAIN = 'p1.';

function toBase64Url(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text) {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

async function pipe(bytes, stream) {
  const response = new Response(new Blob([bytes]).stream().pipeThrough(stream));
  return new Uint8Array(await response.arrayBuffer());
}

const canCompress = typeof CompressionStream === 'function' && typeof DecompressionStream === 'function';

/** `{text, settings}` → the fragment (without `#`). */
export async function encodeState(state) {
  const json = new TextEncoder().encode(JSON.stringify({ t: state.text, s: state.settings ?? {} }));
  if (canCompress) return `s=${COMPRESSED}${toBase64Url(await pipe(json, new CompressionStream('deflate-raw')))}`;
  return `s=${PLAIN}${toBase64Url(json)}`;
}

/** The fragment (with or without `#`) → `{text, settings}`, or null when it holds no state. */
export async function decodeState(fragment) {
  const match = /^#?s=(z1\.|p1\.)([A-Za-z0-9_-]*)$/.exec(fragment.trim());
  if (!match) return null;
  let bytes = fromBase64Url(match[2]);
  if (match[1] === COMPRESSED) {
    if (!canCompress) throw new Error('this browser cannot decompress share links (no DecompressionStream)');
    bytes = await pipe(bytes, new DecompressionStream('deflate-raw'));
  }
  const parsed = JSON.parse(new TextDecoder().decode(bytes));
  if (typeof parsed?.t !== 'string') throw new Error('the link does not contain a manifest');
  return { text: parsed.t, settings: parsed.s && typeof parsed.s === 'object' ? parsed.s : {} };
}
