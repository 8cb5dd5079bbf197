// Lint: typescript-eslint, type-aware, recommended + strict (strictTypeChecked) over src, test, bench, bin
// and client. Formatting is prettier's (.prettierrc.json); no stylistic rule here. What is relaxed and why:
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Folders with a door (an index.ts) are entered through it from outside.
const throughDoors = {
  regex: '^(\\.\\./)+(src/)?identity/(?!index\\.ts$)',
  message: 'enter identity through its door, identity/index.ts',
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.tap/', '.data/', 'test/artifacts/', 'scratch/', 'coverage/'] },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // tsconfig has noUncheckedIndexedAccess: `rows[0]!` after a query that always returns one row, or
      // `match[1]!` after a regex that matched, states what the reader already knows.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Numbers and booleans print as expected in messages; objects, nullish values and unions still fail.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `() => void work()`-style shorthands read as intended.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true, ignoreVoidOperator: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // fastify plugins and hooks, commander actions and port methods are async by contract (a plugin that
      // is not async must take a callback), whether or not this implementation awaits.
      '@typescript-eslint/require-await': 'off',
      // `let x; … x = …` where a closure defined in between reads x.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unnecessary-condition': ['error', { allowConstantLoopConditions: true }],
    },
  },
  {
    // Tests: tap queues `t.test(...)` subtests itself (awaiting them is optional), fixtures parse JSON
    // responses into `any`, and callbacks are async for tap's signature even when they do not await.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      // `res.json() as Body` (light-my-request's json() is generic) and tap's assertion methods passed around.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
      // Polling loops and fixtures that probe for values the types say exist, child processes' signal
      // handlers, and deliberate odd inputs (spreading strings into bad-input cases).
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/no-misused-promises': 'off',
      '@typescript-eslint/no-confusing-void-expression': 'off',
      '@typescript-eslint/no-meaningless-void-operator': 'off',
      '@typescript-eslint/no-misused-spread': 'off',
      '@typescript-eslint/await-thenable': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    // React: event handlers returning setState calls, and hooks' functions destructured from their
    // results (TanStack Query, the router), which are bound.
    files: ['client/**/*.tsx', 'client/**/*.ts'],
    rules: {
      '@typescript-eslint/no-confusing-void-expression': 'off',
      '@typescript-eslint/unbound-method': 'off',
      // Forms and buttons take async handlers (React ignores the promise; errors surface through state).
      '@typescript-eslint/no-misused-promises': 'off',
      '@typescript-eslint/no-meaningless-void-operator': 'off',
      // Optional DOM APIs (window.scrollTo in jsdom-less test shells) and data the server may omit.
      '@typescript-eslint/no-unnecessary-condition': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [throughDoors] }] },
  },
  {
    // Inside HTTP: common (problems, validation, consistency) and plugins (authentication, authorization,
    // errors, idempotency, metrics) and the action catalog sit below the route groups and server.ts.
    files: ['src/http/{common,plugins,discovery}/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+(api|app|webhooks|mcp)/|^(\\.\\./)+server\\.ts$',
              message: 'HTTP plumbing does not import the route groups above it',
            },
            throughDoors,
          ],
        },
      ],
    },
  },
  {
    // The client reaches the server's code only for types (the internal API's schemas, the event type names):
    // nothing of the server is bundled into the browser.
    files: ['client/**/*.ts', 'client/**/*.tsx'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(\\.\\./)+src/', allowTypeImports: true, message: 'the client imports only types from the server' }] },
      ],
    },
  },
  {
    // Import zones: the core (domain, storage, commands, reads, identity, subscriptions, projections, automation)
    // never imports the doors above it — HTTP (src/http, which holds the web app's routes), the CLI or app.ts.
    files: [
      'src/{domain,db,eventstore,commands,queries,identity,subscriptions,projections,automation}/**/*.ts',
      'src/{config,logger,sleep,services,subscribers}.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+(http|cli)/|^(\\.\\./)+app\\.ts$',
              message: 'the core does not import HTTP or the CLI: move the shared part down, or pass it in',
            },
            throughDoors,
          ],
        },
      ],
    },
  },
  {
    // The domain is pure: no storage, no HTTP, no automation.
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex:
                '^(\\.\\./)+(http|cli|db|eventstore|commands|queries|identity|subscriptions|projections|automation)/|^(\\.\\./)+app\\.ts$|^(pg|kysely|fastify|graphile-worker)$',
              message: 'the domain is pure: it imports only other domain modules and small value libraries',
            },
          ],
        },
      ],
    },
  },
  { files: ['**/*.js'], extends: [tseslint.configs.disableTypeChecked], languageOptions: { globals: globals.node } },
);
