/** @pipe/cli: the `pipe` command. */
export { main } from './main.js';
