package linesim

import (
	"net/http"
	"sort"
	"strings"
	"time"
)

// Endpoint tokens: the names used in limits, faults, key statistics and the
// admin API. The message endpoints match the dispatcher's tokens.
const (
	EPPush               = "push"
	EPMulticast          = "multicast"
	EPNarrowcast         = "narrowcast"
	EPBroadcast          = "broadcast"
	EPReply              = "reply"
	EPMarkAsRead         = "markasread"
	EPNarrowcastProgress = "narrowcast_progress"
	EPAggregationInfo    = "aggregation_info"
	EPAggregationList    = "aggregation_list"
	EPBotList            = "bot_list"
	EPDetach             = "detach"
	EPChatControlAcquire = "chat_control_acquire"
	EPChatControlRelease = "chat_control_release"
	EPBotInfo            = "bot_info"
	EPToken              = "token"        // POST /oauth2/v3/token (stateless)
	EPAccessToken        = "access_token" // POST /v2/oauth/accessToken (short-lived)
)

// botMode says where an endpoint takes its bot from.
type botMode uint8

const (
	botHeader botMode = iota // the configured bot-ID header (required)
	botNone                  // channel-wide endpoint: key bot is ""
)

type epID uint8

// numEndpoints is the number of endpoints linesim serves.
const numEndpoints = 16

// endpoint describes one LINE endpoint linesim serves.
type endpoint struct {
	id       epID
	token    string
	method   string
	path     string // for display; chat control paths hold {chatId}
	limit    Limit  // LINE's default
	retryKey bool   // accepts X-Line-Retry-Key
	bot      botMode
	body     bool // JSON request body required
	tokenEP  bool // token endpoint: no bearer auth, form body
	handle   func(s *Sim, rc *reqCtx)
}

var (
	perSecond2000 = Limit{Count: 2000, Period: time.Second}
	endpoints     []*endpoint
	epByToken     = map[string]*endpoint{}
	epByPath      = map[string]*endpoint{}
)

func init() {
	add := func(e endpoint) {
		e.id = epID(len(endpoints))
		ep := &e
		endpoints = append(endpoints, ep)
		epByToken[e.token] = ep
		if !strings.Contains(e.path, "{") {
			epByPath[e.path] = ep
		}
	}
	add(endpoint{token: EPPush, method: http.MethodPost, path: "/v2/bot/message/push", limit: perSecond2000, retryKey: true, body: true, handle: (*Sim).handlePush})
	add(endpoint{token: EPMulticast, method: http.MethodPost, path: "/v2/bot/message/multicast", limit: Limit{200, time.Second}, retryKey: true, body: true, handle: (*Sim).handleMulticast})
	add(endpoint{token: EPNarrowcast, method: http.MethodPost, path: "/v2/bot/message/narrowcast", limit: Limit{60, time.Hour}, retryKey: true, body: true, handle: (*Sim).handleNarrowcast})
	add(endpoint{token: EPBroadcast, method: http.MethodPost, path: "/v2/bot/message/broadcast", limit: Limit{60, time.Hour}, retryKey: true, body: true, handle: (*Sim).handleBroadcast})
	add(endpoint{token: EPReply, method: http.MethodPost, path: "/v2/bot/message/reply", limit: perSecond2000, body: true, handle: (*Sim).handleReply})
	add(endpoint{token: EPMarkAsRead, method: http.MethodPost, path: "/v2/bot/message/markAsRead", limit: perSecond2000, body: true, handle: (*Sim).handleMarkAsRead})
	add(endpoint{token: EPNarrowcastProgress, method: http.MethodGet, path: "/v2/bot/message/progress/narrowcast", limit: perSecond2000, handle: (*Sim).handleProgress})
	add(endpoint{token: EPAggregationInfo, method: http.MethodGet, path: "/v2/bot/message/aggregation/info", limit: perSecond2000, handle: (*Sim).handleAggregationInfo})
	add(endpoint{token: EPAggregationList, method: http.MethodGet, path: "/v2/bot/message/aggregation/list", limit: perSecond2000, handle: (*Sim).handleAggregationList})
	add(endpoint{token: EPBotList, method: http.MethodGet, path: "/v2/bot/list", limit: perSecond2000, bot: botNone, handle: (*Sim).handleBotList})
	add(endpoint{token: EPDetach, method: http.MethodPost, path: "/v2/bot/channel/detach", limit: perSecond2000, bot: botNone, body: true, handle: (*Sim).handleDetach})
	add(endpoint{token: EPChatControlAcquire, method: http.MethodPost, path: "/v2/bot/chat/{chatId}/control/acquire", limit: perSecond2000, handle: (*Sim).handleAcquire})
	add(endpoint{token: EPChatControlRelease, method: http.MethodPost, path: "/v2/bot/chat/{chatId}/control/release", limit: perSecond2000, handle: (*Sim).handleRelease})
	add(endpoint{token: EPBotInfo, method: http.MethodGet, path: "/v2/bot/info", limit: perSecond2000, handle: (*Sim).handleBotInfo})
	add(endpoint{token: EPToken, method: http.MethodPost, path: "/oauth2/v3/token", limit: perSecond2000, bot: botNone, tokenEP: true, handle: (*Sim).handleStatelessToken})
	add(endpoint{token: EPAccessToken, method: http.MethodPost, path: "/v2/oauth/accessToken", limit: Limit{370, time.Second}, bot: botNone, tokenEP: true, handle: (*Sim).handleShortLivedToken})
	if len(endpoints) != numEndpoints {
		panic("linesim: numEndpoints is out of date")
	}
}

// EndpointTokens lists every endpoint token linesim knows, sorted.
func EndpointTokens() []string {
	out := make([]string, 0, len(endpoints))
	for _, e := range endpoints {
		out = append(out, e.token)
	}
	sort.Strings(out)
	return out
}

// DefaultLimit returns LINE's documented limit for an endpoint token.
func DefaultLimit(token string) (Limit, bool) {
	e, ok := epByToken[token]
	if !ok {
		return Limit{}, false
	}
	return e.limit, true
}

// route finds the endpoint for a request. It returns the endpoint (nil if the
// path is unknown), the chatId path parameter, and whether the method matched.
func route(r *http.Request) (ep *endpoint, chatID string, methodOK bool) {
	p := r.URL.Path
	if e, ok := epByPath[p]; ok {
		return e, "", r.Method == e.method
	}
	const pre = "/v2/bot/chat/"
	if rest, ok := strings.CutPrefix(p, pre); ok {
		id, action, ok := strings.Cut(rest, "/control/")
		if ok && id != "" && !strings.Contains(id, "/") {
			var e *endpoint
			switch action {
			case "acquire":
				e = epByToken[EPChatControlAcquire]
			case "release":
				e = epByToken[EPChatControlRelease]
			}
			if e != nil {
				return e, id, r.Method == e.method
			}
		}
	}
	return nil, "", false
}
