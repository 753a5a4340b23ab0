// Package bench is botdesk's performance suite (make bench; figures in bench/results.md). Each scenario
// drives the real packages or the real binary over real HTTP on 127.0.0.1
// and returns a Figure; TestBench runs them all and writes results.md.
//
// The machines are shared and noisy, so every figure that is a speed is
// reported as a ratio against a baseline measured in the same run on the
// same machine (a raw SQLite insert loop, a bare Echo handler). Latencies,
// memory and start-up time are absolute and compared with their targets.
//
// `make bench` sets BOTDESK_BENCH=1 and runs the full sizes (bounded to a
// few minutes on 2 cores). Without it TestBench runs a smoke version with
// tiny sizes that checks only that every scenario still works: no figure
// is ever asserted, because timing in a unit test is noise.
package bench
