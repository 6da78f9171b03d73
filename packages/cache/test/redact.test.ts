/**
 * Redaction of remote-cache secrets in failure text: a token goes wherever it appears (inside a word, a URL, a
 * server's echo), and a short or empty secret does not cut ordinary words apart or blank out the message.
 */
import { describe, expect, it } from 'vitest';
import { HttpTransport } from '../src/http-transport.js';
import { transportOptions } from '../src/remote-auth.js';

const redactor = (url: string, token?: string) =>
  new HttpTransport(transportOptions({ url, ...(token !== undefined ? { token } : {}) }));

describe('redaction of remote cache secrets', () => {
  it('a token goes wherever it appears, even inside other text', () => {
    const http = redactor('http://cache:8080/', 'tok-secret-123');
    expect(
      http.redact('HTTP 401 invalid token tok-secret-123 (sent as xtok-secret-123y, ?t=tok-secret-123&a)'),
    ).toBe('HTTP 401 invalid token *** (sent as x***y, ?t=***&a)');
  });

  it('a short password goes where it stands alone, and ordinary words that hold it stay whole', () => {
    const http = redactor('http://ci:pass@cache:8080/');
    expect(
      http.redact('GET http://cache:8080/ac/k: HTTP 401 wrong password pass for ci (bypass: passed 0)'),
    ).toBe('GET http://cache:8080/ac/k: HTTP 401 wrong password *** for ci (bypass: passed 0)');
    expect(redactor('http://ci:x@cache/').redact('excess index x: HTTP 401 (after 3 attempts)')).toBe(
      'excess index ***: HTTP 401 (after 3 attempts)',
    );
  });

  it('an empty or blank secret redacts nothing', () => {
    const text = 'GET http://cache/ac/k: ECONNREFUSED (after 3 attempts)';
    expect(redactor('http://cache/', '').redact(text)).toBe(text);
    expect(redactor('http://ci:@cache/').redact(text)).toBe(text);
    expect(redactor('http://cache/', '   ').redact(text)).toBe(text);
  });

  it('a password is redacted as written in the URL and decoded, and a secret that holds another goes whole', () => {
    const http = redactor('http://ci:p%40ss%2Fw0rd-long@cache/');
    expect(http.redact('echo: p@ss/w0rd-long, p%40ss%2Fw0rd-long')).toBe('echo: ***, ***');
    const nested = new HttpTransport({
      baseUrl: new URL('http://cache/'),
      secrets: ['secret-token', 'secret-token-and-more'],
    });
    expect(nested.redact('[secret-token-and-more]')).toBe('[***]');
  });

  it('characters of regular expressions in a secret are taken literally', () => {
    const http = redactor('http://cache/', 'a.b*c+d?(e)[f]');
    expect(http.redact('x a.b*c+d?(e)[f] y aXbbbcd')).toBe('x *** y aXbbbcd');
  });
});
