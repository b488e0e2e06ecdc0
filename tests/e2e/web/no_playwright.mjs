// Preloaded by test_prereqs.mjs (node --import): playwright-core cannot be found, as in a tree where
// `npm ci` did not run.
import { register } from 'node:module';

register('data:text/javascript,' + encodeURIComponent(`
export async function resolve(specifier, context, next) {
  if (specifier === 'playwright-core' || specifier.startsWith('playwright-core/')) {
    const e = new Error("Cannot find package 'playwright-core' (hidden by no_playwright.mjs)");
    e.code = 'ERR_MODULE_NOT_FOUND';
    throw e;
  }
  return next(specifier, context);
}`));
