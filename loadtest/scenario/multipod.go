package scenario

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/devstack"
	"github.com/linedispatch/linedispatch/internal/linesim"
	"github.com/linedispatch/linedispatch/internal/ownership"
	"github.com/linedispatch/linedispatch/internal/queue"
)

// Settings and thresholds of the multi-pod scenarios (issue 5).
const (
	// MultiPodTTL is the pods' ownership.ttl: a killed pod is dropped after
	// about this long (the default, 10 s, is for production).
	MultiPodTTL = 2 * time.Second
	// MultiPodAckWait is the pods' dispatch.ackWait, which is also the
	// partition consumers' PinnedTTL: a killed pod's unacknowledged intents
	// are redelivered after it.
	MultiPodAckWait = 5 * time.Second
	// MinScaleUtilisation is scale3's drain rate of the backlogged bot.
	MinScaleUtilisation = 0.97
	// MinScaleRatio is scale3's aggregate throughput of 3 pods against 1.
	MinScaleRatio = 1.0
	// MaxPodKillGap bounds podkill's resume time of a killed pod's keys and
	// the longest pause of any key that was sending before a kill.
	MaxPodKillGap = 10 * time.Second
	// MaxRebalance bounds podjoin's time from adding pods until every pod
	// pulls its partitions and sends.
	MaxRebalance = 10 * time.Second
	// MaxNATSFailGap bounds natsfail's longest pause of all sending.
	MaxNATSFailGap = 15 * time.Second
	// activeBefore is how recently before an event a key must have sent to
	// count as active.
	activeBefore = 2 * time.Second
)

func registerMultiPod() {
	Register(Scenario{Name: "scale3", Summary: "3 pods share 200 bots plus one bot's backlog at 2,000/s: no violation, utilisation >= 97 %, throughput >= 1 pod's",
		ShortTimeout: 4 * time.Minute, LongTimeout: 20 * time.Minute, Run: runScale3})
	Register(Scenario{Name: "podkill", Summary: "kill -9 one of 3 pods every 20 s during load, then restart it: nothing lost or twice, keys resume within 10 s",
		ShortTimeout: 3 * time.Minute, LongTimeout: 10 * time.Minute, Run: runPodKill})
	Register(Scenario{Name: "podjoin", Summary: "1 pod under load, then 2 more join: partitions spread within 10 s, no violation",
		ShortTimeout: 3 * time.Minute, LongTimeout: 10 * time.Minute, Run: runPodJoin})
	Register(Scenario{Name: "natsfail", Summary: "3 pods on a 3-node NATS cluster (R3): kill one node during load: nothing lost or twice, sending resumes within 15 s",
		ShortTimeout: 4 * time.Minute, LongTimeout: 10 * time.Minute, Run: runNATSFail, Cluster: true})
}

// MultiPod is the report section of the multi-pod scenarios. Times are
// seconds from T0 (the scenario's zero: when its load or first phase began).
type MultiPod struct {
	T0     time.Time    `json:"t0"`
	Events []MultiEvent `json:"events,omitempty"`
	Load   *LoadStats   `json:"load,omitempty"`
	// HotBot is the bot with a push backlog at its limit.
	HotBot       string           `json:"hotBot,omitempty"`
	HotPartition int              `json:"hotPartition"`
	Scale        *ScaleStats      `json:"scale,omitempty"`
	Kills        []KillStats      `json:"kills,omitempty"`
	Rebalance    *RebalanceStats  `json:"rebalance,omitempty"`
	NATSFail     *NATSFailStats   `json:"natsFail,omitempty"`
	PodsTimeline []PodTimeline    `json:"podsTimeline,omitempty"`
	Gaps         *KeyGapsOverview `json:"keyGaps,omitempty"`
	// HotWindow is the hot bot's busiest window by the outcomes' accept
	// times, and Throttles the outcomes that met a 429: where to look when
	// linesim counts violations.
	HotWindow *WindowDiag   `json:"hotWindow,omitempty"`
	Throttles *ThrottleDiag `json:"throttles,omitempty"`
	// Assignments are the pods' applied partition assignments, from their
	// logs ("partition assignment applied"; the pods log at info).
	Assignments map[string][]AssignmentEvent `json:"assignments,omitempty"`
}

// WindowDiag is a key's busiest sliding window computed from its outcomes'
// accept times (outcome.At: the pod's clock when LINE answered). linesim
// counts arrivals, so this approximates its max-in-window and says when and
// from which pods the busiest window came.
type WindowDiag struct {
	Key         string         `json:"key"`
	Limit       string         `json:"limit"`
	MaxInWindow int            `json:"maxInWindow"`
	AtSec       float64        `json:"atSec"`
	ByPod       map[string]int `json:"byPod"`
	// OverLimit counts accepts that, counting themselves, made more than
	// the limit within the period ending at them (linesim's definition of
	// a violation, on accept times); OverLimitFirstSec/LastSec bound them.
	OverLimit int `json:"overLimit"`
	// OverLimitShared counts those whose window held accepts of more than
	// one pod (a hand-over), MaxInSharedWindow the busiest such window.
	OverLimitShared   int     `json:"overLimitShared"`
	MaxInSharedWindow int     `json:"maxInSharedWindow"`
	OverLimitFirstSec float64 `json:"overLimitFirstSec,omitempty"`
	OverLimitLastSec  float64 `json:"overLimitLastSec,omitempty"`
}

// ThrottleDiag summarises the outcomes that met a 429.
type ThrottleDiag struct {
	Outcomes int            `json:"outcomes"`
	Attempts int            `json:"attempts"`
	FirstSec float64        `json:"firstSec"`
	LastSec  float64        `json:"lastSec"`
	ByPod    map[string]int `json:"byPod"`
	ByKey    map[string]int `json:"byKey"`
}

// diagnose fills HotWindow and Throttles.
func (h *Harness) diagnose(c *Collected, hotKey KeyID) {
	m := h.multi()
	t0 := m.T0.UnixNano()
	lim, _ := linesim.DefaultLimit(hotKey.Endpoint)
	if k := h.Key("hot"); k != nil {
		if l, err := linesim.ParseLimit(k.Limit); err == nil {
			lim = l
		}
	}
	if acc := c.Accepts(hotKey); len(acc) > 0 && lim.Period > 0 {
		per := int64(lim.Period)
		wd := &WindowDiag{Key: hotKey.Bot + "/" + hotKey.Endpoint, Limit: lim.String(), ByPod: map[string]int{}}
		// The key's accepts labelled with their pod, in time order.
		type acc1 struct {
			t   int64
			pod int
		}
		pods := h.Pods.All()
		var all []acc1
		for i, p := range pods {
			for _, t := range c.KeyPodAccepts(hotKey, p.Name) {
				all = append(all, acc1{t, i})
			}
		}
		slices.SortFunc(all, func(a, b acc1) int { return cmpInt64(a.t, b.t) })
		inWin := make([]int, len(pods))
		senders := 0 // pods with an accept in the window
		var best int64
		i := 0
		for j, a := range all {
			for a.t-all[i].t >= per {
				if inWin[all[i].pod]--; inWin[all[i].pod] == 0 {
					senders--
				}
				i++
			}
			if inWin[a.pod]++; inWin[a.pod] == 1 {
				senders++
			}
			n := j - i + 1
			if n > wd.MaxInWindow {
				wd.MaxInWindow, best = n, all[i].t
			}
			if senders > 1 {
				wd.MaxInSharedWindow = max(wd.MaxInSharedWindow, n)
			}
			if n > lim.Count {
				if wd.OverLimit == 0 {
					wd.OverLimitFirstSec = nsSecs(a.t - t0)
				}
				wd.OverLimit++
				wd.OverLimitLastSec = nsSecs(a.t - t0)
				if senders > 1 {
					wd.OverLimitShared++
				}
			}
		}
		wd.AtSec = nsSecs(best - t0)
		for _, p := range pods {
			if n := len(inRange(c.KeyPodAccepts(hotKey, p.Name), best, best+per)); n > 0 {
				wd.ByPod[p.Name] = n
			}
		}
		m.HotWindow = wd
	}
	if len(c.Throttles) > 0 {
		td := &ThrottleDiag{ByPod: map[string]int{}, ByKey: map[string]int{}, FirstSec: math.Inf(1)}
		for _, e := range c.Throttles {
			td.Outcomes++
			td.Attempts += e.Throttled
			td.ByPod[e.Pod]++
			td.ByKey[e.Key.Bot+"/"+e.Key.Endpoint]++
			td.FirstSec = min(td.FirstSec, nsSecs(e.At-t0))
			td.LastSec = max(td.LastSec, nsSecs(e.At-t0))
		}
		m.Throttles = td
	}
}

// MultiEvent is something the runner did.
type MultiEvent struct {
	AtSec float64 `json:"atSec"`
	What  string  `json:"what"`
}

// ScaleStats compares scale3's 3-pod phase with its 1-pod phase (the same
// workload on the same machine in the same run).
type ScaleStats struct {
	Phases []ScalePhase `json:"phases"`
	// Ratio is the 3-pod phase's steady throughput of the many bots divided
	// by the 1-pod phase's.
	Ratio float64 `json:"ratio"`
}

// ScalePhase is one drain of the scale3 workload.
type ScalePhase struct {
	Pods     int     `json:"pods"`
	Intents  int     `json:"intents"`
	StartSec float64 `json:"startSec"`
	EndSec   float64 `json:"endSec"`
	// Many is the throughput of the 200 bots' outcomes (none near its
	// limit); All of every outcome of the phase (the backlogged bot drains
	// at its limit whatever the pods do).
	Many Throughput  `json:"many"`
	All  Throughput  `json:"all"`
	Hot  Utilisation `json:"hot"`
	// ByPod counts the phase's sent outcomes per pod.
	ByPod map[string]int `json:"byPod"`
	// AssignmentEpochs is the highest assignment epoch a pod logged in the
	// phase (1 when the pods agreed at once).
	AssignmentEpochs uint64 `json:"assignmentEpochs"`
}

// KillStats describes one kill -9 of a pod and its restart.
type KillStats struct {
	Pod        string  `json:"pod"`
	AtSec      float64 `json:"atSec"`
	RestartSec float64 `json:"restartSec,omitempty"`
	// WindowEndSec ends the kill's measurement: the next kill (0: open, the
	// last kill). Pauses are attributed to the kill whose window holds
	// their end (the key's first send after the pause).
	WindowEndSec float64 `json:"windowEndSec,omitempty"`
	// Partitions the pod owned (rendezvous over the live members), and
	// whether its log agreed.
	Partitions       int     `json:"partitions"`
	LogAgrees        bool    `json:"logAgrees"`
	OwnedHotBot      bool    `json:"ownedHotBot"`
	PodKeys          int     `json:"podKeys"`      // keys of the pod active before the kill
	OtherKeys        int     `json:"otherKeys"`    // keys of the other pods active before the kill
	MaxResumeSec     float64 `json:"maxResumeSec"` // kill → first accept of the pod's keys
	MeanResumeSec    float64 `json:"meanResumeSec"`
	MaxResumeKey     string  `json:"maxResumeKey,omitempty"`
	Unresumed        int     `json:"unresumed"`
	MaxGapPodKeysSec float64 `json:"maxGapPodKeysSec"`
	MaxGapOtherSec   float64 `json:"maxGapOtherKeysSec"`
	MaxGapKey        string  `json:"maxGapKey,omitempty"`
	// MaxGapOtherKey is the other pods' key with the longest pause, and
	// MaxGapOtherAtSec where that pause began.
	MaxGapOtherKey   string  `json:"maxGapOtherKey,omitempty"`
	MaxGapOtherAtSec float64 `json:"maxGapOtherAtSec,omitempty"`
	HotResumeSec     float64 `json:"hotResumeSec,omitempty"`
	// RestartMaxGapSec is the longest pause of the keys the restarted pod
	// takes back that ended after the restart (and before the next kill).
	RestartMaxGapSec float64 `json:"restartMaxGapSec,omitempty"`
}

// RebalanceStats describes podjoin's rebalance.
type RebalanceStats struct {
	JoinSec float64 `json:"joinSec"`
	// AppliedSec is per pod the time from the join until its log shows the
	// 3-member assignment applied (-1: never).
	AppliedSec map[string]float64 `json:"appliedSec"`
	// FirstSendSec is per joining pod the time from the join until its
	// first sent outcome (-1: never).
	FirstSendSec map[string]float64 `json:"firstSendSec"`
	// Expected is the rendezvous assignment's partitions per pod; Owned what
	// each pod's log says it pulls at the end of the load.
	Expected map[string]int `json:"expected"`
	Owned    map[string]int `json:"owned"`
	// OwnedOnce counts partitions pulled by exactly one pod at the end.
	OwnedOnce int     `json:"ownedOnce"`
	Spread    float64 `json:"spread"` // busiest / idlest pod (owned)
	// SharesAfter are the pods' shares of sent outcomes from 10 s after the
	// join until the end of the load.
	SharesAfter map[string]float64 `json:"sharesAfter"`
	// MovedKeys are the keys whose partition moved to a new pod and that
	// were sending before the join; MaxGapMovedSec their longest pause.
	MovedKeys      int     `json:"movedKeys"`
	MaxGapMovedSec float64 `json:"maxGapMovedSec"`
	HotMoved       bool    `json:"hotMoved"`
	HotGapSec      float64 `json:"hotGapSec"`
}

// NATSFailStats describes natsfail's node kill.
type NATSFailStats struct {
	Node  string  `json:"node"`
	Roles string  `json:"roles"` // meta leader, stream leaders the node held
	AtSec float64 `json:"atSec"`
	// RestartSec is when the node was started again (0: not restarted).
	RestartSec float64 `json:"restartSec,omitempty"`
	// ConsumerLeaders counts the LINE_INTENTS consumers (the partitions'
	// and the backlog's) led by the node when it was killed, of Consumers.
	ConsumerLeaders int `json:"consumerLeaders"`
	Consumers       int `json:"consumers"`
	// MaxGapSec is the longest pause of all sending (global accept
	// timeline) that ended after the kill, from GapStartSec to GapEndSec
	// (seconds from T0).
	MaxGapSec   float64 `json:"maxGapSec"`
	GapStartSec float64 `json:"gapStartSec"`
	GapEndSec   float64 `json:"gapEndSec"`
	// MaxKeyGapSec is the longest pause of one key that ended after the
	// kill (keys stall while their partition consumer moves to a new
	// leader), from KeyGapStartSec.
	MaxKeyGapSec   float64 `json:"maxKeyGapSec"`
	MaxKeyGapKey   string  `json:"maxKeyGapKey,omitempty"`
	KeyGapStartSec float64 `json:"keyGapStartSec"`
	// KeysOver1s counts keys that paused over 1 s after the kill.
	KeysOver1s    int    `json:"keysOver1s"`
	NewMetaLeader string `json:"newMetaLeader,omitempty"`
}

// PodTimeline is one pod's sent outcomes over time.
type PodTimeline struct {
	Pod string `json:"pod"`
	// PerSecond counts the pod's sent outcomes per second from T0.
	PerSecond []int `json:"perSecond"`
}

// KeyGapsOverview summarises the pauses of the load's keys.
type KeyGapsOverview struct {
	Keys      int     `json:"keys"`
	MaxGapSec float64 `json:"maxGapSec"`
	MaxGapKey string  `json:"maxGapKey,omitempty"`
	// MaxGapAtSec is where the longest gap began.
	MaxGapAtSec float64 `json:"maxGapAtSec"`
	// Over1s counts keys with a gap over 1 s.
	Over1s int `json:"over1s"`
}

// multi returns the report's multi-pod section, creating it.
func (h *Harness) multi() *MultiPod {
	if h.Report.Multi == nil {
		h.Report.Multi = &MultiPod{T0: time.Now()}
	}
	return h.Report.Multi
}

// event records something the runner did, with its time from T0.
func (h *Harness) event(t time.Time, format string, args ...any) {
	m := h.multi()
	what := fmt.Sprintf(format, args...)
	m.Events = append(m.Events, MultiEvent{AtSec: secs(t.Sub(m.T0)), What: what})
	h.Logf("%s", what)
}

func (h *Harness) sinceT0(t time.Time) float64 { return secs(t.Sub(h.multi().T0)) }

func secs(d time.Duration) float64 { return round2(d.Seconds()) }

func nsSecs(ns int64) float64 { return round2(float64(ns) / 1e9) }

// multiPodConfig is the pods' configuration in the multi-pod scenarios: a
// short member TTL and AckWait so that a killed pod is replaced quickly, and
// info logs so that the runner sees the partition assignments.
func multiPodConfig(_ string, cfg PodConfig) {
	cfg.Set("ownership.ttl", MultiPodTTL.String())
	cfg.Set("dispatch.ackWait", MultiPodAckWait.String())
	if lvl, _ := cfg.Get("log.level").(string); lvl == "" || lvl == "warn" || lvl == "error" {
		cfg.Set("log.level", "info")
	}
}

// podNames are the names of pod slots 0..n-1.
func podNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("pod-%d", i)
	}
	return out
}

// hotBotWhere returns the first devstack bot from index from on whose
// partition satisfies ok.
func hotBotWhere(from, partitions int, ok func(p int) bool) string {
	for i := from; i < from+100_000; i++ {
		if b := devstack.BotID(i); ok(partitionOf(b, partitions)) {
			return b
		}
	}
	return devstack.BotID(from)
}

// sleepUntil waits until t while checking that the pods and the load are
// healthy.
func (h *Harness) sleepUntil(ctx context.Context, t time.Time, l *Load) error {
	for {
		if err := h.Pods.CheckAlive(); err != nil {
			return err
		}
		if l != nil {
			if err := l.Err(); err != nil {
				return err
			}
		}
		d := time.Until(t)
		if d <= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(d, 200*time.Millisecond)):
		}
	}
}

// waitAssigned waits until every running pod's last applied assignment
// counts members members (their logs say so), or timeout.
func (h *Harness) waitAssigned(ctx context.Context, members int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pending := ""
		for _, p := range h.Pods.All() {
			if !p.Running() {
				continue
			}
			evs := p.Assignments()
			if len(evs) == 0 || evs[len(evs)-1].Life != p.Starts() || evs[len(evs)-1].Members != members {
				pending = p.Name
				break
			}
		}
		if pending == "" {
			return nil
		}
		if err := h.Pods.CheckAlive(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pod %s did not apply a %d-member partition assignment within %s", pending, members, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stopLoadAndDrain stops the load, waits for every published intent's
// outcome and collects the run.
func (h *Harness) stopLoadAndDrain(ctx context.Context, l *Load, runErr error) (*Collected, error) {
	lerr := l.Stop()
	h.multi().Load = l.Stats()
	h.event(l.Ended(), "load stopped: %d intents published", h.Published())
	if runErr == nil {
		runErr = lerr
	}
	if runErr != nil {
		c, _ := h.Drain(ctx, 0, stallFor)
		return c, runErr
	}
	return h.Drain(ctx, h.Published(), stallFor)
}

// --- time-line arithmetic (sorted unix ns) ---

// inRange returns the times in [from, to).
func inRange(sorted []int64, from, to int64) []int64 {
	i := sort.Search(len(sorted), func(i int) bool { return sorted[i] >= from })
	j := sort.Search(len(sorted), func(i int) bool { return sorted[i] >= to })
	return sorted[i:j]
}

// firstAtOrAfter returns the first time >= t.
func firstAtOrAfter(sorted []int64, t int64) (int64, bool) {
	i := sort.Search(len(sorted), func(i int) bool { return sorted[i] >= t })
	if i == len(sorted) {
		return 0, false
	}
	return sorted[i], true
}

// endOfTime is an open end of a time span (unix ns).
const endOfTime = math.MaxInt64

// maxGapEnding returns the longest interval between consecutive times that
// ends within (from, to] — the pause a key went through before it sent
// again after from — and where it began. A pause that began before from
// counts whole; a pause still running at to is left to the next span.
func maxGapEnding(sorted []int64, from, to int64) (gap, start int64) {
	i := sort.Search(len(sorted), func(i int) bool { return sorted[i] > from })
	for ; i < len(sorted) && sorted[i] <= to; i++ {
		if i == 0 {
			continue
		}
		if d := sorted[i] - sorted[i-1]; d > gap {
			gap, start = d, sorted[i-1]
		}
	}
	return gap, start
}

// perSecond counts sorted times per second from t0.
func perSecond(sorted []int64, t0 int64, n int) []int {
	out := make([]int, n)
	for _, t := range sorted {
		if i := (t - t0) / int64(time.Second); i >= 0 && i < int64(n) {
			out[i]++
		}
	}
	return out
}

// podTimelines fills the pods' per-second outcome counts.
func (h *Harness) podTimelines(c *Collected, end time.Time) {
	m := h.multi()
	n := int(end.Sub(m.T0)/time.Second) + 1
	if n <= 0 || n > 10_000 {
		return
	}
	for _, p := range h.Pods.All() {
		m.PodsTimeline = append(m.PodsTimeline, PodTimeline{Pod: p.Name, PerSecond: perSecond(c.PodAccepts(p.Name), m.T0.UnixNano(), n)})
	}
}

// keyGaps summarises the pauses of the given keys that ended after from.
func keyGaps(c *Collected, keys []KeyID, from int64, t0 time.Time) *KeyGapsOverview {
	o := &KeyGapsOverview{}
	for _, k := range keys {
		acc := c.Accepts(k)
		if len(inRange(acc, from, endOfTime)) == 0 {
			continue
		}
		o.Keys++
		g, at := maxGapEnding(acc, from, endOfTime)
		if g > int64(time.Second) {
			o.Over1s++
		}
		if s := nsSecs(g); s > o.MaxGapSec {
			o.MaxGapSec, o.MaxGapKey, o.MaxGapAtSec = s, k.Bot+"/"+k.Endpoint, nsSecs(at-t0.UnixNano())
		}
	}
	return o
}

// collectAssignments copies the pods' applied assignments into the report.
func (h *Harness) collectAssignments() {
	m := h.multi()
	m.Assignments = map[string][]AssignmentEvent{}
	for _, p := range h.Pods.All() {
		m.Assignments[p.Name] = p.Assignments()
	}
}

// pushKeys are the push keys of bots.
func pushKeys(bots []string) []KeyID {
	out := make([]KeyID, len(bots))
	for i, b := range bots {
		out[i] = KeyID{b, "push"}
	}
	return out
}

// --- scale3 ---

// runScale3: the same workload — 200 bots, none near its limit, plus one
// bot with a push backlog drained at its limit (2,000/s), interleaved in
// the stream — drained twice in one run: by one pod, then by three pods
// started together. Three pods must keep every window, drain the
// backlogged bot at >= 97 % and reach at least one pod's throughput.
func runScale3(ctx context.Context, h *Harness) error {
	const bots = 200
	many := pick(h, 100_000, 20_000)
	hot := pick(h, 60_000, 16_000)
	h.Param("bots", bots)
	h.Param("intentsMany", many)
	h.Param("intentsHot", hot)
	h.Param("phases", "1 pod, then 3 pods (the same workload each)")
	h.Param("ownershipTTL", MultiPodTTL.String())
	h.Param("ackWait", MultiPodAckWait.String())
	if err := h.Begin(ctx, Stack{Bots: bots + 1, Pod: multiPodConfig}); err != nil {
		return err
	}
	h.Report.Env.Pods = 3
	if err := h.MaybeBaseline(ctx, false); err != nil {
		return err
	}
	hotBot := h.Bots[bots]
	m, hotKey := h.markHot(hotBot)
	type phase struct {
		pods       int
		n          int
		start, end time.Time
	}
	var phases []phase
	var runErr error
	for _, pods := range []int{1, 3} {
		total := many + hot
		st, err := h.Publish(ctx, total, func(i int) (*intent.Intent, error) {
			if (i+1)*hot/total > i*hot/total {
				return h.Gen.Push(hotBot, "hot")
			}
			return h.Gen.Push(h.Bots[i%bots], "many")
		})
		if pods == 1 {
			h.Report.Publish = &st
		}
		if err != nil {
			return err
		}
		target := h.Published()
		for h.Pods.Len() < pods {
			if _, err := h.AddPod(); err != nil {
				return err
			}
		}
		ph := phase{pods: pods, n: total, start: time.Now()}
		if len(phases) == 0 {
			m.T0 = ph.start
		}
		h.event(ph.start, "phase %d pod(s): %d intents queued, starting the pods", pods, total)
		idx := make([]int, pods)
		for i := range idx {
			idx[i] = i
		}
		if err := h.StartTogether(ctx, idx...); err != nil {
			return err
		}
		runErr = h.WaitOutcomes(ctx, target, stallFor)
		ph.end = time.Now()
		phases = append(phases, ph)
		h.event(ph.end, "phase %d pod(s) drained", pods)
		if runErr != nil {
			break
		}
		if pods == 1 {
			if err := h.Pods.Stop(0, 30*time.Second); err != nil {
				return err
			}
		}
	}
	h.collectAssignments()
	want := h.Published()
	if runErr != nil {
		want = 0 // collect what there is
	}
	c, err := h.Drain(ctx, want, stallFor)
	if c == nil {
		return err
	}
	if runErr == nil {
		runErr = err
	}
	h.podTimelines(c, phases[len(phases)-1].end)
	h.diagnose(c, hotKey)
	lim, _ := linesim.DefaultLimit("push")
	if k := h.Key("hot"); k != nil {
		if l, err := linesim.ParseLimit(k.Limit); err == nil {
			lim = l
		}
	}
	sc := &ScaleStats{}
	for _, ph := range phases {
		from, to := ph.start.UnixNano(), ph.end.UnixNano()+int64(time.Second)
		var manyAt []int64
		for _, k := range c.Keys() {
			if k != hotKey {
				manyAt = append(manyAt, inRange(c.Accepts(k), from, to)...)
			}
		}
		slices.Sort(manyAt)
		sp := ScalePhase{Pods: ph.pods, Intents: ph.n, StartSec: h.sinceT0(ph.start), EndSec: h.sinceT0(ph.end),
			Many: MeasureThroughput(manyAt), All: MeasureThroughput(inRange(c.AllAccepts(), from, to)),
			Hot: MeasureUtilisation(inRange(c.Accepts(hotKey), from, to), lim.Count, lim.Period), ByPod: map[string]int{}}
		sp.Hot.Value = round4(sp.Hot.Value)
		for _, p := range h.Pods.All() {
			if n := len(inRange(c.PodAccepts(p.Name), from, to)); n > 0 {
				sp.ByPod[p.Name] = n
			}
			for _, e := range p.Assignments() {
				if !e.At.Before(ph.start) && !e.At.After(ph.end) {
					sp.AssignmentEpochs = max(sp.AssignmentEpochs, e.Epoch)
				}
			}
		}
		sc.Phases = append(sc.Phases, sp)
	}
	m.Scale = sc
	h.CheckDelivery()
	h.CheckLimits()
	if len(sc.Phases) == 2 {
		one, three := sc.Phases[0], sc.Phases[1]
		if one.Many.Steady > 0 {
			sc.Ratio = round4(three.Many.Steady / one.Many.Steady)
		}
		h.Report.Check("hot bot utilisation (3 pods)", three.Hot.Value, ">=", MinScaleUtilisation, "")
		h.Report.Check("throughput 3 pods / 1 pod (many bots, steady part)", sc.Ratio, ">=", MinScaleRatio, "")
		h.Report.Check("pods sending in the 3-pod phase", float64(len(three.ByPod)), "==", 3, "")
	}
	return runErr
}

// --- podkill ---

// runPodKill: 3 pods under steady load over 60 bots plus one bot's push
// backlog at its limit; every `every` one pod is killed with SIGKILL (first
// the one owning the backlogged bot) and restarted restartAfter later.
func runPodKill(ctx context.Context, h *Harness) error {
	const bots = 60
	const rate = 600.0
	cycles := pick(h, 3, 1)
	warm := pick(h, 10*time.Second, 5*time.Second)
	every := pick(h, 20*time.Second, 16*time.Second)
	restartAfter := pick(h, 10*time.Second, 8*time.Second)
	loadFor := warm + time.Duration(cycles)*every
	hot := int(2000 * loadFor.Seconds())
	h.Param("pods", 3)
	h.Param("bots", bots)
	h.Param("loadPerSec", rate)
	h.Param("hotBacklog", hot)
	h.Param("kills", cycles)
	h.Param("killEvery", every.String())
	h.Param("restartAfter", restartAfter.String())
	h.Param("ownershipTTL", MultiPodTTL.String())
	h.Param("ackWait", MultiPodAckWait.String())
	hotBot := devstack.BotID(bots)
	if err := h.Begin(ctx, Stack{Bots: bots + 1, Pod: multiPodConfig}); err != nil {
		return err
	}
	h.Report.Env.Pods = 3
	if err := h.MaybeBaseline(ctx, false); err != nil {
		return err
	}
	m, hotKey := h.markHot(hotBot)
	if err := h.publishHot(ctx, hotBot, hot); err != nil {
		return err
	}
	names := podNames(3)
	if _, err := h.StartPodsTogether(ctx, 3); err != nil {
		return err
	}
	if err := h.waitAssigned(ctx, 3, 30*time.Second); err != nil {
		return err
	}
	steady := h.Bots[:bots]
	l := h.StartLoad(ctx, steady, rate, "load")
	m.T0 = l.Started()
	h.event(m.T0, "load started, hot backlog %d intents", hot)
	// Kill order: the hot bot's owner first, then the others.
	first := ownership.Owner(h.Opts.Partitions, m.HotPartition, names)
	order := []string{first}
	for _, n := range names {
		if n != first {
			order = append(order, n)
		}
	}
	type kill struct {
		pod              string
		at, restart, end time.Time
	}
	var kills []kill
	var runErr error
	for k := 0; k < cycles && runErr == nil; k++ {
		at := m.T0.Add(warm + time.Duration(k)*every)
		if runErr = h.sleepUntil(ctx, at, l); runErr != nil {
			break
		}
		victim := order[k%len(order)]
		vi := slices.Index(names, victim)
		if runErr = h.Pods.Kill(vi); runErr != nil {
			break
		}
		// The kill's time is when the process is gone (Kill waits): every
		// accept after it comes from another pod.
		kl := kill{pod: victim, at: time.Now()}
		h.event(kl.at, "kill -9 %s", victim)
		if runErr = h.sleepUntil(ctx, kl.at.Add(restartAfter), l); runErr != nil {
			kills = append(kills, kl)
			break
		}
		kl.restart = time.Now()
		h.event(kl.restart, "restart %s", victim)
		runErr = h.Pods.Start(ctx, vi)
		kills = append(kills, kl)
	}
	if runErr == nil {
		runErr = h.sleepUntil(ctx, m.T0.Add(loadFor), l)
	}
	h.collectAssignments()
	c, err := h.stopLoadAndDrain(ctx, l, runErr)
	if c == nil {
		return err
	}
	loadEnd := l.Ended()
	h.diagnose(c, hotKey)
	for i := range kills {
		if i+1 < len(kills) {
			kills[i].end = kills[i+1].at
		}
	}
	h.podTimelines(c, loadEnd)
	keys := append(pushKeys(steady), hotKey)
	m.Gaps = keyGaps(c, keys, m.T0.Add(activeBefore).UnixNano(), m.T0)
	var maxResume, maxGap float64
	unresumed := 0
	for _, kl := range kills {
		ks := KillStats{Pod: kl.pod, AtSec: h.sinceT0(kl.at)}
		to := int64(endOfTime)
		if !kl.end.IsZero() {
			ks.WindowEndSec, to = h.sinceT0(kl.end), kl.end.UnixNano()
		}
		if !kl.restart.IsZero() {
			ks.RestartSec = h.sinceT0(kl.restart)
		}
		own := ownership.Assign(h.Opts.Partitions, names)[kl.pod]
		ks.Partitions = len(own)
		ks.OwnedHotBot = slices.Contains(own, m.HotPartition)
		if logged, last := h.Pods.Pod(slices.Index(names, kl.pod)).OwnedAt(kl.at); last != nil {
			ks.LogAgrees = slices.Equal(logged, own) && last.Members == len(names)
		}
		from := kl.at.UnixNano()
		var resumes []float64
		for _, k := range keys {
			acc := c.Accepts(k)
			if len(inRange(acc, kl.at.Add(-activeBefore).UnixNano(), from)) == 0 {
				continue // not sending before the kill
			}
			g, gat := maxGapEnding(acc, from, to)
			gs := nsSecs(g)
			if slices.Contains(own, partitionOf(k.Bot, h.Opts.Partitions)) {
				ks.PodKeys++
				r := secs(loadEnd.Sub(kl.at))
				if t, ok := firstAtOrAfter(acc, from); ok && t <= to {
					r = nsSecs(t - from)
				} else {
					ks.Unresumed++
				}
				resumes = append(resumes, r)
				if r > ks.MaxResumeSec {
					ks.MaxResumeSec, ks.MaxResumeKey = r, k.Bot
				}
				if k == hotKey {
					ks.HotResumeSec = r
				}
				if gs > ks.MaxGapPodKeysSec {
					ks.MaxGapPodKeysSec = gs
					if gs >= ks.MaxGapOtherSec {
						ks.MaxGapKey = k.Bot
					}
				}
			} else {
				ks.OtherKeys++
				if gs > ks.MaxGapOtherSec {
					ks.MaxGapOtherSec = gs
					ks.MaxGapOtherKey, ks.MaxGapOtherAtSec = k.Bot, nsSecs(gat-m.T0.UnixNano())
					if gs > ks.MaxGapPodKeysSec {
						ks.MaxGapKey = k.Bot
					}
				}
			}
			if !kl.restart.IsZero() && slices.Contains(own, partitionOf(k.Bot, h.Opts.Partitions)) {
				rg, _ := maxGapEnding(acc, kl.restart.UnixNano(), to)
				ks.RestartMaxGapSec = max(ks.RestartMaxGapSec, nsSecs(rg))
			}
		}
		if len(resumes) > 0 {
			var sum float64
			for _, r := range resumes {
				sum += r
			}
			ks.MeanResumeSec = round2(sum / float64(len(resumes)))
		}
		maxResume = max(maxResume, ks.MaxResumeSec)
		maxGap = max(maxGap, ks.MaxGapPodKeysSec, ks.MaxGapOtherSec)
		unresumed += ks.Unresumed
		m.Kills = append(m.Kills, ks)
	}
	h.CheckDelivery()
	h.CheckLimits()
	h.Report.Check("kills done", float64(len(kills)), "==", float64(cycles), "")
	h.Report.Check("killed pod's keys: longest time from the kill to their first send", maxResume, "<=", MaxPodKillGap.Seconds(), "s")
	h.Report.Check("killed pod's keys that never resumed", float64(unresumed), "==", 0, "")
	h.Report.Check("longest pause of any key that was sending before a kill", maxGap, "<=", MaxPodKillGap.Seconds(), "s")
	return runErr
}

// --- podjoin ---

// runPodJoin: one pod under steady load over 60 bots plus one bot's push
// backlog at its limit (a bot whose partition moves to a joining pod); then
// two pods join at once.
func runPodJoin(ctx context.Context, h *Harness) error {
	const bots = 60
	const rate = 600.0
	warm := pick(h, 15*time.Second, 6*time.Second)
	after := pick(h, 30*time.Second, 14*time.Second)
	hot := int(2000 * (warm + after).Seconds())
	names := podNames(3)
	// The backlogged bot's partition moves to a joining pod: the window
	// promise is tested where it is hardest, a key at its limit changing
	// hands between two live pods.
	hotBot := hotBotWhere(bots, h.Opts.Partitions, func(p int) bool { return ownership.Owner(h.Opts.Partitions, p, names) != names[0] })
	h.Param("pods", "1, then 2 more")
	h.Param("bots", bots)
	h.Param("loadPerSec", rate)
	h.Param("hotBacklog", hot)
	h.Param("joinAfter", warm.String())
	h.Param("runAfterJoin", after.String())
	h.Param("ownershipTTL", MultiPodTTL.String())
	h.Param("ackWait", MultiPodAckWait.String())
	if err := h.Begin(ctx, Stack{Bots: bots, ExtraBots: []string{hotBot}, Pod: multiPodConfig}); err != nil {
		return err
	}
	h.Report.Env.Pods = 3
	if err := h.MaybeBaseline(ctx, false); err != nil {
		return err
	}
	m, hotKey := h.markHot(hotBot)
	if err := h.publishHot(ctx, hotBot, hot); err != nil {
		return err
	}
	if _, err := h.StartPodsTogether(ctx, 1); err != nil {
		return err
	}
	steady := h.Bots[:bots]
	l := h.StartLoad(ctx, steady, rate, "load")
	m.T0 = l.Started()
	h.event(m.T0, "load started on pod-0, hot backlog %d intents", hot)
	runErr := h.sleepUntil(ctx, m.T0.Add(warm), l)
	var join time.Time
	if runErr == nil {
		join = time.Now()
		h.event(join, "pod-1 and pod-2 join")
		var idx []int
		for i := 0; i < 2 && runErr == nil; i++ {
			var p *Pod
			if p, runErr = h.AddPod(); runErr == nil {
				idx = append(idx, p.Index)
			}
		}
		if runErr == nil {
			runErr = h.StartTogether(ctx, idx...)
		}
	}
	if runErr == nil {
		runErr = h.sleepUntil(ctx, join.Add(after), l)
	}
	h.collectAssignments()
	c, err := h.stopLoadAndDrain(ctx, l, runErr)
	if c == nil {
		return err
	}
	loadEnd := l.Ended()
	h.podTimelines(c, loadEnd)
	h.diagnose(c, hotKey)
	keys := append(pushKeys(steady), hotKey)
	m.Gaps = keyGaps(c, keys, m.T0.Add(activeBefore).UnixNano(), m.T0)
	h.CheckDelivery()
	h.CheckLimits()
	if join.IsZero() {
		return runErr
	}
	expected := ownership.Assign(h.Opts.Partitions, names)
	rb := &RebalanceStats{JoinSec: h.sinceT0(join), AppliedSec: map[string]float64{}, FirstSendSec: map[string]float64{},
		Expected: map[string]int{}, Owned: map[string]int{}, SharesAfter: map[string]float64{}}
	count := map[int]int{}
	applied, firstSend, matching := 0.0, 0.0, 0
	var owned []float64
	for _, name := range names {
		p := h.Pods.Pod(slices.Index(names, name))
		rb.Expected[name] = len(expected[name])
		at := -1.0
		for _, e := range p.Assignments() {
			if e.At.After(join) && e.Members == len(names) {
				at = secs(e.At.Sub(join))
				break
			}
		}
		rb.AppliedSec[name] = at
		if at < 0 {
			applied = math.Inf(1)
		} else {
			applied = max(applied, at)
		}
		own, _ := p.OwnedAt(loadEnd)
		rb.Owned[name] = len(own)
		owned = append(owned, float64(len(own)))
		if slices.Equal(own, expected[name]) {
			matching++
		}
		for _, q := range own {
			count[q]++
		}
		if name != names[0] {
			fs := -1.0
			if t, ok := firstAtOrAfter(c.PodAccepts(name), join.UnixNano()); ok && t < loadEnd.UnixNano() {
				fs = nsSecs(t - join.UnixNano())
				firstSend = max(firstSend, fs)
			} else {
				firstSend = math.Inf(1)
			}
			rb.FirstSendSec[name] = fs
		}
	}
	for _, n := range count {
		if n == 1 {
			rb.OwnedOnce++
		}
	}
	if lo, hi := slices.Min(owned), slices.Max(owned); lo > 0 {
		rb.Spread = round4(hi / lo)
	} else {
		rb.Spread = math.Inf(1)
	}
	total := 0
	from, to := join.Add(MaxRebalance).UnixNano(), loadEnd.UnixNano()
	for _, name := range names {
		total += len(inRange(c.PodAccepts(name), from, to))
	}
	for _, name := range names {
		if total > 0 {
			rb.SharesAfter[name] = round4(float64(len(inRange(c.PodAccepts(name), from, to))) / float64(total))
		}
	}
	for _, k := range keys {
		p := partitionOf(k.Bot, h.Opts.Partitions)
		if ownership.Owner(h.Opts.Partitions, p, names) == names[0] {
			continue
		}
		acc := c.Accepts(k)
		if len(inRange(acc, join.Add(-activeBefore).UnixNano(), join.UnixNano())) == 0 {
			continue
		}
		rb.MovedKeys++
		g, _ := maxGapEnding(acc, join.UnixNano(), endOfTime)
		rb.MaxGapMovedSec = max(rb.MaxGapMovedSec, nsSecs(g))
		if k == hotKey {
			rb.HotMoved, rb.HotGapSec = true, nsSecs(g)
		}
	}
	m.Rebalance = rb
	h.Report.Check("time from the join until every pod applied the 3-pod assignment", finite(applied), "<=", MaxRebalance.Seconds(), "s")
	h.Report.Check("time from the join until every joining pod sent", finite(firstSend), "<=", MaxRebalance.Seconds(), "s")
	h.Report.Check("pods pulling exactly the rendezvous assignment", float64(matching), "==", float64(len(names)), "")
	h.Report.Check("partitions pulled by exactly one pod", float64(rb.OwnedOnce), "==", float64(h.Opts.Partitions), "")
	h.Report.Check("owned partitions, busiest / idlest pod", finite(rb.Spread), "<=", maxOwnedSpread(h.Opts.Partitions, len(names)), "")
	return runErr
}

// maxOwnedSpread bounds podjoin's busiest / idlest pod (owned partitions):
// the bounded-load assignment gives every pod ⌊P/n⌋ or ⌈P/n⌉
// (docs/ownership.md, Balance).
func maxOwnedSpread(partitions, pods int) float64 {
	lo, hi := partitions/pods, (partitions+pods-1)/pods
	if lo == 0 {
		return math.Inf(1)
	}
	return round4(float64(hi) / float64(lo))
}

// finite maps +Inf (never happened) to a large number the report can hold.
func finite(v float64) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 1e9
	}
	return v
}

// --- natsfail ---

// runNATSFail: 3 pods on a 3-node NATS cluster with R3 streams, steady
// load over 60 bots plus one bot's push backlog at its limit; one NATS
// node is killed with SIGKILL (the long variant kills the JetStream meta
// leader and starts it again 20 s later; the short one kills a node that
// is not the meta leader, the LINE_INTENTS stream leader when it can).
// Sending must resume within 15 s, for all keys together and for each.
func runNATSFail(ctx context.Context, h *Harness) error {
	const bots = 60
	const rate = 400.0
	warm := pick(h, 20*time.Second, 8*time.Second)
	after := pick(h, 40*time.Second, 12*time.Second)
	restartAfter := pick(h, 20*time.Second, 0)
	hot := int(2000 * (warm + after).Seconds())
	h.Param("pods", 3)
	h.Param("natsNodes", ClusterSize)
	h.Param("bots", bots)
	h.Param("loadPerSec", rate)
	h.Param("hotBacklog", hot)
	h.Param("killAfter", warm.String())
	h.Param("runAfterKill", after.String())
	h.Param("restartNodeAfter", restartAfter.String())
	h.Param("victim", pick(h, "meta leader", "LINE_INTENTS stream leader if not the meta leader, else another non-meta-leader node"))
	h.Param("ownershipTTL", MultiPodTTL.String())
	h.Param("ackWait", MultiPodAckWait.String())
	hotBot := devstack.BotID(bots)
	if err := h.Begin(ctx, Stack{Bots: bots + 1, Pod: multiPodConfig}); err != nil {
		return err
	}
	h.Report.Env.Pods = 3
	cl, ok := h.NATS.(*ClusterNATS)
	if !ok {
		return fmt.Errorf("natsfail needs the NATS cluster, got %T", h.NATS)
	}
	m, hotKey := h.markHot(hotBot)
	// The pods start one after the other on the idle cluster, and the
	// backlog is published once they run: pods started together on a
	// fresh cluster race to create the KV buckets and may time out
	// (reported separately; this scenario is about a node's failure).
	for i := 0; i < 3; i++ {
		if _, err := h.StartPodsTogether(ctx, 1); err != nil {
			return err
		}
	}
	if err := h.waitAssigned(ctx, 3, 60*time.Second); err != nil {
		return err
	}
	if err := h.publishHot(ctx, hotBot, hot); err != nil {
		return err
	}
	steady := h.Bots[:bots]
	l := h.StartLoad(ctx, steady, rate, "load")
	m.T0 = l.Started()
	h.event(m.T0, "load started, hot backlog %d intents published", hot)
	nf := &NATSFailStats{}
	m.NATSFail = nf
	runErr := h.sleepUntil(ctx, m.T0.Add(warm), l)
	var killAt, restartAt time.Time
	if runErr == nil {
		victim, roles, err := h.pickNATSVictim(ctx, cl)
		if err != nil {
			runErr = err
		} else {
			nf.Node, nf.Roles = cl.NodeName(victim), roles
			nf.ConsumerLeaders, nf.Consumers = h.consumersLedBy(ctx, cl.NodeName(victim))
			killAt = time.Now()
			runErr = cl.KillNode(victim)
			nf.AtSec = h.sinceT0(killAt)
			h.event(killAt, "kill -9 NATS node %s (%s)", nf.Node, roles)
			if runErr == nil && restartAfter > 0 {
				if runErr = h.sleepUntil(ctx, killAt.Add(restartAfter), l); runErr == nil {
					restartAt = time.Now()
					h.event(restartAt, "start NATS node %s again", nf.Node)
					nf.RestartSec = h.sinceT0(restartAt)
					runErr = cl.StartNode(ctx, victim)
				}
			}
			if runErr == nil {
				if li, err := cl.MetaLeader(ctx); err == nil {
					nf.NewMetaLeader = cl.NodeName(li)
				}
				runErr = h.sleepUntil(ctx, killAt.Add(after), l)
			}
		}
	}
	h.collectAssignments()
	c, err := h.stopLoadAndDrain(ctx, l, runErr)
	for _, u := range cl.Unexpected() {
		h.Report.Notes = append(h.Report.Notes, "unexpected NATS node exit: "+u)
	}
	if c == nil {
		return err
	}
	loadEnd := l.Ended()
	h.podTimelines(c, loadEnd)
	h.diagnose(c, hotKey)
	keys := append(pushKeys(steady), hotKey)
	m.Gaps = keyGaps(c, keys, m.T0.Add(activeBefore).UnixNano(), m.T0)
	h.CheckDelivery()
	h.CheckLimits()
	if killAt.IsZero() {
		return runErr
	}
	from, to := killAt.UnixNano(), int64(endOfTime)
	g, at := maxGapEnding(c.AllAccepts(), from, to)
	nf.MaxGapSec, nf.GapStartSec, nf.GapEndSec = nsSecs(g), nsSecs(at-m.T0.UnixNano()), nsSecs(at+g-m.T0.UnixNano())
	for _, k := range keys {
		kg, kat := maxGapEnding(c.Accepts(k), from, to)
		if kg > int64(time.Second) {
			nf.KeysOver1s++
		}
		if s := nsSecs(kg); s > nf.MaxKeyGapSec {
			nf.MaxKeyGapSec, nf.MaxKeyGapKey, nf.KeyGapStartSec = s, k.Bot, nsSecs(kat-m.T0.UnixNano())
		}
	}
	h.Report.Check("longest pause of all sending after the NATS node kill", nf.MaxGapSec, "<=", MaxNATSFailGap.Seconds(), "s")
	h.Report.Check("longest pause of any key after the NATS node kill", nf.MaxKeyGapSec, "<=", MaxNATSFailGap.Seconds(), "s")
	return runErr
}

// consumersLedBy counts the LINE_INTENTS consumers whose leader is node.
func (h *Harness) consumersLedBy(ctx context.Context, node string) (led, all int) {
	st, err := h.JS.Stream(ctx, queue.IntentsStream)
	if err != nil {
		return 0, 0
	}
	l := st.ListConsumers(ctx)
	for ci := range l.Info() {
		all++
		if ci.Cluster != nil && ci.Cluster.Leader == node {
			led++
		}
	}
	return led, all
}

// pickNATSVictim chooses the node to kill: the long variant the JetStream
// meta leader; the short one the LINE_INTENTS stream leader unless it is the
// meta leader (then any other node). It also describes the node's roles.
func (h *Harness) pickNATSVictim(ctx context.Context, cl *ClusterNATS) (int, string, error) {
	meta, err := cl.MetaLeader(ctx)
	if err != nil {
		return 0, "", err
	}
	leaders := map[string]string{} // stream -> leader server name
	for _, s := range []string{queue.IntentsStream, queue.OutcomesStream, "KV_LINE_MEMBERS", queue.BacklogStream} {
		st, err := h.JS.Stream(ctx, s)
		if err != nil {
			continue
		}
		info, err := st.Info(ctx)
		if err != nil || info.Cluster == nil {
			continue
		}
		leaders[s] = info.Cluster.Leader
	}
	victim := meta
	if h.Opts.Short {
		victim = (meta + 1) % cl.Nodes()
		if k, ok := cl.NodeIndex(leaders[queue.IntentsStream]); ok && k != meta {
			victim = k
		}
	}
	var roles []string
	if victim == meta {
		roles = append(roles, "meta leader")
	}
	for _, s := range sortedKeys(leaders) {
		if leaders[s] == cl.NodeName(victim) {
			roles = append(roles, s+" leader")
		}
	}
	if len(roles) == 0 {
		roles = append(roles, "follower")
	}
	return victim, strings.Join(roles, ", "), nil
}

// writeSummary prints the multi-pod section of the human summary.
func (m *MultiPod) writeSummary(w io.Writer) {
	for _, e := range m.Events {
		fmt.Fprintf(w, "event\t%7.2fs  %s\n", e.AtSec, e.What)
	}
	if l := m.Load; l != nil {
		fmt.Fprintf(w, "load\t%.0f/s over %d bots (one per bot every %.0f ms) for %.1fs: %d intents, %d failed publishes (retried), longest wait for a PubAck %.0f ms\n",
			l.RatePerSec, l.Bots, l.PerBotIntervalMs, l.Seconds, l.Generated, l.FailedPublishes, l.MaxAckWaitMs)
	}
	if s := m.Scale; s != nil {
		for _, p := range s.Phases {
			fmt.Fprintf(w, "phase %d pod(s)\tmany bots %.0f/s steady (%d outcomes in %.1fs), all %.0f/s, hot utilisation %.2f%% (%.0f/s), assignment epochs %d, by pod %v\n",
				p.Pods, p.Many.Steady, p.Many.Outcomes, p.Many.Seconds, p.All.Steady, 100*p.Hot.Value, p.Hot.Rate, p.AssignmentEpochs, p.ByPod)
		}
		fmt.Fprintf(w, "scale\t3 pods / 1 pod throughput (many bots, steady) %.3f\n", s.Ratio)
	}
	for _, k := range m.Kills {
		fmt.Fprintf(w, "kill %s\tat %.2fs: %d partitions (hot bot's: %v, log agrees: %v); its %d keys resumed after max %.2fs (mean %.2fs, %s), %d never; longest pause: its keys %.2fs, other %d keys %.2fs (%s from %.2fs)",
			k.Pod, k.AtSec, k.Partitions, k.OwnedHotBot, k.LogAgrees, k.PodKeys, k.MaxResumeSec, k.MeanResumeSec, k.MaxResumeKey, k.Unresumed, k.MaxGapPodKeysSec, k.OtherKeys, k.MaxGapOtherSec, k.MaxGapOtherKey, k.MaxGapOtherAtSec)
		if k.OwnedHotBot {
			fmt.Fprintf(w, "; hot bot resumed after %.2fs", k.HotResumeSec)
		}
		if k.RestartSec > 0 {
			fmt.Fprintf(w, "; restarted at %.2fs, its keys' longest pause after the restart %.2fs", k.RestartSec, k.RestartMaxGapSec)
		}
		fmt.Fprintln(w)
	}
	if r := m.Rebalance; r != nil {
		fmt.Fprintf(w, "rebalance\tjoin at %.2fs; 3-pod assignment applied after %v s; joining pods' first send after %v s; owned %v (rendezvous %v), owned once %d, spread %.3f; shares from join+10s %v; %d moved keys, longest pause %.2fs (hot bot moved: %v, pause %.2fs)\n",
			r.JoinSec, r.AppliedSec, r.FirstSendSec, r.Owned, r.Expected, r.OwnedOnce, r.Spread, r.SharesAfter, r.MovedKeys, r.MaxGapMovedSec, r.HotMoved, r.HotGapSec)
	}
	if n := m.NATSFail; n != nil && n.Node != "" {
		fmt.Fprintf(w, "natsfail\tkilled %s (%s; leader of %d of %d LINE_INTENTS consumers) at %.2fs; longest pause of all sending %.2fs (%.2fs to %.2fs); longest pause of one key %.2fs (%s from %.2fs), %d keys paused over 1 s; meta leader afterwards %s",
			n.Node, n.Roles, n.ConsumerLeaders, n.Consumers, n.AtSec, n.MaxGapSec, n.GapStartSec, n.GapEndSec, n.MaxKeyGapSec, n.MaxKeyGapKey, n.KeyGapStartSec, n.KeysOver1s, n.NewMetaLeader)
		if n.RestartSec > 0 {
			fmt.Fprintf(w, "; node started again at %.2fs", n.RestartSec)
		}
		fmt.Fprintln(w)
	}
	if d := m.HotWindow; d != nil {
		fmt.Fprintf(w, "hot window\tby accept times: busiest %s window %d at %.2fs (by pod %v), busiest window with 2+ pods %d; %d accepts over %s (%d in windows with 2+ pods)",
			d.Limit, d.MaxInWindow, d.AtSec, d.ByPod, d.MaxInSharedWindow, d.OverLimit, d.Limit, d.OverLimitShared)
		if d.OverLimit > 0 {
			fmt.Fprintf(w, " between %.2fs and %.2fs", d.OverLimitFirstSec, d.OverLimitLastSec)
		}
		fmt.Fprintln(w)
	}
	if t := m.Throttles; t != nil {
		fmt.Fprintf(w, "429s\t%d outcomes (%d attempts) between %.2fs and %.2fs, by pod %v, by key %v\n", t.Outcomes, t.Attempts, t.FirstSec, t.LastSec, t.ByPod, t.ByKey)
	}
	if g := m.Gaps; g != nil {
		fmt.Fprintf(w, "key pauses\t%d keys: longest %.2fs (%s at %.2fs), %d keys paused over 1 s\n", g.Keys, g.MaxGapSec, g.MaxGapKey, g.MaxGapAtSec, g.Over1s)
	}
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// markHot registers hotBot's push key as the scenario's hot key.
func (h *Harness) markHot(hotBot string) (*MultiPod, KeyID) {
	m := h.multi()
	hotKey := KeyID{hotBot, "push"}
	m.HotBot, m.HotPartition = hotBot, partitionOf(hotBot, h.Opts.Partitions)
	h.NameKey(hotKey, "hot", false)
	return m, hotKey
}

// publishHot publishes the hot bot's push backlog of n intents.
func (h *Harness) publishHot(ctx context.Context, hotBot string, n int) error {
	st, err := h.Publish(ctx, n, func(int) (*intent.Intent, error) { return h.Gen.Push(hotBot, "hot") })
	h.Report.Publish = &st
	return err
}
