import { z } from 'zod';

/**
 * Validates the environment against a zod object of variables. An empty variable (`FOO=` in a compose
 * file) means "not set", not "set to nothing". Every bad variable is named in one message; the values
 * of secret variables are never echoed.
 */
export function parseEnv<S extends z.ZodRawShape>(
  shape: S,
  env: NodeJS.ProcessEnv,
  { secrets = [], what }: { secrets?: readonly string[]; what: string },
): z.infer<z.ZodObject<S>> {
  const schema = z.object(shape);
  const present = Object.fromEntries(
    Object.keys(shape)
      .map((key) => [key, env[key]])
      .filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      what,
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0]);
        const shown = secrets.includes(name) ? '(hidden)' : JSON.stringify(present[name]);
        return `${name}=${shown}: ${issue.message}`;
      }),
    );
  }
  return parsed.data;
}

export class ConfigError extends Error {
  constructor(
    what: string,
    readonly problems: string[],
  ) {
    super(`invalid ${what} configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** A decimal number in [min, max]. */
export const envDecimal = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, 'expected a number')
    .transform(Number)
    .pipe(z.number().min(min).max(max));

/** An http(s) URL without a trailing slash. */
export const envHttpUrl = z
  .string()
  .trim()
  .url('expected a URL')
  .refine((value) => /^https?:\/\//i.test(value), { message: 'expected an http:// or https:// URL' })
  .transform((value) => value.replace(/\/+$/, ''));
