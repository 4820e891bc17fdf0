// Package limiter keeps every (channel, bot, endpoint) lane within LINE's rate
// limit in the strictest reading: the requests sent in ANY sliding window of
// the limit's period never exceed the limit's count, while a backlog drains at
// 99 % of the limit (DefaultSafety).
//
// One Limiter guards one lane. It combines two mechanisms, each covering what
// the other cannot:
//
//   - A pacer (golang.org/x/time/rate) at Safety × limit with a small burst
//     spreads sends evenly. Even spacing matters because LINE counts arrivals,
//     not departures: network and GC jitter between us and LINE can compress
//     the gaps, and the unused (1 − Safety) of the limit is the headroom that
//     absorbs that compression (see JitterBudget). A token bucket alone with
//     burst = limit would allow 2 × limit in one window.
//   - An exact sliding-window log (the last Count admitted send times) refuses
//     any send that would put Count+1 sends inside one period. It is the hard
//     guarantee at the sender, whatever the pacer's configuration, clock
//     irregularities, AIMD transitions or state restored from another owner.
//
// At the default configuration the pacer alone already keeps every window
// within the limit; the log makes that unconditional.
//
// The log holds departure times, and its Guard absorbs delays on the way to
// LINE that vary by less than it. A stall on the way (requests held, then
// counted together) is longer than that; Answered moves a request whose
// answer came late to when LINE may have counted it, so that the sends that
// follow make room for it. See docs/limits.md for
// the arithmetic, the limit table, AIMD and the hand-over caveats.
//
// All decisions take the current time as an argument so that tests and
// simulations run on a simulated clock; only Wait reads the real clock.
package limiter
