package stats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/linedispatch/linedispatch/internal/unit"
)

// LineClient reads LINE's unit-name endpoints for one module channel
// (LINE-API.md §4). It paces itself: the read-back endpoints share LINE's
// 2,000 requests/s limit per (channel, bot, endpoint) with nothing else of
// ours, but the insight endpoint allows only 60 requests per hour.
type LineClient struct {
	// BaseURL is LINE's API host, e.g. https://api.line.me (or linesim's).
	BaseURL string
	// BotHeader is the name of the header that carries the bot's user ID.
	BotHeader string
	// Token returns the module channel's access token.
	Token func(ctx context.Context) (string, error)
	// HTTP is the client; NewLineClient sets a 15 s timeout.
	HTTP *http.Client
	// Limit paces aggregation/info and aggregation/list. NewLineClient sets
	// 100/s, far under LINE's 2,000/s.
	Limit *rate.Limiter
	// InsightLimit paces the insight endpoint. NewLineClient sets one per
	// 61 s with no burst, so no hour-long window holds more than 60.
	InsightLimit *rate.Limiter
}

// InsightInterval is the spacing of insight requests (60 per hour at most).
const InsightInterval = 61 * time.Second

// NewLineClient returns a client with the default timeout and pacing.
func NewLineClient(baseURL, botHeader string, token func(ctx context.Context) (string, error)) *LineClient {
	return &LineClient{
		BaseURL:      strings.TrimRight(baseURL, "/"),
		BotHeader:    botHeader,
		Token:        token,
		HTTP:         &http.Client{Timeout: 15 * time.Second},
		Limit:        rate.NewLimiter(100, 1),
		InsightLimit: rate.NewLimiter(rate.Every(InsightInterval), 1),
	}
}

// UnitCount returns aggregation/info: the number of unit names LINE counts
// for the bot this month.
func (c *LineClient) UnitCount(ctx context.Context, bot string) (int64, error) {
	var v struct {
		N *int64 `json:"numOfCustomAggregationUnits"`
	}
	if err := c.get(ctx, c.Limit, bot, "/v2/bot/message/aggregation/info", nil, &v); err != nil {
		return 0, err
	}
	if v.N == nil {
		return 0, errors.New("line: aggregation/info: numOfCustomAggregationUnits missing")
	}
	return *v.N, nil
}

// maxListPages stops a paging loop that a faulty server could make endless.
const maxListPages = 1000

// UnitNames returns aggregation/list, following "next" through every page.
func (c *LineClient) UnitNames(ctx context.Context, bot string) ([]string, error) {
	var names []string
	start := ""
	for range maxListPages {
		q := url.Values{"limit": {"100"}}
		if start != "" {
			q.Set("start", start)
		}
		var page struct {
			Units []string `json:"customAggregationUnits"`
			Next  string   `json:"next"`
		}
		if err := c.get(ctx, c.Limit, bot, "/v2/bot/message/aggregation/list", q, &page); err != nil {
			return nil, err
		}
		names = append(names, page.Units...)
		if page.Next == "" {
			return names, nil
		}
		if page.Next == start {
			return nil, fmt.Errorf("line: aggregation/list: next token %q repeats", page.Next)
		}
		start = page.Next
	}
	return nil, fmt.Errorf("line: aggregation/list: more than %d pages", maxListPages)
}

// InsightOverview is LINE's per-unit interaction summary. LINE returns null
// for values under 20 (privacy threshold): those stay nil.
type InsightOverview struct {
	UniqueImpression            *int64 `json:"uniqueImpression"`
	UniqueClick                 *int64 `json:"uniqueClick"`
	UniqueMediaPlayed           *int64 `json:"uniqueMediaPlayed"`
	UniqueMediaPlayed100Percent *int64 `json:"uniqueMediaPlayed100Percent"`
}

// Insight returns the statistics of one unit between two Tokyo dates
// (inclusive, at most 30 days apart). It waits for InsightLimit first: with
// the default pacing, that is up to a minute per call.
func (c *LineClient) Insight(ctx context.Context, bot, name string, from, to time.Time) (*InsightOverview, error) {
	q := url.Values{
		"customAggregationUnit": {name},
		"from":                  {from.In(unit.Tokyo()).Format("20060102")},
		"to":                    {to.In(unit.Tokyo()).Format("20060102")},
	}
	var v struct {
		Overview InsightOverview `json:"overview"`
	}
	if err := c.get(ctx, c.InsightLimit, bot, "/v2/bot/insight/message/event/aggregation", q, &v); err != nil {
		return nil, err
	}
	return &v.Overview, nil
}

// LineError is a non-2xx answer of LINE.
type LineError struct {
	Path    string
	Status  int
	Message string
}

func (e *LineError) Error() string {
	return fmt.Sprintf("line: GET %s: %d %s", e.Path, e.Status, e.Message)
}

func (c *LineClient) get(ctx context.Context, lim *rate.Limiter, bot, path string, q url.Values, out any) error {
	if c.BotHeader == "" {
		return errors.New("line: the bot header name is not configured")
	}
	if err := lim.Wait(ctx); err != nil {
		return err
	}
	tok, err := c.Token(ctx)
	if err != nil {
		return fmt.Errorf("line: token: %w", err)
	}
	u := c.BaseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set(c.BotHeader, bot)
	req.Header.Set("Accept", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("line: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("line: GET %s: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &e) != nil || e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
		return &LineError{Path: path, Status: resp.StatusCode, Message: e.Message}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("line: GET %s: decode: %w", path, err)
	}
	return nil
}
