/**
 * A child process for the exit test: records `n` events, prints their ids and returns without
 * flushing or closing; the client's `beforeExit` hook must deliver them.
 * Arguments: url, api key, commitment key, spool dir, n.
 */
import { Sealog } from "../src/index.js";

const [url, apiKey, commitmentKey, spoolDir, n] = process.argv.slice(2);
const log = new Sealog({ url: url ?? "", apiKey: apiKey ?? "", commitmentKey: commitmentKey ?? "", spoolDir: spoolDir ?? "" });
const ids = Array.from({ length: Number(n) }, (_, i) => log.record("tool_call", { attributes: { i } }));
process.stdout.write(JSON.stringify(ids) + "\n");
