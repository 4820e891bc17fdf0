package linesim

import (
	"encoding/binary"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// A delivery's identity is (channel, bot, recipient, canonical JSON of the
// messages array). Delivering an identity again within 24 h (linesim's
// clock) of its previous delivery — under another retry key, without one, or
// under the same key after LINE forgot it — is a duplicate delivery.

// deliveryRec remembers the first delivery of an identity.
type deliveryRec struct {
	seq   uint64
	rk    [16]byte
	hasRK bool
	ep    epID
}

// Duplicate describes one duplicate delivery (Report keeps a sample). The
// First* fields describe the previous delivery of the same identity.
type Duplicate struct {
	Channel        string    `json:"channel"`
	Bot            string    `json:"bot"`
	Recipient      string    `json:"recipient"`
	Endpoint       string    `json:"endpoint"`
	RequestID      string    `json:"requestId"`
	RetryKey       string    `json:"retryKey,omitempty"`
	At             time.Time `json:"at"`
	FirstEndpoint  string    `json:"firstEndpoint"`
	FirstRequestID string    `json:"firstRequestId"`
	FirstRetryKey  string    `json:"firstRetryKey,omitempty"`
	FirstAt        time.Time `json:"firstAt"`
}

// ContractViolation describes one request that broke LINE's contract while
// LINE would have answered normally (Report keeps a sample).
type ContractViolation struct {
	Channel   string    `json:"channel"`
	Bot       string    `json:"bot,omitempty"`
	Endpoint  string    `json:"endpoint"`
	Reason    string    `json:"reason"`
	RequestID string    `json:"requestId"`
	At        time.Time `json:"at"`
}

// recordDeliveries checks every recipient delivery for duplicates and counts
// it per recipient.
func (s *Sim) recordDeliveries(rc *reqCtx, d *delivery) {
	mh := s.canonHash(rc.tree["messages"])
	var buf [256]byte
	b := buf[:0]
	b = binary.LittleEndian.AppendUint64(b, mh[0])
	b = binary.LittleEndian.AppendUint64(b, mh[1])
	b = binary.LittleEndian.AppendUint32(b, uint32(rc.ch.idx))
	b = append(b, rc.bot.id...)
	b = append(b, 0)
	head := len(b)
	rec := deliveryRec{seq: rc.seq, rk: rc.rk, hasRK: rc.hasRK, ep: rc.ep.id}
	for _, r := range d.recipients {
		b = append(b[:head], r...)
		id := [2]uint64{maphash.Bytes(s.seed1, b), maphash.Bytes(s.seed2, b)}
		if first, at, dup := rc.st.dedup.swap(id, rec, rc.ns); dup {
			s.duplicate(rc, r, first, at)
		}
		rc.st.recipients.add(r)
	}
}

func (s *Sim) duplicate(rc *reqCtx, recipient string, first deliveryRec, at int64) {
	n := rc.st.duplicates.Add(1)
	dup := Duplicate{
		Channel: rc.ch.id, Bot: rc.bot.id, Recipient: recipient, Endpoint: rc.ep.token,
		RequestID: rc.reqID, At: rc.now,
		FirstEndpoint: endpoints[first.ep].token, FirstRequestID: s.ids.requestID(first.seq),
		FirstAt: s.base.Add(time.Duration(at)),
	}
	if rc.hasRK {
		dup.RetryKey = formatUUID(rc.rk)
	}
	if first.hasRK {
		dup.FirstRetryKey = formatUUID(first.rk)
	}
	if n > sampleSize {
		return
	}
	rc.st.sampleMu.Lock()
	if len(rc.st.dupSample) < sampleSize {
		rc.st.dupSample = append(rc.st.dupSample, dup)
	}
	rc.st.sampleMu.Unlock()
	s.log.Warn().Str("recipient", recipient).Str("bot", dup.Bot).Str("requestId", dup.RequestID).
		Str("firstRequestId", dup.FirstRequestID).Msg("duplicate delivery")
}

// recipientCounts counts deliveries per recipient, for at most max
// recipients (further ones are counted in untracked).
type recipientCounts struct {
	seed      maphash.Seed
	max       int64
	size      atomic.Int64
	untracked atomic.Int64
	shards    [64]struct {
		mu sync.Mutex
		m  map[string]int64
		_  [40]byte
	}
}

func newRecipientCounts(max int) *recipientCounts {
	r := &recipientCounts{seed: maphash.MakeSeed(), max: int64(max)}
	for i := range r.shards {
		r.shards[i].m = map[string]int64{}
	}
	return r
}

func (r *recipientCounts) add(id string) {
	sh := &r.shards[maphash.String(r.seed, id)%64]
	sh.mu.Lock()
	if _, ok := sh.m[id]; ok {
		sh.m[id]++
	} else if r.size.Load() < r.max {
		sh.m[id] = 1
		r.size.Add(1)
	} else {
		r.untracked.Add(1)
	}
	sh.mu.Unlock()
}

func (r *recipientCounts) get(id string) int64 {
	sh := &r.shards[maphash.String(r.seed, id)%64]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.m[id]
}

// Deliveries returns how many deliveries a recipient received since the last
// reset (a user ID, RecipientNarrowcast or RecipientBroadcast).
func (s *Sim) Deliveries(recipient string) int64 { return s.state.Load().recipients.get(recipient) }
