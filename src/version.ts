// xrpkv's version: package.json's, read at load. The same relative path
// works from src/ (tests) and dist/ (the package): both sit one level below it.
import { readFileSync } from 'node:fs';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
