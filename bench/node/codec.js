// bench/node/codec.js: node's JSON.parse / JSON.stringify on the same payload files, for
// reference next to lua-cjson and medusa-lua. Prints one JSON line: microseconds per call
// (CPU time of the loop, process.cpuUsage) after one warm-up pass of the same length.
//
//   node bench/node/codec.js PAYLOAD_FILE decode|encode ITERATIONS
"use strict";
const fs = require("fs");

const [file, op, itArg] = process.argv.slice(2);
const iterations = Number(itArg);
const text = fs.readFileSync(file, "utf8");
const value = JSON.parse(text);
const work = op === "decode" ? () => JSON.parse(text) : () => JSON.stringify(value);

let sink = 0;
function loop() { for (let i = 0; i < iterations; i++) sink += work() ? 1 : 0; }
loop();
const cpu0 = process.cpuUsage();
loop();
const cpu = process.cpuUsage(cpu0);
if (sink !== 2 * iterations) throw new Error("codec.js: lost results");
console.log(JSON.stringify({ us: (cpu.user + cpu.system) / iterations }));
