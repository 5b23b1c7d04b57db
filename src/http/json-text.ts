/**
 * A response body that is already JSON text (written by PostgreSQL, e.g. an employee's ticket list):
 * handlers set `ctx.body = new JsonText(text)` and the pipeline (src/app/server.ts) sends the text
 * as `application/json` unchanged, without parsing or serialising it in Node.
 */
export class JsonText {
  constructor(readonly text: string) {}

  /** for code that serialises the body anyway (tests, logs): the value the text stands for */
  toJSON(): unknown {
    return JSON.parse(this.text);
  }
}
