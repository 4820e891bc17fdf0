package sender

import (
	"net/http"

	"github.com/linedispatch/linedispatch/intent"
)

// route is one row of the endpoint table.
type route struct {
	endpoint intent.Endpoint
	method   string
	path     string
}

// routes maps every endpoint the dispatcher supports to LINE's method and
// path. The index of a row is the endpoint's slot in per-endpoint arrays
// (URLs, metric children), which keeps map lookups off the hot path.
// A different method on the same path would be a different LINE endpoint
// with its own rate limit, so method and path always travel together.
var routes = [...]route{
	{intent.Push, http.MethodPost, "/v2/bot/message/push"},
	{intent.Multicast, http.MethodPost, "/v2/bot/message/multicast"},
	{intent.Narrowcast, http.MethodPost, "/v2/bot/message/narrowcast"},
	{intent.Broadcast, http.MethodPost, "/v2/bot/message/broadcast"},
	{intent.Reply, http.MethodPost, "/v2/bot/message/reply"},
	{intent.MarkAsRead, http.MethodPost, "/v2/bot/message/markAsRead"},
}

// routeIndex returns e's row in routes.
func routeIndex(e intent.Endpoint) (int, bool) {
	for i := range routes {
		if routes[i].endpoint == e {
			return i, true
		}
	}
	return 0, false
}

// Route returns the HTTP method and path LINE serves e on; ok is false for an
// endpoint the sender does not support.
func Route(e intent.Endpoint) (method, path string, ok bool) {
	i, ok := routeIndex(e)
	if !ok {
		return "", "", false
	}
	return routes[i].method, routes[i].path, true
}
