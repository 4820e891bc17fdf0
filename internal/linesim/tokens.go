package linesim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"hash"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Token lives and the number of short-lived tokens LINE keeps per channel.
const (
	StatelessTokenTTL  = 15 * time.Minute
	ShortLivedTokenTTL = 30 * 24 * time.Hour
	maxShortLived      = 30
	kindStateless      = 's'
	kindShortLived     = 'l'
	tokenPrefix        = "lsim."
	tokenPayload       = 1 + 4 + 8 + 8
	tokenMAC           = 16
)

// tokenSigner issues and verifies self-contained access tokens: a payload
// (kind, channel, expiry, serial) and its HMAC. Stateless tokens need no
// memory at all; short-lived ones are also checked against the channel's
// list of the 30 newest.
type tokenSigner struct {
	pool sync.Pool
}

type tokenInfo struct {
	kind    byte
	channel int
	expires int64 // unix ms on linesim's clock
	serial  uint64
}

func newTokenSigner(key []byte) *tokenSigner {
	t := &tokenSigner{}
	t.pool.New = func() any { return hmac.New(sha256.New, key) }
	return t
}

func (t *tokenSigner) mac(payload []byte, out []byte) []byte {
	h := t.pool.Get().(hash.Hash)
	h.Reset()
	h.Write(payload)
	out = h.Sum(out)
	t.pool.Put(h)
	return out
}

func (t *tokenSigner) issue(ti tokenInfo) string {
	var raw [tokenPayload + sha256.Size]byte
	raw[0] = ti.kind
	binary.BigEndian.PutUint32(raw[1:], uint32(ti.channel))
	binary.BigEndian.PutUint64(raw[5:], uint64(ti.expires))
	binary.BigEndian.PutUint64(raw[13:], ti.serial)
	t.mac(raw[:tokenPayload], raw[tokenPayload:tokenPayload])
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:tokenPayload+tokenMAC])
}

func (t *tokenSigner) verify(tok string) (tokenInfo, bool) {
	enc, ok := strings.CutPrefix(tok, tokenPrefix)
	if !ok || base64.RawURLEncoding.DecodedLen(len(enc)) != tokenPayload+tokenMAC {
		return tokenInfo{}, false
	}
	var raw [tokenPayload + tokenMAC]byte
	if n, err := base64.RawURLEncoding.Decode(raw[:], []byte(enc)); err != nil || n != len(raw) {
		return tokenInfo{}, false
	}
	var sum [sha256.Size]byte
	if !hmac.Equal(t.mac(raw[:tokenPayload], sum[:0])[:tokenMAC], raw[tokenPayload:]) {
		return tokenInfo{}, false
	}
	return tokenInfo{
		kind:    raw[0],
		channel: int(binary.BigEndian.Uint32(raw[1:])),
		expires: int64(binary.BigEndian.Uint64(raw[5:])),
		serial:  binary.BigEndian.Uint64(raw[13:]),
	}, true
}

func (ch *channel) issueShortLived() uint64 {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.nextSerial++
	ch.shortLived = append(ch.shortLived, ch.nextSerial)
	if len(ch.shortLived) > maxShortLived { // the 31st invalidates the oldest
		ch.shortLived = append(ch.shortLived[:0], ch.shortLived[1:]...)
	}
	return ch.nextSerial
}

func (ch *channel) shortLivedValid(serial uint64) bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	for _, s := range ch.shortLived {
		if s == serial {
			return true
		}
	}
	return false
}

// tokenResponse is the answer of both token endpoints.
type tokenResponse struct {
	TokenType   string `json:"token_type"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

func (s *Sim) handleStatelessToken(rc *reqCtx) { s.issueToken(rc, kindStateless, StatelessTokenTTL) }

func (s *Sim) handleShortLivedToken(rc *reqCtx) { s.issueToken(rc, kindShortLived, ShortLivedTokenTTL) }

// issueToken serves POST /oauth2/v3/token and POST /v2/oauth/accessToken:
// form grant_type=client_credentials, client_id, client_secret.
func (s *Sim) issueToken(rc *reqCtx, kind byte, ttl time.Duration) {
	mt, _, _ := mime.ParseMediaType(rc.r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		rc.st.unattributed.Add(1)
		rc.oauthError(http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
		return
	}
	raw, err := io.ReadAll(io.LimitReader(rc.r.Body, 64<<10))
	form, err2 := url.ParseQuery(string(raw))
	if err != nil || err2 != nil {
		rc.st.unattributed.Add(1)
		rc.oauthError(http.StatusBadRequest, "invalid_request", "the form could not be parsed")
		return
	}
	ch := s.chByID[form.Get("client_id")]
	if ch != nil { // attribute to the channel's key before anything else
		rc.ch, rc.bot = ch, ch.none
		rc.now, rc.ns = s.now()
		rc.key = s.key(rc.st, ch, ch.none, rc.ep)
		if rc.key.record(rc.ns) {
			rc.key.throttled.Add(1)
			rc.oauthError(http.StatusTooManyRequests, "too_many_requests", msgTooMany)
			return
		}
	} else {
		rc.st.unattributed.Add(1)
	}
	if s.preFaults(rc) {
		return
	}
	switch {
	case form.Get("grant_type") != "client_credentials":
		rc.oauthError(http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials")
	case form.Has("client_assertion"):
		rc.oauthError(http.StatusBadRequest, "invalid_request", "linesim supports client_id and client_secret only")
	case form.Get("client_id") == "" || form.Get("client_secret") == "":
		rc.oauthError(http.StatusBadRequest, "invalid_request", "client_id and client_secret are required")
	case ch == nil || !hmac.Equal([]byte(form.Get("client_secret")), []byte(ch.secret)):
		rc.oauthError(http.StatusBadRequest, "invalid_client", "invalid client_id or client_secret")
	default:
		ti := tokenInfo{kind: kind, channel: ch.idx, expires: s.clock.Now().Add(ttl).UnixMilli()}
		if kind == kindShortLived {
			ti.serial = ch.issueShortLived()
		}
		b, _ := json.Marshal(tokenResponse{"Bearer", s.tokens.issue(ti), int64(ttl / time.Second)})
		if rc.key != nil {
			rc.key.accepted.Add(1)
		}
		rc.respond(http.StatusOK, b)
	}
}

func (rc *reqCtx) oauthError(code int, e, desc string) {
	b, _ := json.Marshal(map[string]string{"error": e, "error_description": desc})
	rc.respond(code, b)
}
