// Bundles the playground into web/dist: the page, its Web Worker, the wasm linter (from web/pkg,
// made by wasm-bindgen) and the examples (read from ../examples at build time).
// Run through scripts/build-web.sh, which builds web/pkg first.
import { build } from 'esbuild';
import { copyFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = dirname(fileURLToPath(import.meta.url));
const root = join(web, '..');
const dist = join(web, 'dist');
const pkg = join(web, 'pkg');

// Titles for the lesson's manifests; other files get one from their name.
const TITLES = {
  'checkout-api.yaml': 'checkout-api on the default ServiceAccount',
  'order-api.yaml': 'order-api: dedicated ServiceAccount, Role, RoleBinding',
  'payment-processor.yaml': 'payment-processor: projected, audience-bound tokens',
  'hardened-default-sa.yaml': 'Hardened default ServiceAccount',
};
const LESSON_ORDER = ['checkout-api.yaml', 'order-api.yaml', 'payment-processor.yaml', 'hardened-default-sa.yaml'];

function titleFromFile(file) {
  const words = basename(file, '.yaml').replace(/-/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

async function yamlFiles(dir) {
  try {
    return (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  } catch {
    return [];
  }
}

async function readExamples() {
  const examplesDir = join(root, 'examples');
  const lesson = (await yamlFiles(examplesDir)).sort((a, b) => {
    const rank = (f) => (LESSON_ORDER.includes(f) ? LESSON_ORDER.indexOf(f) : LESSON_ORDER.length);
    return rank(a) - rank(b) || a.localeCompare(b);
  });
  const bad = await yamlFiles(join(examplesDir, 'bad'));
  const examples = [];
  for (const file of lesson) {
    const text = await readFile(join(examplesDir, file), 'utf8');
    examples.push({ id: basename(file, '.yaml'), group: 'The lesson', title: TITLES[file] ?? titleFromFile(file), file: `examples/${file}`, text });
  }
  if (lesson.length > 1) {
    // What `helm template` prints: every manifest, each after a `# Source:` comment.
    const parts = examples.map((e) => `---\n# Source: lesson/templates/${e.id}.yaml\n${e.text.replace(/^\s+|\s+$/g, '')}\n`);
    examples.push({ id: 'helm-template', group: 'The lesson', title: 'All of the lesson as `helm template` output', file: 'examples/*.yaml', text: parts.join('') });
  }
  for (const file of bad) {
    const text = await readFile(join(examplesDir, 'bad', file), 'utf8');
    examples.push({ id: `bad/${basename(file, '.yaml')}`, group: 'Bad practices', title: titleFromFile(file), file: `examples/bad/${file}`, text });
  }
  return examples;
}

/** The repository's URL from the root Cargo.toml, for links to docs/rules.md. */
async function repositoryUrl() {
  const cargo = await readFile(join(root, 'Cargo.toml'), 'utf8');
  const match = cargo.match(/^repository\s*=\s*"([^"]+)"/m);
  return match ? match[1].replace(/\/$/, '') : '';
}

async function main() {
  await stat(join(pkg, 'sa_guard_web_bg.wasm')).catch(() => {
    throw new Error('web/pkg/sa_guard_web_bg.wasm is missing: run scripts/build-web.sh (make web)');
  });
  const examples = await readExamples();
  const repo = await repositoryUrl();
  await rm(dist, { recursive: true, force: true });
  await mkdir(dist, { recursive: true });

  const common = {
    bundle: true,
    format: 'esm',
    target: ['chrome109', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
    define: {
      __EXAMPLES__: JSON.stringify(examples),
      __DOCS_URL__: JSON.stringify(repo ? `${repo}/blob/main/docs/rules.md` : 'docs/rules.md'),
    },
  };
  await build({ ...common, entryPoints: { main: join(web, 'app/main.js') }, outdir: dist });
  await build({ ...common, entryPoints: { worker: join(web, 'app/worker.js') }, outdir: dist });

  await copyFile(join(pkg, 'sa_guard_web_bg.wasm'), join(dist, 'sa_guard_web_bg.wasm'));
  for (const file of ['index.html', 'style.css', 'favicon.svg']) {
    await copyFile(join(web, 'static', file), join(dist, file));
  }
  const sizes = [];
  for (const file of (await readdir(dist)).sort()) {
    sizes.push(`${file} ${((await stat(join(dist, file))).size / 1024).toFixed(1)} KB`);
  }
  console.log(`web/dist: ${examples.length} examples; ${sizes.join(', ')}`);
}

main().catch((error) => {
  console.error(error.message ?? error);
  process.exit(1);
});
