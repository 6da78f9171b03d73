import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pipeJsonSchema } from '../src/config/index.js';
import { MEM_PATTERN } from '../src/config/schema.js';
import { closestNames } from '../src/graph/index.js';
import { createStepRegistry, StepLoadError } from '../src/steps/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const schemaFile = path.join(here, '..', 'schema', 'pipe.schema.json');

describe('pipe.schema.json', () => {
  it('is the JSON Schema generated from the zod schema (regenerate with UPDATE_SCHEMA=1)', () => {
    const generated = `${JSON.stringify(pipeJsonSchema(), null, 2)}\n`;
    if (process.env['UPDATE_SCHEMA'] === '1') writeFileSync(schemaFile, generated);
    expect(readFileSync(schemaFile, 'utf8')).toBe(generated);
  });

  it('describes targets, resources formats and forbids unknown keys', () => {
    // biome-ignore lint/suspicious/noExplicitAny: walking generated JSON
    const schema = pipeJsonSchema() as { properties: Record<string, any> };
    const target = schema.properties['targets'].additionalProperties;
    expect(target.additionalProperties).toBe(false);
    expect(Object.keys(target.properties)).toContain('foreach');
    const mem = target.properties.resources.properties.mem.anyOf;
    expect(mem.map((m: { type: string }) => m.type)).toEqual(['integer', 'string']);
    expect(mem[1].pattern).toBe(MEM_PATTERN.source);
    for (const ok of ['4G', '1.5G', '512M', '2048', '0.5T', '1.5'])
      expect(MEM_PATTERN.test(ok), ok).toBe(true);
    for (const bad of ['0', '0.0G', 'lots', '-1G', '1.G']) expect(MEM_PATTERN.test(bad), bad).toBe(false);
  });
});

describe('step registry', () => {
  const fixtures = path.join(here, 'fixtures', 'config', 'steps');

  it('resolves names and module paths, loads steps once, lists names', async () => {
    const registry = createStepRegistry();
    registry.register('test.scale', path.join(fixtures, 'scale.mjs'));
    expect(registry.resolve('test.scale', '/anywhere')).toBe(path.join(fixtures, 'scale.mjs'));
    expect(registry.resolve('./steps/x.js', '/work/p')).toBe('/work/p/steps/x.js');
    expect(registry.resolve('command', '/work/p')).toBeUndefined();
    expect(registry.resolve('test.nope', '/work/p')).toBeUndefined();
    const step = await registry.load('test.scale');
    expect(step.name).toBe('test.scale');
    expect(await registry.load(path.join(fixtures, 'scale.mjs'))).toBe(step);
    expect(registry.names()).toEqual(['test.scale']);
  });

  it('rejects modules that are not steps, and unknown names', async () => {
    const registry = createStepRegistry();
    registry.register('broken', path.join(fixtures, 'broken.mjs'));
    await expect(registry.load('broken')).rejects.toThrow(StepLoadError);
    await expect(registry.load('unknown')).rejects.toThrow("unknown step 'unknown'");
    expect(() => registry.register('rel', './x.js')).toThrow('must be absolute');
  });

  it('loads config schemas by name', async () => {
    const registry = createStepRegistry();
    registry.registerConfigSchema('test.analysis', path.join(fixtures, 'analysis-schema.mjs'));
    const schema = await registry.loadConfigSchema('test.analysis');
    expect(schema.validate({ geom: { binsz: -1 } })).toHaveLength(1);
    expect(registry.configSchemaNames()).toEqual(['test.analysis']);
    await expect(registry.loadConfigSchema('nope')).rejects.toThrow(StepLoadError);
  });
});

describe('closestNames', () => {
  it('suggests the nearest names only', () => {
    expect(closestNames('ouputs', ['inputs', 'outputs', 'params'])).toEqual(['outputs']);
    expect(closestNames('excess_mpa', ['excess_map', 'exposure'])).toEqual(['excess_map']);
    expect(closestNames('Stack', ['stack', 'stacks'])).toEqual(['stack']);
    expect(closestNames('c', ['a', 'b'])).toEqual([]);
    expect(closestNames('zzzzzz', ['outputs'])).toEqual([]);
  });
});
