#!/usr/bin/env node
// The CLI's entry point is bin/blockvault.mjs. This file remains for installs that linked the
// command before it moved (npx keeps such links in its cache).
const entry: string = "./blockvault.mjs";
await import(entry);
