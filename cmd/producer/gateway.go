package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/intent"
)

// gatewayConfig bounds what one request may ask of the gateway.
type gatewayConfig struct {
	// MaxBatch is the most intents in one request.
	MaxBatch int
	// MaxBody is the largest request body in bytes; at least intent.MaxSize
	// so that one intent with the largest LINE body fits.
	MaxBody int64
	// PublishTimeout bounds the wait for every ack of one request.
	PublishTimeout time.Duration
	// MaxInFlight is the pipelining window of one request's publishes.
	MaxInFlight int
}

func defaultGatewayConfig() gatewayConfig {
	return gatewayConfig{
		MaxBatch:       1000,
		MaxBody:        16 << 20,
		PublishTimeout: 30 * time.Second,
		MaxInFlight:    intent.DefaultMaxInFlight,
	}
}

// gateway is the HTTP front door for producers that do not speak NATS (and
// for k6). It adds nothing to the wire format: it validates like every
// producer, fills in id and createdAt when missing, and answers only after
// JetStream acknowledged every intent of the request.
type gateway struct {
	js      jetstream.JetStream
	log     zerolog.Logger
	cfg     gatewayConfig
	metrics *gatewayMetrics
	now     func() time.Time
}

// newGateway returns the gateway's handler with default limits.
func newGateway(js jetstream.JetStream, log zerolog.Logger) http.Handler {
	return newGatewayWith(js, log, defaultGatewayConfig())
}

func newGatewayWith(js jetstream.JetStream, log zerolog.Logger, cfg gatewayConfig) http.Handler {
	cfg.MaxBody = max(cfg.MaxBody, intent.MaxSize)
	g := &gateway{js: js, log: log, cfg: cfg, metrics: newGatewayMetrics(), now: time.Now}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/intents", g.handleIntents)
	mux.HandleFunc("/healthz", g.handleHealth)
	mux.Handle("/metrics", onlyGet(g.metrics.handler()))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path+" (POST /v1/intents, GET /healthz, GET /metrics)")
	})
	return g.metrics.instrument(mux, log)
}

// itemError reports the problems of one intent of a request.
type itemError struct {
	Index  int              `json:"index"`
	ID     string           `json:"id,omitempty"`
	Reason string           `json:"reason"`
	Errors []intent.Problem `json:"errors"`
}

type errorResponse struct {
	Error string      `json:"error"`
	Items []itemError `json:"items,omitempty"`
	// IDs, on a failed publish, are the IDs of the request's intents (minted
	// ones included): resending the request with them cannot duplicate.
	IDs []string `json:"ids,omitempty"`
}

type acceptedResponse struct {
	IDs        []string `json:"ids"`
	Duplicates int      `json:"duplicates"`
}

func (g *gateway) handleIntents(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, g.cfg.MaxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes; split the batch", g.cfg.MaxBody))
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}

	raws, status, msg := g.split(body)
	if status != 0 {
		g.metrics.rejected(len(raws))
		writeError(w, status, msg)
		return
	}
	ins, bad := g.validate(raws)
	if len(bad) > 0 {
		g.metrics.rejected(len(raws))
		writeJSON(w, http.StatusBadRequest, errorResponse{
			Error: fmt.Sprintf("%d of %d intents are invalid; nothing was published", len(bad), len(raws)),
			Items: bad,
		})
		return
	}
	g.publish(w, r, ins)
}

// split returns the raw intents of a request: {"intents":[...]} is a batch,
// any other object is one intent. A non-zero status is a refusal.
func (g *gateway) split(body []byte) ([]json.RawMessage, int, string) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, http.StatusBadRequest, `body must be one intent object or {"intents": [...]}`
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &top); err != nil {
		return nil, http.StatusBadRequest, "invalid JSON: " + err.Error()
	}
	batch, isBatch := top["intents"]
	if !isBatch {
		return []json.RawMessage{trimmed}, 0, ""
	}
	if len(top) != 1 {
		return nil, http.StatusBadRequest, `a batch is {"intents": [...]} with no other fields`
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(batch, &raws); err != nil {
		return nil, http.StatusBadRequest, `"intents" must be an array of intent objects`
	}
	switch {
	case len(raws) == 0:
		return nil, http.StatusBadRequest, `"intents" is empty`
	case len(raws) > g.cfg.MaxBatch:
		return raws, http.StatusRequestEntityTooLarge, fmt.Sprintf("%d intents in one request; at most %d", len(raws), g.cfg.MaxBatch)
	}
	return raws, 0, ""
}

// validate parses, fills and validates every intent before any is published,
// so that a request is all-or-nothing as far as validity goes.
func (g *gateway) validate(raws []json.RawMessage) ([]*intent.Intent, []itemError) {
	now := g.now()
	ins := make([]*intent.Intent, len(raws))
	var bad []itemError
	for i, raw := range raws {
		in, err := intent.Parse(raw)
		if in != nil {
			in.FillDefaults(now)
			err = in.Validate(now)
		}
		if err != nil {
			item := itemError{Index: i, Reason: intent.ReasonInvalidIntent}
			var ve *intent.ValidationError
			if errors.As(err, &ve) {
				item.Reason, item.Errors = ve.Reason(), ve.Problems
			} else {
				item.Errors = []intent.Problem{{Reason: err.Error(), Code: intent.ReasonInvalidIntent}}
			}
			if in != nil {
				item.ID = in.ID
			}
			bad = append(bad, item)
			continue
		}
		ins[i] = in
	}
	return ins, bad
}

func (g *gateway) publish(w http.ResponseWriter, r *http.Request, ins []*intent.Intent) {
	// Once publishing starts it finishes even if the client goes away: the
	// intents may be stored either way, and the log should say which.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), g.cfg.PublishTimeout)
	defer cancel()
	start := time.Now()
	res, err := intent.PublishBatch(ctx, g.js, ins, intent.MaxInFlight(g.cfg.MaxInFlight))
	g.metrics.publishSeconds.Observe(time.Since(start).Seconds())

	ids := make([]string, len(res))
	dups := 0
	var failed []itemError
	for i, rs := range res {
		ids[i] = rs.ID
		switch {
		case rs.Err != nil:
			failed = append(failed, itemError{Index: i, ID: rs.ID, Reason: "publish_failed",
				Errors: []intent.Problem{{Reason: rs.Err.Error(), Code: "publish_failed"}}})
		case rs.Ack.Duplicate:
			dups++
		}
	}
	g.metrics.published(len(res)-len(failed)-dups, dups, len(failed))
	if err != nil {
		g.log.Error().Err(err).Int("intents", len(ins)).Int("failed", len(failed)).Msg("publish failed")
		writeJSON(w, http.StatusServiceUnavailable, errorResponse{
			Error: fmt.Sprintf("%d of %d intents were not acknowledged by JetStream (they may or may not be stored); "+
				"send the same intents again with these ids", len(failed), len(ins)),
			Items: failed,
			IDs:   ids,
		})
		return
	}
	g.log.Debug().Int("intents", len(ins)).Int("duplicates", dups).Dur("took", time.Since(start)).Msg("published")
	writeJSON(w, http.StatusAccepted, acceptedResponse{IDs: ids, Duplicates: dups})
}

func (g *gateway) handleHealth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "use GET")
		return
	}
	st := g.js.Conn().Status()
	if st != nats.CONNECTED {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "nats": strings.ToLower(st.String())})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "nats": "connected"})
}

func onlyGet(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "use GET")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// isJSON accepts application/json and any application/*+json, with params.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorResponse{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
