package stats

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/internal/unit"
)

// NoUnitPath is how the detail endpoint names the NoUnit bucket
// (/v1/stats/{channel}/{bot}/units/-): "-" is not a valid unit name.
const NoUnitPath = "-"

// Handler serves the statistics:
//
//	GET /v1/stats/{channel}/{bot}?month=YYYY-MM             the bot-month document
//	GET /v1/stats/{channel}/{bot}/units/{unit}?month=YYYY-MM one unit's counters
//
// month defaults to the current Tokyo month. Bad parameters get 400 and a
// missing document 404, both with a JSON body {"error": "..."}. Mount it on
// a parent mux with mux.Handle("/v1/stats/", stats.Handler(store, log)).
func Handler(store *Store, log zerolog.Logger) http.Handler {
	h := &handler{store: store, log: log, now: time.Now}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/stats/{channel}/{bot}", h.doc)
	mux.HandleFunc("GET /v1/stats/{channel}/{bot}/units/{unit}", h.unit)
	return mux
}

type handler struct {
	store *Store
	log   zerolog.Logger
	now   func() time.Time
}

func (h *handler) doc(w http.ResponseWriter, r *http.Request) {
	channel, bot, month, err := h.params(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	d, err := h.store.Get(r.Context(), channel, bot, month)
	h.reply(w, r, d, err, fmt.Sprintf("no statistics for bot %s in %s", bot, month))
}

func (h *handler) unit(w http.ResponseWriter, r *http.Request) {
	channel, bot, month, err := h.params(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	name := r.PathValue("unit")
	switch {
	case name == NoUnitPath:
		name = NoUnit
	case !unit.ValidName(name):
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`unit must match ^[a-zA-Z0-9_]{1,30}$ (or "-" for sends without one), got %q`, clip(name)))
		return
	}
	d, err := h.store.Unit(r.Context(), channel, bot, month, name)
	h.reply(w, r, d, err, fmt.Sprintf("no statistics for unit %q of bot %s in %s", name, bot, month))
}

// params validates the path and the month query parameter.
func (h *handler) params(r *http.Request) (channel, bot, month string, err error) {
	channel, bot = r.PathValue("channel"), r.PathValue("bot")
	if !unit.ValidChannel(channel) {
		return "", "", "", fmt.Errorf("channel must be 1 to 20 digits, got %q", clip(channel))
	}
	if !unit.ValidBot(bot) {
		return "", "", "", fmt.Errorf(`bot must be "U" and 32 lowercase hex digits, got %q`, clip(bot))
	}
	q := r.URL.Query()
	if len(q["month"]) > 1 {
		return "", "", "", errors.New("month given more than once")
	}
	month = q.Get("month")
	if month == "" {
		return channel, bot, unit.Month(h.now()), nil
	}
	if _, err := unit.ParseMonth(month); err != nil {
		return "", "", "", err
	}
	return channel, bot, month, nil
}

func (h *handler) reply(w http.ResponseWriter, r *http.Request, v any, err error, notFound string) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, notFound)
	case err != nil:
		h.log.Error().Err(err).Str("path", r.URL.Path).Msg("stats query failed")
		writeError(w, http.StatusServiceUnavailable, "statistics are unavailable right now")
	default:
		writeJSON(w, http.StatusOK, v)
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
