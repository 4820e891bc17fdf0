package linesim

import (
	"regexp"
	"sort"
	"sync"
)

var reUnitName = regexp.MustCompile(`^[a-zA-Z0-9_]{1,30}$`)

// monthKey names one (channel, bot, month in Asia/Tokyo).
type monthKey struct {
	ch  int
	bot string
	ym  int32
}

// botMonth holds a bot's unit names and quota use for one month.
type botMonth struct {
	st      *state
	key     monthKey
	mu      sync.Mutex
	units   map[string]*unitCount
	order   []string // names in order of first use
	dropped int64
	quota   int64 // recipient deliveries counted against MonthlyQuota
}

type unitCount struct {
	requests   int64
	recipients int64
}

// month returns the botMonth of the request's (channel, bot) for the
// current month on linesim's clock.
func (s *Sim) month(rc *reqCtx) *botMonth {
	ym := monthOf(rc.now)
	if m := rc.bot.month.Load(); m != nil && m.st == rc.st && m.key.ym == ym {
		return m
	}
	k := monthKey{rc.ch.idx, rc.bot.id, ym}
	v, _ := rc.st.months.LoadOrStore(k, &botMonth{st: rc.st, key: k, units: map[string]*unitCount{}})
	m := v.(*botMonth)
	rc.bot.month.Store(m)
	return m
}

// addUnit counts a delivery under name. Over the cap of distinct names the
// name is silently dropped (the delivery still happens): it returns false.
func (m *botMonth) addUnit(name string, capacity int, recipients int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.units[name]
	if !ok {
		if len(m.units) >= capacity {
			m.dropped++
			return false
		}
		u = &unitCount{}
		m.units[name] = u
		m.order = append(m.order, name)
	}
	u.requests++
	u.recipients += recipients
	return true
}

// consumeQuota takes n deliveries from the monthly quota if they all fit.
func (m *botMonth) consumeQuota(n int64, quota int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.quota+n > int64(quota) {
		return false
	}
	m.quota += n
	return true
}

// names returns the unit names used this month, in order of first use.
func (m *botMonth) names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.order...)
}

// UnitStat counts the deliveries made under one unit name.
type UnitStat struct {
	Name       string `json:"name"`
	Requests   int64  `json:"requests"`   // requests delivered with the name attached
	Recipients int64  `json:"recipients"` // recipient deliveries with the name attached
}

// UnitCount is one (channel, bot, month) of unit use. Month is "2006-01" in
// Asia/Tokyo.
type UnitCount struct {
	Channel   string     `json:"channel"`
	Bot       string     `json:"bot"`
	Month     string     `json:"month"`
	Distinct  int        `json:"distinct"`  // distinct names attached (at most the cap)
	Dropped   int64      `json:"dropped"`   // deliveries whose name was silently dropped over the cap
	QuotaUsed int64      `json:"quotaUsed"` // recipient deliveries counted against the monthly quota
	Units     []UnitStat `json:"units"`     // sorted by name
}

func (s *Sim) unitCounts(st *state) []UnitCount {
	var out []UnitCount
	st.months.Range(func(_, v any) bool {
		m := v.(*botMonth)
		m.mu.Lock()
		uc := UnitCount{Channel: s.channels[m.key.ch].id, Bot: m.key.bot, Month: monthString(m.key.ym),
			Distinct: len(m.units), Dropped: m.dropped, QuotaUsed: m.quota, Units: []UnitStat{}}
		for name, u := range m.units {
			uc.Units = append(uc.Units, UnitStat{name, u.requests, u.recipients})
		}
		m.mu.Unlock()
		sort.Slice(uc.Units, func(i, j int) bool { return uc.Units[i].Name < uc.Units[j].Name })
		out = append(out, uc)
		return true
	})
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Channel != b.Channel {
			return a.Channel < b.Channel
		}
		if a.Bot != b.Bot {
			return a.Bot < b.Bot
		}
		return a.Month < b.Month
	})
	return out
}
