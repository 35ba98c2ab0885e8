import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commands } from './commands.ts';

// `simrec --help` prints the registry's copies without loading the modules; they must say what the modules say.
test('every registered command loads a module with the same name and summary', async () => {
  for (const entry of commands) {
    const cmd = await entry.load();
    assert.equal(cmd.name, entry.name);
    assert.equal(cmd.summary, entry.summary, `summary of ${entry.name}`);
    assert.match(cmd.help, new RegExp(`^usage: simrec ${entry.name}\\b`));
  }
  assert.equal(new Set(commands.map((c) => c.name)).size, commands.length);
});
