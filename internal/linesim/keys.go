package linesim

import (
	"sync"
	"sync/atomic"
	"time"
)

// Response outcomes counted per key: HTTP statuses plus the ways linesim can
// fail a connection.
var statusNames = []string{"200", "202", "400", "401", "403", "404", "405", "409", "413", "415", "423", "429", "500", "other", "drop", "reset", "hang"}

const (
	stDrop = iota + 14
	stReset
	stHang
)

func statusIndex(code int) int {
	switch code {
	case 200:
		return 0
	case 202:
		return 1
	case 400:
		return 2
	case 401:
		return 3
	case 403:
		return 4
	case 404:
		return 5
	case 405:
		return 6
	case 409:
		return 7
	case 413:
		return 8
	case 415:
		return 9
	case 423:
		return 10
	case 429:
		return 11
	case 500:
		return 12
	}
	return 13
}

// keyState holds the window and counters of one (channel, bot, endpoint).
type keyState struct {
	st      *state // the generation this key belongs to
	channel string
	bot     string
	ep      *endpoint
	limit   Limit

	mu         sync.Mutex
	win        window
	received   int64
	violations int64
	// firstViolation is when the first violation arrived (wall clock).
	firstViolation time.Time

	accepted, recipients, conflicts, throttled, quota atomic.Int64
	contract, unitsDropped, faults, atf               atomic.Int64
	status                                            [17]atomic.Int64
}

// KeyStats are the counters of one (channel, bot, endpoint) key. Bot is ""
// for channel-wide endpoints (bot_list, detach, token, access_token).
type KeyStats struct {
	Channel  string `json:"channel"`
	Bot      string `json:"bot"`
	Endpoint string `json:"endpoint"`
	Limit    Limit  `json:"limit"` // effective limit (after PeriodScale)

	Received   int64 `json:"received"`   // every request attributed to the key
	Accepted   int64 `json:"accepted"`   // requests that delivered (incl. accept-then-fail)
	Recipients int64 `json:"recipients"` // recipient deliveries (multicast: one per "to")
	Conflicts  int64 `json:"conflicts"`  // 409 retry key already accepted
	Throttled  int64 `json:"throttled"`  // 429 served (rate limit and monthly quota)
	// QuotaExceeded counts the 429 "You have reached your monthly limit." answers.
	QuotaExceeded int64 `json:"quotaExceeded"`
	// Violations counts requests that, counting themselves, made more than
	// Limit.Count requests in a sliding window of Limit.Period.
	Violations int64 `json:"violations"`
	// MaxInWindow is the highest number of requests received within any
	// window of Limit.Period. MaxInWindowCapped means the true value was
	// higher (the window memory holds at most 2x the limit, limit+10,000).
	MaxInWindow       int  `json:"maxInWindow"`
	MaxInWindowCapped bool `json:"maxInWindowCapped,omitempty"`
	// FirstViolation is when the first violation arrived (wall clock, not
	// the scaled clock), to place it in a run's timeline.
	FirstViolation     time.Time `json:"firstViolation,omitzero"`
	ContractViolations int64     `json:"contractViolations"`
	UnitsDropped       int64     `json:"unitsDropped"`       // unit names silently dropped over the cap
	FaultsInjected     int64     `json:"faultsInjected"`     // failed by a fault without delivering (incl. outage)
	AcceptedThenFailed int64     `json:"acceptedThenFailed"` // delivered, then failed by a fault
	// Status counts answers by HTTP status ("200", "429", …) and by failed
	// connection ("drop", "reset", "hang").
	Status map[string]int64 `json:"status,omitempty"`
}

// record counts a request at t (ns) in the window; it reports whether the
// request is over the limit.
func (k *keyState) record(t int64) bool {
	k.mu.Lock()
	k.received++
	_, over := k.win.add(t)
	if over {
		if k.violations == 0 {
			k.firstViolation = time.Now()
		}
		k.violations++
	}
	k.mu.Unlock()
	return over
}

func (k *keyState) stats() KeyStats {
	k.mu.Lock()
	s := KeyStats{
		Channel: k.channel, Bot: k.bot, Endpoint: k.ep.token, Limit: k.limit,
		Received: k.received, Violations: k.violations,
		MaxInWindow: k.win.max, MaxInWindowCapped: k.win.capped, FirstViolation: k.firstViolation,
	}
	k.mu.Unlock()
	s.Accepted = k.accepted.Load()
	s.Recipients = k.recipients.Load()
	s.Conflicts = k.conflicts.Load()
	s.Throttled = k.throttled.Load()
	s.QuotaExceeded = k.quota.Load()
	s.ContractViolations = k.contract.Load()
	s.UnitsDropped = k.unitsDropped.Load()
	s.FaultsInjected = k.faults.Load()
	s.AcceptedThenFailed = k.atf.Load()
	for i := range k.status {
		if v := k.status[i].Load(); v != 0 {
			if s.Status == nil {
				s.Status = map[string]int64{}
			}
			s.Status[statusNames[i]] = v
		}
	}
	return s
}

// emptyStats is the zero KeyStats for a key that has seen no request.
func emptyStats(channel, bot string, ep *endpoint, l Limit) KeyStats {
	return KeyStats{Channel: channel, Bot: bot, Endpoint: ep.token, Limit: l}
}

// botState is one bot known to a channel (attached now or before), or the
// channel-wide pseudo bot "". It holds the current key of each endpoint.
type botState struct {
	id         string
	seq        int // order of first attachment
	configured bool
	attached   atomic.Bool
	keys       [numEndpoints]atomic.Pointer[keyState]
	month      atomic.Pointer[botMonth] // cache of the current month
}

// key returns the bot's key for ep in generation st, creating it.
func (s *Sim) key(st *state, ch *channel, b *botState, ep *endpoint) *keyState {
	p := &b.keys[ep.id]
	for {
		k := p.Load()
		if k != nil && k.st == st {
			return k
		}
		nk := &keyState{st: st, channel: ch.id, bot: b.id, ep: ep, limit: s.limits[ep.id]}
		nk.win = newWindow(nk.limit)
		if s.state.Load() != st { // a request that began before a reset
			return nk
		}
		if p.CompareAndSwap(k, nk) {
			return nk
		}
	}
}
