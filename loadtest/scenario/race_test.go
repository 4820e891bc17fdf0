//go:build race

package scenario

// raceEnabled: the scenario tests measure rates and latencies, which the
// race detector slows several times over; they skip under -race.
const raceEnabled = true
