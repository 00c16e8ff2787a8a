//go:build race

package serve

// raceEnabled: the race detector slows the code 5 to 10 times; timing
// bounds in tests scale by raceSlowdown.
const raceEnabled = true
