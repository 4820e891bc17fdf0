package linesim

import (
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// AdminHandler returns the inspection and control API (JSON):
//
//	GET    /healthz
//	GET    /admin/report                              Report
//	GET    /admin/keys/{channel}/{bot}/{endpoint}      KeyStats ("-" as bot: channel-wide key)
//	GET    /admin/limits                              enforced limits
//	GET    /admin/faults                              faults per endpoint
//	PUT    /admin/faults/{endpoint}                   set faults (Faults JSON; endpoint token or "*")
//	DELETE /admin/faults/{endpoint}                   clear faults
//	GET    /admin/outage  PUT /admin/outage {"on":true}
//	GET    /admin/clock   POST /admin/clock/advance {"by":"24h"}
//	POST   /admin/reset
//	GET    /admin/deliveries/{recipient}              {"recipient","deliveries"}
//	POST   /admin/reply-tokens {"channel","bot","to"} {"replyToken","expiresAt"}
//	GET    /admin/bots/{channel}                      attached bots
//	PUT    /admin/bots/{channel}/{bot}                attach; DELETE detaches
func (s *Sim) AdminHandler() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	m.HandleFunc("GET /admin/report", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Report())
	})
	m.HandleFunc("GET /admin/keys/{channel}/{bot}/{endpoint}", func(w http.ResponseWriter, r *http.Request) {
		bot := r.PathValue("bot")
		if bot == "-" || bot == "_" {
			bot = ""
		}
		ks, err := s.KeyStats(r.PathValue("channel"), bot, r.PathValue("endpoint"))
		if err != nil {
			adminError(w, http.StatusNotFound, err)
			return
		}
		writeJSON(w, http.StatusOK, ks)
	})
	m.HandleFunc("GET /admin/limits", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Limits())
	})
	m.HandleFunc("GET /admin/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	})
	m.HandleFunc("PUT /admin/faults/{endpoint}", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if !readJSON(w, r, &f) {
			return
		}
		if err := s.SetFaults(r.PathValue("endpoint"), f); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, s.Faults())
	})
	m.HandleFunc("DELETE /admin/faults/{endpoint}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.SetFaults(r.PathValue("endpoint"), Faults{}); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, s.Faults())
	})
	m.HandleFunc("GET /admin/outage", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, outageBody{On: s.Outage()})
	})
	m.HandleFunc("PUT /admin/outage", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			On *bool `json:"on"`
		}
		if !readJSON(w, r, &b) {
			return
		}
		if b.On == nil {
			adminError(w, http.StatusBadRequest, errString(`"on" (boolean) is required`))
			return
		}
		s.SetOutage(*b.On)
		writeJSON(w, http.StatusOK, outageBody{On: *b.On})
	})
	m.HandleFunc("GET /admin/clock", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, clockBody{Now: s.Now()})
	})
	m.HandleFunc("POST /admin/clock/advance", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			By *duration `json:"by"`
		}
		if !readJSON(w, r, &b) {
			return
		}
		if b.By == nil {
			adminError(w, http.StatusBadRequest, errString(`"by" (a duration such as "24h") is required`))
			return
		}
		if err := s.Advance(time.Duration(*b.By)); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, clockBody{Now: s.Now()})
	})
	m.HandleFunc("POST /admin/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		writeJSON(w, http.StatusOK, map[string]string{"status": "reset"})
	})
	m.HandleFunc("GET /admin/deliveries/{recipient}", func(w http.ResponseWriter, r *http.Request) {
		rcpt := r.PathValue("recipient")
		writeJSON(w, http.StatusOK, deliveriesBody{Recipient: rcpt, Deliveries: s.Deliveries(rcpt)})
	})
	m.HandleFunc("POST /admin/reply-tokens", func(w http.ResponseWriter, r *http.Request) {
		var b replyTokenRequest
		if !readJSON(w, r, &b) {
			return
		}
		tok, exp, err := s.IssueReplyToken(b.Channel, b.Bot, b.To)
		if err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, replyTokenResponse{ReplyToken: tok, ExpiresAt: exp})
	})
	m.HandleFunc("GET /admin/bots/{channel}", func(w http.ResponseWriter, r *http.Request) {
		ch, ok := s.chByID[r.PathValue("channel")]
		if !ok {
			adminError(w, http.StatusNotFound, errString("unknown channel"))
			return
		}
		bots := ch.attached()
		if bots == nil {
			bots = []string{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"channel": ch.id, "bots": bots})
	})
	m.HandleFunc("PUT /admin/bots/{channel}/{bot}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Attach(r.PathValue("channel"), r.PathValue("bot")); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "attached"})
	})
	m.HandleFunc("DELETE /admin/bots/{channel}/{bot}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Detach(r.PathValue("channel"), r.PathValue("bot")); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "detached"})
	})
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		adminError(w, http.StatusNotFound, errString("no such admin endpoint: "+r.Method+" "+r.URL.Path))
	})
	return m
}

type outageBody struct {
	On bool `json:"on"`
}

type clockBody struct {
	Now time.Time `json:"now"`
}

type deliveriesBody struct {
	Recipient  string `json:"recipient"`
	Deliveries int64  `json:"deliveries"`
}

type replyTokenRequest struct {
	Channel string `json:"channel"`
	Bot     string `json:"bot"`
	To      string `json:"to"`
}

type replyTokenResponse struct {
	ReplyToken string    `json:"replyToken"`
	ExpiresAt  time.Time `json:"expiresAt"`
}

// AdminError is the body of every admin error.
type AdminError struct {
	Error string `json:"error"`
}

type errString string

func (e errString) Error() string { return string(e) }

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encoding failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func adminError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, AdminError{Error: err.Error()})
}

// readJSON decodes a strict JSON body; on failure it answers 400.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = decodeStrict(b, v)
	}
	if err != nil {
		adminError(w, http.StatusBadRequest, errString("bad JSON body: "+err.Error()))
		return false
	}
	return true
}
