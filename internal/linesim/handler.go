package linesim

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// reqCtx carries one LINE API request through the pipeline.
type reqCtx struct {
	s      *Sim
	w      http.ResponseWriter
	r      *http.Request
	st     *state
	ep     *endpoint
	ch     *channel
	bot    *botState
	key    *keyState // nil when the request is not attributed to a key
	seq    uint64
	reqID  string
	now    time.Time
	ns     int64
	faults *Faults
	chatID string
	buf    *bytes.Buffer
	body   []byte
	tree   map[string]any
	rk     [16]byte
	hasRK  bool
	status int
}

var (
	rcPool  = sync.Pool{New: func() any { return new(reqCtx) }}
	bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	ctJSON  = []string{"application/json"}
)

// Handler returns the LINE API handler.
func (s *Sim) Handler() http.Handler { return http.HandlerFunc(s.serveAPI) }

func (s *Sim) serveAPI(w http.ResponseWriter, r *http.Request) {
	rc := rcPool.Get().(*reqCtx)
	*rc = reqCtx{s: s, w: w, r: r, st: s.state.Load()}
	defer func() {
		if rc.buf != nil && rc.buf.Cap() <= 256<<10 {
			rc.buf.Reset()
			bufPool.Put(rc.buf)
		}
		s.logRequest(rc)
		*rc = reqCtx{}
		rcPool.Put(rc)
	}()
	rc.st.requests.Add(1)
	rc.seq = s.ids.next()
	rc.reqID = s.ids.requestID(rc.seq)
	w.Header()["X-Line-Request-Id"] = []string{rc.reqID}

	ep, chatID, methodOK := route(r)
	if ep == nil || !methodOK {
		rc.st.notFound.Add(1)
		rc.st.unattributed.Add(1)
		if ep == nil {
			rc.fail(http.StatusNotFound, msgNotFound)
		} else {
			w.Header().Set("Allow", ep.method)
			rc.fail(http.StatusMethodNotAllowed, msgMethod)
		}
		return
	}
	rc.ep, rc.chatID = ep, chatID
	rc.faults = s.faultsFor(ep)
	if ep.tokenEP {
		ep.handle(s, rc)
		return
	}
	if !s.authenticate(rc) || !s.resolveBot(rc) {
		return
	}
	if f := rc.faults; f != nil {
		// An ingress stall holds the request before LINE counts it.
		if d := f.stall(time.Now()); d > 0 && !s.sleep(rc, d) {
			return
		}
	}
	rc.now, rc.ns = s.now()
	rc.key = s.key(rc.st, rc.ch, rc.bot, ep)
	over := rc.key.record(rc.ns)
	if rc.bot != rc.ch.none && !rc.bot.attached.Load() {
		rc.violation("request for a detached bot")
		rc.fail(http.StatusForbidden, msgNotAttached)
		return
	}
	if over {
		rc.key.throttled.Add(1)
		rc.respond(http.StatusTooManyRequests, bodyTooMany)
		return
	}
	if !rc.checkRetryKey() || !rc.readBody() || s.preFaults(rc) {
		return
	}
	ep.handle(s, rc)
}

// checkRetryKey applies LINE's X-Line-Retry-Key rules.
func (rc *reqCtx) checkRetryKey() bool {
	v, ok := rc.r.Header["X-Line-Retry-Key"]
	if !ok {
		return true
	}
	if !rc.ep.retryKey {
		rc.fail(http.StatusBadRequest, msgRetryNotAllowed)
		return false
	}
	if len(v) != 1 {
		rc.fail(http.StatusBadRequest, msgRetryInvalid)
		return false
	}
	rc.rk, rc.hasRK = parseUUID(v[0])
	if !rc.hasRK {
		rc.fail(http.StatusBadRequest, msgRetryInvalid)
		return false
	}
	return true
}

// readBody reads a JSON body (413 over 2 MB, 415 for another media type).
// Endpoints without a required body accept an empty one.
func (rc *reqCtx) readBody() bool {
	if rc.r.Method != http.MethodPost {
		return true
	}
	if rc.r.ContentLength > MaxBodyBytes {
		rc.fail(http.StatusRequestEntityTooLarge, msgTooLarge)
		return false
	}
	rc.buf = bufPool.Get().(*bytes.Buffer)
	if _, err := rc.buf.ReadFrom(io.LimitReader(rc.r.Body, MaxBodyBytes+1)); err != nil {
		rc.fail(http.StatusBadRequest, "The request body could not be read")
		return false
	}
	if rc.buf.Len() > MaxBodyBytes {
		rc.fail(http.StatusRequestEntityTooLarge, msgTooLarge)
		return false
	}
	rc.body = rc.buf.Bytes()
	if len(rc.body) == 0 && !rc.ep.body {
		return true
	}
	if !isJSONContentType(rc.r.Header.Get("Content-Type")) {
		rc.fail(http.StatusUnsupportedMediaType, msgMediaType)
		return false
	}
	return true
}

func isJSONContentType(ct string) bool {
	if ct == "application/json" || ct == "application/json; charset=utf-8" || ct == "application/json; charset=UTF-8" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// parseObject decodes the body as a JSON object (numbers kept as written).
// On failure it answers 400 and returns false.
func (rc *reqCtx) parseObject() bool {
	if len(bytes.TrimSpace(rc.body)) == 0 {
		if rc.ep.body {
			rc.failDetails(details{{Message: "must be specified", Property: "body"}})
			return false
		}
		rc.tree = map[string]any{}
		return true
	}
	dec := json.NewDecoder(bytes.NewReader(rc.body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		rc.fail(http.StatusBadRequest, msgBadJSON)
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		rc.fail(http.StatusBadRequest, msgBadJSON)
		return false
	}
	obj, ok := v.(map[string]any)
	if !ok {
		rc.fail(http.StatusBadRequest, "The request body must be a JSON object")
		return false
	}
	rc.tree = obj
	return true
}

// respond writes a JSON answer and counts its status on the key.
func (rc *reqCtx) respond(code int, body []byte) {
	rc.status = code
	if rc.key != nil {
		rc.key.status[statusIndex(code)].Add(1)
	}
	h := rc.w.Header()
	h["Content-Type"] = ctJSON
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	rc.w.WriteHeader(code)
	_, _ = rc.w.Write(body)
}

// fail answers a LINE error with a message.
func (rc *reqCtx) fail(code int, msg string) {
	var b []byte
	switch msg {
	case msgAuthFailed:
		b = bodyAuth
	case msgInternal:
		b = bodyInternal
	default:
		b = errorBody(msg, nil)
	}
	rc.respond(code, b)
}

// failDetails answers 400 with validation details.
func (rc *reqCtx) failDetails(d details) { rc.respond(http.StatusBadRequest, validationBody(d)) }

// violation records a contract violation by the client.
func (rc *reqCtx) violation(reason string) {
	if rc.key != nil {
		rc.key.contract.Add(1)
	}
	cv := ContractViolation{Endpoint: rc.ep.token, Reason: reason, RequestID: rc.reqID, At: rc.s.Now()}
	if rc.ch != nil {
		cv.Channel = rc.ch.id
	}
	if rc.bot != nil {
		cv.Bot = rc.bot.id
	}
	rc.st.sampleMu.Lock()
	sampled := len(rc.st.cvSample) < sampleSize
	if sampled {
		rc.st.cvSample = append(rc.st.cvSample, cv)
	}
	rc.st.sampleMu.Unlock()
	if sampled { // log the sample only: a flood must not flood the log
		rc.s.log.Warn().Str("endpoint", cv.Endpoint).Str("channel", cv.Channel).Str("bot", cv.Bot).
			Str("requestId", cv.RequestID).Str("reason", reason).Msg("contract violation")
	}
}

func (s *Sim) logRequest(rc *reqCtx) {
	e := s.log.Debug()
	if e == nil {
		return
	}
	e = e.Str("method", rc.r.Method).Str("path", rc.r.URL.Path).Str("requestId", rc.reqID).Int("status", rc.status)
	if rc.ep != nil {
		e = e.Str("endpoint", rc.ep.token)
	}
	if rc.ch != nil {
		e = e.Str("channel", rc.ch.id)
	}
	if rc.bot != nil && rc.bot.id != "" {
		e = e.Str("bot", rc.bot.id)
	}
	e.Msg("request")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
