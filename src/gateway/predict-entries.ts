import { unprocessable } from './gateway-errors';

/** One model of a task, as in `{"modelName": "...", "options": {...}}`. */
export interface EntryModel {
  modelName: string;
  options?: Record<string, unknown>;
}

/** `entries`: task -> model type (visual, textual, detection, recognition) -> model. */
export type Entries = Record<string, Record<string, EntryModel>>;

/**
 * Checks `entries` the way Immich ML reads it (a JSON object of tasks, each an object of model types,
 * each with a `modelName`) so a request it would refuse with 422 is refused here, before any
 * upstream is called. Task names are not checked: unknown ones go to the default route.
 */
export function parseEntries(raw: string | undefined): Entries {
  if (raw === undefined) throw unprocessable('the "entries" field is missing');
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw unprocessable(`"entries" is not valid JSON: ${(error as Error).message}`);
  }
  if (!isObject(value)) throw unprocessable('"entries" must be a JSON object of tasks');
  const tasks = Object.entries(value);
  if (tasks.length === 0) throw unprocessable('"entries" names no task');
  for (const [task, types] of tasks) {
    if (!isObject(types) || Object.keys(types).length === 0) {
      throw unprocessable(`entries.${task} must be an object of model types`);
    }
    for (const [type, model] of Object.entries(types)) {
      if (!isObject(model) || typeof model.modelName !== 'string' || model.modelName === '') {
        throw unprocessable(`entries.${task}.${type} needs a "modelName" string`);
      }
      if (model.options !== undefined && !isObject(model.options)) {
        throw unprocessable(`entries.${task}.${type}.options must be an object`);
      }
    }
  }
  return value as Entries;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
