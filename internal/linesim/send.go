package linesim

import (
	"net/http"
)

// Pseudo recipients of the requests that do not name their recipients.
const (
	RecipientNarrowcast = "*narrowcast*"
	RecipientBroadcast  = "*broadcast*"
)

// delivery is what an accepted message request delivers.
type delivery struct {
	recipients []string
	units      []string
	nMsgs      int
	quotes     uint8
	quota      int64 // recipient deliveries counted against the monthly quota
}

// deliver runs the accept path shared by every message endpoint: retry key
// (409), monthly quota (429), then the delivery itself: units, duplicates,
// per-recipient counts. It returns the first message ID and whether the
// request delivered (if not, it has answered).
func (s *Sim) deliver(rc *reqCtx, d *delivery) (uint64, bool) {
	first := s.ids.messageIDs(d.nMsgs)
	if rc.hasRK {
		body := s.canonHash(rc.tree)
		e := retryEntry{seq: rc.seq, body: body, firstMsg: first, bot: rc.bot, nMsgs: uint8(d.nMsgs), quotes: d.quotes, ep: rc.ep.id}
		if old, found := s.reserveRetryKey(rc, e); found {
			s.conflict(rc, old, body)
			return 0, false
		}
	}
	var bm *botMonth
	if s.cfg.MonthlyQuota > 0 && d.quota > 0 {
		bm = s.month(rc)
		if !bm.consumeQuota(d.quota, s.cfg.MonthlyQuota) {
			if rc.hasRK {
				s.releaseRetryKey(rc)
			}
			rc.key.throttled.Add(1)
			rc.key.quota.Add(1)
			rc.fail(http.StatusTooManyRequests, msgMonthlyLimit)
			return 0, false
		}
	}
	// Delivered from here on.
	n := int64(len(d.recipients))
	if len(d.units) == 1 {
		if bm == nil {
			bm = s.month(rc)
		}
		if !bm.addUnit(d.units[0], s.cfg.UnitCap, n) {
			rc.key.unitsDropped.Add(1)
		}
	}
	s.recordDeliveries(rc, d)
	rc.key.accepted.Add(1)
	rc.key.recipients.Add(n)
	return first, true
}

func (s *Sim) handlePush(rc *reqCtx) {
	if !rc.parseObject() {
		return
	}
	var d details
	to := requireString(rc.tree, "to", "to", 0, &d)
	if to != "" && !isChatID(to) {
		d.add("to", "must be a user, group or room ID (%s)", describeIDs())
	}
	n, quotes := validateMessages(rc.tree["messages"], &d)
	units := validateUnits(rc.tree, &d)
	checkBool(rc.tree, "notificationDisabled", "notificationDisabled", &d)
	if len(d) > 0 {
		rc.failDetails(d)
		return
	}
	rc.checkProps(propsPush)
	first, ok := s.deliver(rc, &delivery{recipients: []string{to}, units: units, nMsgs: n, quotes: quotes, quota: 1})
	if ok {
		rc.delivered(http.StatusOK, s.sentMessagesJSON(first, n, quotes))
	}
}

func (s *Sim) handleMulticast(rc *reqCtx) {
	if !rc.parseObject() {
		return
	}
	var d details
	to, repeated := validateRecipients(rc.tree, &d)
	n, _ := validateMessages(rc.tree["messages"], &d)
	units := validateUnits(rc.tree, &d)
	checkBool(rc.tree, "notificationDisabled", "notificationDisabled", &d)
	if len(d) > 0 {
		rc.failDetails(d)
		return
	}
	rc.checkProps(propsMulticast)
	if repeated {
		rc.violation("the same user ID appears more than once in to")
	}
	if _, ok := s.deliver(rc, &delivery{recipients: to, units: units, nMsgs: n, quota: int64(len(to))}); ok {
		rc.delivered(http.StatusOK, bodyEmptyJSON)
	}
}

func (s *Sim) handleNarrowcast(rc *reqCtx) {
	if !rc.parseObject() {
		return
	}
	var d details
	n, _ := validateMessages(rc.tree["messages"], &d)
	for _, p := range []string{"recipient", "filter"} {
		if v, ok := rc.tree[p]; ok {
			if _, ok := v.(map[string]any); !ok {
				d.add(p, "must be an object")
			}
		}
	}
	target := int64(0)
	if v, ok := rc.tree["limit"]; ok {
		lim, ok := v.(map[string]any)
		if !ok {
			d.add("limit", "must be an object")
		} else {
			if mv, ok := lim["max"]; ok {
				if m, ok := intValue(mv); !ok || m < 1 {
					d.add("limit.max", "must be an integer of at least 1")
				} else {
					target = m
				}
			}
			checkBool(lim, "upToRemainingQuota", "limit.upToRemainingQuota", &d)
			checkBool(lim, "forbidPartialDelivery", "limit.forbidPartialDelivery", &d)
			if lim["forbidPartialDelivery"] == true && lim["upToRemainingQuota"] != true {
				d.add("limit.forbidPartialDelivery", "can be true only if upToRemainingQuota is true")
			}
		}
	}
	checkBool(rc.tree, "notificationDisabled", "notificationDisabled", &d)
	if len(d) > 0 {
		rc.failDetails(d)
		return
	}
	rc.checkProps(propsNarrowcast)
	if _, ok := s.deliver(rc, &delivery{recipients: []string{RecipientNarrowcast}, nMsgs: n, quota: 1}); ok {
		rc.st.narrowcasts.put(rc.seq, narrowcastEntry{ch: rc.ch.idx, bot: rc.bot, accepted: rc.now, target: target}, rc.ns)
		rc.delivered(http.StatusAccepted, bodyEmptyJSON)
	}
}

func (s *Sim) handleBroadcast(rc *reqCtx) {
	if !rc.parseObject() {
		return
	}
	var d details
	n, _ := validateMessages(rc.tree["messages"], &d)
	checkBool(rc.tree, "notificationDisabled", "notificationDisabled", &d)
	if len(d) > 0 {
		rc.failDetails(d)
		return
	}
	rc.checkProps(propsBroadcast)
	if _, ok := s.deliver(rc, &delivery{recipients: []string{RecipientBroadcast}, nMsgs: n, quota: 1}); ok {
		rc.delivered(http.StatusOK, bodyEmptyJSON)
	}
}

func (s *Sim) handleReply(rc *reqCtx) {
	if !rc.parseObject() {
		return
	}
	var d details
	tok := requireString(rc.tree, "replyToken", "replyToken", 0, &d)
	n, quotes := validateMessages(rc.tree["messages"], &d)
	checkBool(rc.tree, "notificationDisabled", "notificationDisabled", &d)
	if len(d) > 0 {
		rc.failDetails(d)
		return
	}
	rc.checkProps(propsReply)
	e, ok := rc.st.replies.take(tok, rc.ns)
	if !ok || e.ch != rc.ch.idx || e.bot != rc.bot {
		if ok { // a token of another bot stays unused
			rc.st.replies.put(tok, e, e.issued)
		}
		rc.fail(http.StatusBadRequest, msgInvalidReply)
		return
	}
	first, ok := s.deliver(rc, &delivery{recipients: []string{e.to}, nMsgs: n, quotes: quotes})
	if ok {
		rc.delivered(http.StatusOK, s.sentMessagesJSON(first, n, quotes))
	}
}
