package linesim

import (
	"fmt"
	"sort"
	"time"
)

// Report is everything linesim counted since the last reset.
type Report struct {
	Now    time.Time         `json:"now"` // linesim's clock
	Outage bool              `json:"outage"`
	Faults map[string]Faults `json:"faults,omitempty"`
	Limits map[string]Limit  `json:"limits"` // enforced limit per endpoint token
	Keys   []KeyStats        `json:"keys"`   // keys that saw requests, sorted by channel, bot, endpoint
	Totals Totals            `json:"totals"`
	// DuplicateDeliveries counts recipient deliveries of an identity already
	// delivered within 24 h; Duplicates holds the first 100 of them.
	DuplicateDeliveries int64       `json:"duplicateDeliveries"`
	Duplicates          []Duplicate `json:"duplicates"`
	// ContractViolations holds the first 100 violations (counts are per key).
	ContractViolations []ContractViolation `json:"contractViolations"`
	UnitCounts         []UnitCount         `json:"unitCounts"`
}

// Totals sums the keys and adds what no key holds.
type Totals struct {
	Requests           int64 `json:"requests"` // every request to the LINE API
	Received           int64 `json:"received"` // requests attributed to a key
	Accepted           int64 `json:"accepted"`
	Recipients         int64 `json:"recipients"`
	Conflicts          int64 `json:"conflicts"`
	Throttled          int64 `json:"throttled"`
	QuotaExceeded      int64 `json:"quotaExceeded"`
	Violations         int64 `json:"violations"`
	ContractViolations int64 `json:"contractViolations"`
	UnitsDropped       int64 `json:"unitsDropped"`
	FaultsInjected     int64 `json:"faultsInjected"`
	AcceptedThenFailed int64 `json:"acceptedThenFailed"`
	// Requests not attributed to a key: bad or expired token (Unauthorized),
	// unknown path or method (NotFound), missing/unknown bot, bad token form.
	Unattributed        int64 `json:"unattributed"`
	Unauthorized        int64 `json:"unauthorized"`
	NotFound            int64 `json:"notFound"`
	DuplicateDeliveries int64 `json:"duplicateDeliveries"`
	// Memory: live entries and entries evicted early because of MaxTracked.
	RetryKeys           int   `json:"retryKeys"`
	RetryKeysEvicted    int64 `json:"retryKeysEvicted"`
	Deliveries          int   `json:"deliveries"`
	DeliveriesEvicted   int64 `json:"deliveriesEvicted"`
	RecipientsUntracked int64 `json:"recipientsUntracked"`
}

// Report returns a snapshot of every counter.
func (s *Sim) Report() *Report {
	st := s.state.Load()
	_, ns := s.now()
	r := &Report{Now: s.clock.Now(), Outage: s.outage.Load(), Faults: s.Faults(), Limits: s.Limits(),
		Keys: []KeyStats{}, Duplicates: []Duplicate{}, ContractViolations: []ContractViolation{}}
	for _, ch := range sortedChannels(s.channels) {
		bots := append([]*botState{ch.none}, *ch.order.Load()...)
		sort.Slice(bots, func(i, j int) bool { return bots[i].id < bots[j].id })
		for _, b := range bots {
			var eps []*endpoint
			for _, e := range endpoints {
				if k := b.keys[e.id].Load(); k != nil && k.st == st {
					eps = append(eps, e)
				}
			}
			sort.Slice(eps, func(i, j int) bool { return eps[i].token < eps[j].token })
			for _, e := range eps {
				r.Keys = append(r.Keys, b.keys[e.id].Load().stats())
			}
		}
	}
	t := &r.Totals
	for _, k := range r.Keys {
		t.Received += k.Received
		t.Accepted += k.Accepted
		t.Recipients += k.Recipients
		t.Conflicts += k.Conflicts
		t.Throttled += k.Throttled
		t.QuotaExceeded += k.QuotaExceeded
		t.Violations += k.Violations
		t.ContractViolations += k.ContractViolations
		t.UnitsDropped += k.UnitsDropped
		t.FaultsInjected += k.FaultsInjected
		t.AcceptedThenFailed += k.AcceptedThenFailed
	}
	t.Requests = st.requests.Load()
	t.Unattributed = st.unattributed.Load()
	t.Unauthorized = st.unauthorized.Load()
	t.NotFound = st.notFound.Load()
	t.DuplicateDeliveries = st.duplicates.Load()
	t.RetryKeys = st.retry.len(ns)
	t.RetryKeysEvicted = st.retry.evicted.Load()
	t.Deliveries = st.dedup.len(ns)
	t.DeliveriesEvicted = st.dedup.evicted.Load()
	t.RecipientsUntracked = st.recipients.untracked.Load()
	r.DuplicateDeliveries = t.DuplicateDeliveries
	st.sampleMu.Lock()
	r.Duplicates = append(r.Duplicates, st.dupSample...)
	r.ContractViolations = append(r.ContractViolations, st.cvSample...)
	st.sampleMu.Unlock()
	r.UnitCounts = s.unitCounts(st)
	if r.UnitCounts == nil {
		r.UnitCounts = []UnitCount{}
	}
	return r
}

// KeyStats returns the counters of one (channel, bot, endpoint); bot is ""
// for channel-wide endpoints. A key without requests has zero counters.
func (s *Sim) KeyStats(channelID, bot, endpoint string) (KeyStats, error) {
	ch, ok := s.chByID[channelID]
	if !ok {
		return KeyStats{}, fmt.Errorf("linesim: unknown channel %q", channelID)
	}
	ep, ok := epByToken[endpoint]
	if !ok {
		return KeyStats{}, fmt.Errorf("linesim: unknown endpoint %q", endpoint)
	}
	b := ch.none
	if bot != "" {
		if b, ok = (*ch.bots.Load())[bot]; !ok {
			return emptyStats(channelID, bot, ep, s.limits[ep.id]), nil
		}
	}
	if k := b.keys[ep.id].Load(); k != nil && k.st == s.state.Load() {
		return k.stats(), nil
	}
	return emptyStats(channelID, bot, ep, s.limits[ep.id]), nil
}
