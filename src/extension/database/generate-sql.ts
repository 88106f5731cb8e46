/**
 * `@GenerateSql(...)` marks a repository method whose SQL is written to src/extension/queries/ by
 * `npm run sql:generate` (Immich's habit): reviewers read the SQL that really runs, and a diff shows
 * when it changes. A test fails when the checked-in files are out of date.
 */

export interface GenerateSqlOptions {
  /** Shown after the method name when one method is generated with several parameter sets. */
  name?: string;
  params: unknown[];
}

export interface GenerateSqlEntry {
  target: object;
  method: string;
  options: GenerateSqlOptions[];
}

const entries: GenerateSqlEntry[] = [];

export function GenerateSql(...options: GenerateSqlOptions[]): MethodDecorator {
  return (target, method) => {
    entries.push({ target, method: String(method), options: options.length > 0 ? options : [{ params: [] }] });
  };
}

export function generateSqlEntries(): readonly GenerateSqlEntry[] {
  return entries;
}

/** Stand-in values for generated SQL. */
export const DummyValue = {
  UUID: '00000000-0000-4000-a000-000000000000',
  UUID_2: '00000000-0000-4000-a000-000000000001',
  STRING: 'abc',
  NUMBER: 50,
  DATE: new Date('2026-01-01T00:00:00.000Z'),
} as const;
