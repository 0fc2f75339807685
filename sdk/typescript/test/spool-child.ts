/**
 * A child process for the spool test: records `n` events while the server is down, waits
 * until all are in its spool, says so on stdout, then waits to be killed with SIGKILL.
 * Arguments: url, api key, commitment key, spool dir, n.
 */
import { Sealog } from "../src/index.js";

const [url, apiKey, commitmentKey, spoolDir, n] = process.argv.slice(2);
const log = new Sealog({ url: url ?? "", apiKey: apiKey ?? "", commitmentKey: commitmentKey ?? "", spoolDir: spoolDir ?? "", spillAfterMs: 200, backoffMaxMs: 500 });
const ids: string[] = [];
for (let i = 0; i < Number(n); i++) ids.push(log.record("tool_call", { attributes: { i } }));
const timer = setInterval(() => {
  if (log.stats().spooled >= Number(n)) {
    clearInterval(timer);
    process.stdout.write(JSON.stringify(ids) + "\n");
    setTimeout(() => undefined, 60_000);
  }
}, 20);
