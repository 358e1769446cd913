// The CLI's argument parsers that are more than a range check.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { splitSelector } from '../src/cli/args.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

describe('splitSelector (PROG.o[:NAME])', () => {
  const object = join(tmp.dir, 'prog.o');
  writeFileSync(object, '');
  const colonDir = join(tmp.dir, 'a:b');
  mkdirSync(colonDir);
  const inColonDir = join(colonDir, 'p.o');
  writeFileSync(inColonDir, '');

  it('takes a name or a section with slashes after an existing object', () => {
    expect(splitSelector(object)).toEqual([object, undefined]);
    expect(splitSelector(`${object}:xrpkv_lookup`)).toEqual([object, 'xrpkv_lookup']);
    expect(splitSelector(`${object}:xrp/lookup`)).toEqual([object, 'xrp/lookup']);
  });

  it('keeps a colon that is part of a directory name', () => {
    expect(splitSelector(inColonDir)).toEqual([inColonDir, undefined]);
    expect(splitSelector(`${inColonDir}:xrp/lookup`)).toEqual([inColonDir, 'xrp/lookup']);
  });

  it('names the missing object when there is none', () => {
    expect(splitSelector(join(tmp.dir, 'missing.o:name'))).toEqual([join(tmp.dir, 'missing.o'), 'name']);
    expect(splitSelector(join(tmp.dir, 'x:y/missing.o'))).toEqual([join(tmp.dir, 'x:y/missing.o'), undefined]);
  });
});
