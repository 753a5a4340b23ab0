//go:build race

package main

// raceEnabled reports a -race test build; the race detector's shadow memory
// multiplies a process's RSS, so memory bounds are checked on normal builds.
const raceEnabled = true
