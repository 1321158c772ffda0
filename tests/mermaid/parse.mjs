// Reads Mermaid diagrams separated by NUL from stdin; prints "ok" or the first error.
import { JSDOM } from 'jsdom';
const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });
let input = '';
for await (const chunk of process.stdin) input += chunk;
let n = 0;
for (const d of input.split('\0').filter((d) => d.trim())) {
  try {
    await mermaid.parse(d);
    n++;
  } catch (e) {
    console.log('error in diagram ' + (n + 1) + ': ' + e.message + '\n' + d);
    process.exit(1);
  }
}
console.log('ok ' + n);
