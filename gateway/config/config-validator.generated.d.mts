// Types of the generated module beside this file (config-validator.generated.mjs, made by `npm run schema`),
// written by hand: they are Ajv's, and do not change with the schema.

/** One of Ajv's errors, as config-validation.ts reads it (the validator is compiled with `messages: false`). */
export interface ValidationError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
}

export interface ValidateFunction {
  (data: unknown): boolean;
  errors?: ValidationError[] | null;
}

export declare const validate: ValidateFunction;
export default validate;

/** gateway.schema.json as the validator was compiled from it, without the editors' hover text. */
export declare const schema: object;
