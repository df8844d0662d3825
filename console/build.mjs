// Bundles the console and the GraphQL explorer for the server to embed.
//
//   node build.mjs SOURCE_DIR OUT_DIR NODE_MODULES_DIR
//
// Everything the pages load comes out of this build: no request of theirs
// leaves the server's origin. Run by the server crate's build script, which
// installs the packages of package-lock.json first.
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as esbuild from 'esbuild';

const [source, out, nodeModules] = process.argv.slice(2);
if (!source || !out || !nodeModules) {
  console.error('usage: node build.mjs SOURCE_DIR OUT_DIR NODE_MODULES_DIR');
  process.exit(2);
}
await mkdir(out, { recursive: true });

const common = {
  bundle: true,
  minify: true,
  sourcemap: false,
  target: ['chrome111', 'firefox115', 'safari16'],
  nodePaths: [nodeModules],
  outdir: out,
  define: { 'process.env.NODE_ENV': '"production"' },
  // Fonts stay inside the stylesheet, so that the pages need no font requests.
  loader: { '.woff2': 'dataurl', '.woff': 'dataurl', '.ttf': 'dataurl' },
  legalComments: 'eof',
  logLevel: 'warning',
};

await esbuild.build({
  ...common,
  entryPoints: { console: join(source, 'main.jsx') },
  format: 'esm',
  jsx: 'automatic',
  jsxImportSource: 'preact',
});
await esbuild.build({
  ...common,
  entryPoints: { graphiql: join(source, 'graphiql.js') },
  format: 'esm',
});
for (const page of ['console.html', 'graphiql.html']) {
  await copyFile(join(source, page), join(out, page));
}
