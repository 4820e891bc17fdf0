package linesim

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
)

// replyEntry is an issued reply token: who may use it and for whom.
type replyEntry struct {
	ch     int
	bot    *botState
	to     string
	issued int64
}

// IssueReplyToken issues a single-use reply token for a message from user to
// bot on channel, as a webhook event would carry. It expires after
// Config.ReplyTokenTTL on linesim's clock.
func (s *Sim) IssueReplyToken(channelID, bot, user string) (token string, expires time.Time, err error) {
	ch, ok := s.chByID[channelID]
	if !ok {
		return "", time.Time{}, fmt.Errorf("linesim: unknown channel %q", channelID)
	}
	b, ok := (*ch.bots.Load())[bot]
	if !ok || !b.attached.Load() {
		return "", time.Time{}, fmt.Errorf("linesim: bot %q is not attached to channel %s", bot, channelID)
	}
	if !isChatID(user) {
		return "", time.Time{}, fmt.Errorf("linesim: %q is not a user, group or room ID", user)
	}
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	token = hex.EncodeToString(raw[:])
	now, ns := s.now()
	s.state.Load().replies.put(token, replyEntry{ch: ch.idx, bot: b, to: user, issued: ns}, ns)
	return token, now.Add(s.cfg.ReplyTokenTTL), nil
}
