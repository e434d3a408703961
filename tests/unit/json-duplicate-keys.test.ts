import { describe, expect, it } from 'vitest';
import { findDuplicateKey } from '../../src/engine/util/json-duplicate-keys';

describe('findDuplicateKey', () => {
  it('finds a key given twice in one object, decoded, with the path of enclosing keys', () => {
    expect(findDuplicateKey('{"a": 1, "b": 2, "a": 3}')).toEqual({ key: 'a', path: [] });
    expect(findDuplicateKey('{"x": {"y": [{"k": 1, "\\u006b": 2}]}}')).toEqual({ key: 'k', path: ['x', 'y'] });
    expect(findDuplicateKey('{"t": {"shape": [1], "dtype": "F32", "shape": [2]}}')).toEqual({ key: 'shape', path: ['t'] });
  });

  it('accepts equal keys in different objects and strings that look like keys or braces', () => {
    expect(findDuplicateKey('{"a": {"k": 1}, "b": {"k": 2}}')).toBeUndefined();
    expect(findDuplicateKey('{"a": "\\"a\\": {", "b": ["a", "a"], "c": "}"}')).toBeUndefined();
    expect(findDuplicateKey('[{"a": 1}, {"a": 2}]')).toBeUndefined();
    expect(findDuplicateKey('{ "a" : 1 , "a\\\\" : 2 }')).toBeUndefined();
  });
});
