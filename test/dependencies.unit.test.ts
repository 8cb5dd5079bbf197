// The installed tree must run on the Node versions package.json declares: `npm ci` on a supported Node
// must not print EBADENGINE. The lockfile records every installed package's `engines`, so this reads it
// instead of asking the registry.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import t from 'tap';
import { REPO_ROOT } from './support/serve.ts';

interface LockedPackage {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  engines?: { node?: string } | string[];
}

const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockedPackage> };
const declared = manifest.engines.node;

const locked = Object.entries(lock.packages)
  .filter(([where]) => where !== '')
  .map(([where, pkg]) => ({ where, ...pkg, node: Array.isArray(pkg.engines) ? undefined : pkg.engines?.node }))
  .filter((pkg): pkg is typeof pkg & { node: string } => typeof pkg.node === 'string');

t.test('every runtime dependency supports the whole Node range package.json declares', async (t) => {
  const mismatches = locked
    .filter((pkg) => !pkg.dev && !semver.subset(declared, pkg.node, { includePrerelease: false }))
    .map((pkg) => `${pkg.where}@${pkg.version} requires node ${pkg.node}`);
  t.same(mismatches, [], `runtime packages whose engines do not cover ${declared}`);
});

t.test('no installed package (dev included) rejects the Node running the tests, as npm ci would warn EBADENGINE', async (t) => {
  t.ok(semver.satisfies(process.version, declared), `this Node (${process.version}) is one package.json supports`);
  const mismatches = locked
    .filter((pkg) => !semver.satisfies(process.version, pkg.node, { includePrerelease: true }))
    .map((pkg) => `${pkg.where}@${pkg.version} requires node ${pkg.node}`);
  t.same(mismatches, []);
});

t.test("cookie (through fastify's light-my-request) is a release that supports Node 20", async (t) => {
  const cookies = locked.filter((pkg) => pkg.where.endsWith('node_modules/cookie'));
  t.ok(cookies.length, 'cookie is installed');
  for (const cookie of cookies) t.ok(semver.subset(declared, cookie.node), `${cookie.where}@${cookie.version} runs on ${declared}`);
});
