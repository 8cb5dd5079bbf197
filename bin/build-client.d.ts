/** A finished client build: its folder and the file names the HTML page links. */
export interface ClientBuild {
  readonly sourceHash: string;
  readonly dir: string;
  readonly script: string;
  readonly stylesheet: string;
  /** Every file of the build, by name, with its content type. */
  readonly files: ReadonlyMap<string, string>;
  /** The service worker's file in the build folder (served at /app/sw.js). */
  readonly serviceWorker: string;
  /** The home-screen icons (from client/icons), by name, with their content type. */
  readonly icons: ReadonlyMap<string, string>;
}

/** What {@link pruneClientBuilds} keeps besides the current build. */
export interface PruneOptions {
  /** Older builds kept, newest first: a process of the previous version may still be serving one. */
  readonly keepPrevious?: number;
  /** A private `.tmp-*` folder older than this was left by a build that crashed. */
  readonly abandonedAfterMs?: number;
  readonly now?: number;
}

/** The client's sources (client/). */
export const CLIENT_SOURCE_DIR: string;
/** Built bundles, one folder per source hash (dist/client, git-ignored). */
export const CLIENT_BUILD_DIR: string;
/** Hash of the client sources, the lock file and the builder. */
export function clientSourceHash(): Promise<string>;
/** The finished build for `sourceHash`, if there is one. */
export function readClientBuild(sourceHash: string): Promise<ClientBuild | undefined>;
/** The build of the current sources; `built` says whether this call had to build it. */
export function buildClient(): Promise<{ build: ClientBuild; built: boolean }>;
/** Removes old and abandoned builds from `dir` except `current`; returns the removed folder names. */
export function pruneClientBuilds(dir: string, current: string, options?: PruneOptions): Promise<string[]>;
