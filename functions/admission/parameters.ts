/**
 * @module
 * PostgreSQL parameters a user may not set through `config.parameters` or Patroni's
 * `dynamicConfiguration.postgresql.parameters`: the operator-owned ones of
 * shared/postgres/parameters.ts, refused with the reason each is owned, and names or values
 * that cannot be parameters at all.
 */
import { ownedParameter } from "../../shared/postgres/parameters.ts";
import { forbidden, hasControl, invalid, key, type Problem, show } from "./problems.ts";

/** Custom options (`pg_stat_statements.max`) have a dot; names are ASCII identifiers. */
const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/;

export function checkParameters(params: Record<string, unknown>, path: string, version: number): Problem[] {
  const problems: Problem[] = [];
  for (const [rawName, value] of Object.entries(params)) {
    const at = key(path, rawName);
    if (!PARAMETER_NAME.test(rawName)) {
      problems.push(invalid(at, "is not a PostgreSQL parameter name (letters, digits, '_' and one '.')"));
      continue;
    }
    const why = ownedParameter(rawName, value, version);
    if (why) {
      problems.push(forbidden(at, `cannot be set: ${why}`));
      continue;
    }
    if (typeof value === "string" && hasControl(value)) {
      problems.push(invalid(at, `${show(value)} must not contain newlines or control characters`));
    } else if (value !== null && typeof value === "object") {
      problems.push(invalid(at, "must be a string or a number"));
    }
  }
  return problems;
}
