// `node --import ./record-imports.mjs ...`: appends the URL of every module the process resolves to the
// file named by RECORD_IMPORTS_FILE, so a test can see what a daemon loaded (and what it did not).
import { register } from 'node:module';

register('./record-imports-hooks.mjs', import.meta.url, { data: { file: process.env.RECORD_IMPORTS_FILE } });
