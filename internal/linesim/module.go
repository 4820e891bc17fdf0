package linesim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// The read and module endpoints: markAsRead, narrowcast progress, unit
// aggregation, bot list and info, detach, chat control.

func (s *Sim) handleMarkAsRead(rc *reqCtx) {
	if !rc.parseObject() {
		return
	}
	var d details
	if chat := requireObject(rc.tree, "chat", "chat", &d); chat != nil {
		if id := requireString(chat, "userId", "chat.userId", 0, &d); id != "" && !isUserID(id) {
			d.add("chat.userId", "must be a user ID")
		}
	}
	if len(d) > 0 {
		rc.failDetails(d)
		return
	}
	rc.checkProps(propsMarkAsRead)
	rc.key.accepted.Add(1)
	rc.delivered(http.StatusOK, bodyEmptyJSON)
}

// narrowcastEntry remembers an accepted narrowcast for its progress.
type narrowcastEntry struct {
	ch       int
	bot      *botState
	accepted time.Time
	target   int64
}

type progressResponse struct {
	Phase         string     `json:"phase"`
	SuccessCount  *int64     `json:"successCount,omitempty"`
	FailureCount  *int64     `json:"failureCount,omitempty"`
	TargetCount   *int64     `json:"targetCount,omitempty"`
	AcceptedTime  time.Time  `json:"acceptedTime"`
	CompletedTime *time.Time `json:"completedTime,omitempty"`
}

// handleProgress: phase "sending" for NarrowcastDuration after acceptance,
// then "succeeded". Unknown request IDs (or another bot's) get 404.
func (s *Sim) handleProgress(rc *reqCtx) {
	id := rc.r.URL.Query().Get("requestId")
	if id == "" {
		rc.failDetails(details{{Message: "must be specified", Property: "requestId"}})
		return
	}
	seq, ok := s.ids.requestSeq(id)
	var e narrowcastEntry
	if ok {
		e, _, ok = rc.st.narrowcasts.get(seq, rc.ns)
	}
	if !ok || e.ch != rc.ch.idx || e.bot != rc.bot {
		rc.fail(http.StatusNotFound, msgNotFound)
		return
	}
	p := progressResponse{Phase: "sending", AcceptedTime: e.accepted.UTC().Truncate(time.Millisecond)}
	if done := e.accepted.Add(s.cfg.NarrowcastDuration); !rc.now.Before(done) {
		zero := int64(0)
		c := done.UTC().Truncate(time.Millisecond)
		p.Phase, p.CompletedTime = "succeeded", &c
		p.SuccessCount, p.FailureCount, p.TargetCount = &e.target, &zero, &e.target
	}
	b, _ := json.Marshal(p)
	rc.key.accepted.Add(1)
	rc.delivered(http.StatusOK, b)
}

// monthIfAny returns the current botMonth without creating it.
func (s *Sim) monthIfAny(rc *reqCtx) *botMonth {
	v, ok := rc.st.months.Load(monthKey{rc.ch.idx, rc.bot.id, monthOf(rc.now)})
	if !ok {
		return nil
	}
	return v.(*botMonth)
}

func (s *Sim) handleAggregationInfo(rc *reqCtx) {
	n := 0
	if m := s.monthIfAny(rc); m != nil {
		n = len(m.names())
	}
	rc.key.accepted.Add(1)
	rc.delivered(http.StatusOK, []byte(`{"numOfCustomAggregationUnits":`+strconv.Itoa(n)+`}`))
}

func (s *Sim) handleAggregationList(rc *reqCtx) {
	start, limit, ok := rc.paging()
	if !ok {
		return
	}
	var names []string
	if m := s.monthIfAny(rc); m != nil {
		names = m.names()
	}
	page, next := pageOf(names, start, limit)
	out := struct {
		Units []string `json:"customAggregationUnits"`
		Next  string   `json:"next,omitempty"`
	}{page, next}
	if out.Units == nil {
		out.Units = []string{}
	}
	b, _ := json.Marshal(out)
	rc.key.accepted.Add(1)
	rc.delivered(http.StatusOK, b)
}

// ModuleBot is one entry of GET /v2/bot/list.
type ModuleBot struct {
	UserID      string `json:"userId"`
	BasicID     string `json:"basicId"`
	DisplayName string `json:"displayName"`
}

func moduleBot(id string) ModuleBot {
	return ModuleBot{UserID: id, BasicID: "@" + id[1:9], DisplayName: "linesim bot " + id[1:9]}
}

func (s *Sim) handleBotList(rc *reqCtx) {
	start, limit, ok := rc.paging()
	if !ok {
		return
	}
	ids, next := pageOf(rc.ch.attached(), start, limit)
	out := struct {
		Bots []ModuleBot `json:"bots"`
		Next string      `json:"next,omitempty"`
	}{Bots: []ModuleBot{}, Next: next}
	for _, id := range ids {
		out.Bots = append(out.Bots, moduleBot(id))
	}
	b, _ := json.Marshal(out)
	rc.key.accepted.Add(1)
	rc.delivered(http.StatusOK, b)
}

func (s *Sim) handleBotInfo(rc *reqCtx) {
	mb := moduleBot(rc.bot.id)
	b, _ := json.Marshal(map[string]string{
		"userId": mb.UserID, "basicId": mb.BasicID, "displayName": mb.DisplayName,
		"chatMode": "bot", "markAsReadMode": "auto",
	})
	rc.key.accepted.Add(1)
	rc.delivered(http.StatusOK, b)
}

func (s *Sim) handleDetach(rc *reqCtx) {
	if !rc.parseObject() {
		return
	}
	var d details
	bot := requireString(rc.tree, "botId", "botId", 0, &d)
	if bot != "" && !isBotID(bot) {
		d.add("botId", "must be a bot user ID")
	}
	if len(d) > 0 {
		rc.failDetails(d)
		return
	}
	rc.checkProps(propsDetach)
	if !rc.ch.detach(bot) {
		rc.fail(http.StatusBadRequest, msgNotAttached)
		return
	}
	s.log.Info().Str("channel", rc.ch.id).Str("bot", bot).Msg("bot detached")
	rc.key.accepted.Add(1)
	rc.delivered(http.StatusOK, bodyEmptyJSON)
}

func (s *Sim) handleAcquire(rc *reqCtx) {
	if !rc.parseObject() {
		return
	}
	var d details
	if !isChatID(rc.chatID) {
		d.add("chatId", "must be a user, group or room ID")
	}
	checkBool(rc.tree, "expired", "expired", &d)
	if v, ok := rc.tree["ttl"]; ok {
		if n, ok := intValue(v); !ok || n < 0 || n > 31536000 {
			d.add("ttl", "must be an integer between 0 and 31536000")
		}
	}
	if len(d) > 0 {
		rc.failDetails(d)
		return
	}
	rc.checkProps(propsAcquire)
	rc.key.accepted.Add(1)
	rc.delivered(http.StatusOK, bodyEmptyJSON)
}

func (s *Sim) handleRelease(rc *reqCtx) {
	if !isChatID(rc.chatID) {
		rc.failDetails(details{{Message: "must be a user, group or room ID", Property: "chatId"}})
		return
	}
	rc.key.accepted.Add(1)
	rc.delivered(http.StatusOK, bodyEmptyJSON)
}

// paging reads limit (1-100, default 100) and start (a continuation token).
func (rc *reqCtx) paging() (start, limit int, ok bool) {
	q := rc.r.URL.Query()
	limit = 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			rc.failDetails(details{{Message: "must be an integer between 1 and 100", Property: "limit"}})
			return 0, 0, false
		}
		limit = n
	}
	if v := q.Get("start"); v != "" {
		n, err := parseContinuation(v)
		if err != nil {
			rc.fail(http.StatusBadRequest, msgBadToken)
			return 0, 0, false
		}
		start = n
	}
	return start, limit, true
}

func continuation(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("linesim:" + strconv.Itoa(offset)))
}

func parseContinuation(s string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 9 || string(b[:8]) != "linesim:" {
		return 0, strconv.ErrSyntax
	}
	n, err := strconv.Atoi(string(b[8:]))
	if err != nil || n < 0 {
		return 0, strconv.ErrSyntax
	}
	return n, nil
}

// pageOf returns items[start:start+limit] and the continuation token of the
// rest ("" when nothing is left).
func pageOf(items []string, start, limit int) ([]string, string) {
	if start > len(items) {
		start = len(items)
	}
	end := start + limit
	if end >= len(items) {
		return items[start:], ""
	}
	return items[start:end], continuation(end)
}
