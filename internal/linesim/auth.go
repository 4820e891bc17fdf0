package linesim

import (
	"net/http"
	"strings"
)

// authenticate checks the Bearer token: a static token of a channel, or a
// token linesim issued that is unexpired on linesim's clock (short-lived
// tokens also must be among the channel's 30 newest). Else 401.
func (s *Sim) authenticate(rc *reqCtx) bool {
	h := rc.r.Header["Authorization"]
	if len(h) == 0 || h[0] == "" {
		rc.unauthorized(msgAuthRequired)
		return false
	}
	tok, ok := strings.CutPrefix(h[0], "Bearer ")
	if !ok {
		rc.unauthorized(msgAuthRequired)
		return false
	}
	tok = strings.TrimSpace(tok)
	if ch, ok := s.static[tok]; ok {
		rc.ch = ch
		return true
	}
	t, ok := s.tokens.verify(tok)
	if !ok || t.channel >= len(s.channels) || s.clock.Now().UnixMilli() >= t.expires {
		rc.unauthorized(msgAuthFailed)
		return false
	}
	ch := s.channels[t.channel]
	if t.kind == kindShortLived && !ch.shortLivedValid(t.serial) {
		rc.unauthorized(msgAuthFailed)
		return false
	}
	rc.ch = ch
	return true
}

func (rc *reqCtx) unauthorized(msg string) {
	rc.st.unauthorized.Add(1)
	rc.st.unattributed.Add(1)
	rc.fail(http.StatusUnauthorized, msg)
}

// resolveBot finds the bot the request is for. Endpoints that take the bot
// header need it to name a bot this channel knows (attached now or before);
// channel-wide endpoints use the channel's pseudo bot "".
func (s *Sim) resolveBot(rc *reqCtx) bool {
	if rc.ep.bot == botNone {
		rc.bot = rc.ch.none
		return true
	}
	v := rc.r.Header[s.botKey]
	if len(v) == 0 || v[0] == "" {
		rc.st.unattributed.Add(1)
		rc.fail(http.StatusBadRequest, "The request header "+s.cfg.BotHeader+" is required")
		return false
	}
	if len(v) > 1 || !isBotID(v[0]) {
		rc.st.unattributed.Add(1)
		rc.fail(http.StatusBadRequest, "The value of the "+s.cfg.BotHeader+" header is invalid")
		return false
	}
	b, ok := (*rc.ch.bots.Load())[v[0]]
	if !ok {
		rc.st.unattributed.Add(1)
		rc.fail(http.StatusForbidden, msgNotAttached)
		return false
	}
	rc.bot = b
	return true
}
