package linesim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client talks to linesim's admin API.
type Client struct {
	base string
	hc   *http.Client
}

// NewClient returns a client for the admin API at adminURL
// (e.g. Server.AdminURL()).
func NewClient(adminURL string) *Client {
	return &Client{base: strings.TrimRight(adminURL, "/"), hc: &http.Client{Timeout: 30 * time.Second}}
}

// WithHTTPClient makes the client use hc.
func (c *Client) WithHTTPClient(hc *http.Client) *Client { c.hc = hc; return c }

// Report returns every counter.
func (c *Client) Report(ctx context.Context) (*Report, error) {
	var r Report
	return &r, c.do(ctx, http.MethodGet, "/admin/report", nil, &r)
}

// Key returns the counters of one (channel, bot, endpoint); bot "" means the
// channel-wide key of bot_list, detach, token and access_token.
func (c *Client) Key(ctx context.Context, channel, bot, endpoint string) (*KeyStats, error) {
	if bot == "" {
		bot = "-"
	}
	var ks KeyStats
	p := "/admin/keys/" + url.PathEscape(channel) + "/" + url.PathEscape(bot) + "/" + url.PathEscape(endpoint)
	return &ks, c.do(ctx, http.MethodGet, p, nil, &ks)
}

// SetFaults sets the faults of an endpoint token or "*"; a zero Faults clears them.
func (c *Client) SetFaults(ctx context.Context, endpoint string, f Faults) error {
	return c.do(ctx, http.MethodPut, "/admin/faults/"+url.PathEscape(endpoint), f, nil)
}

// ClearFaults clears the faults of an endpoint token or "*".
func (c *Client) ClearFaults(ctx context.Context, endpoint string) error {
	return c.do(ctx, http.MethodDelete, "/admin/faults/"+url.PathEscape(endpoint), nil, nil)
}

// Faults returns the faults in force per endpoint token ("*" included).
func (c *Client) Faults(ctx context.Context) (map[string]Faults, error) {
	var m map[string]Faults
	return m, c.do(ctx, http.MethodGet, "/admin/faults", nil, &m)
}

// SetOutage switches the outage on or off.
func (c *Client) SetOutage(ctx context.Context, on bool) error {
	return c.do(ctx, http.MethodPut, "/admin/outage", outageBody{On: on}, nil)
}

// AdvanceClock moves linesim's clock forward by d.
func (c *Client) AdvanceClock(ctx context.Context, d time.Duration) error {
	return c.do(ctx, http.MethodPost, "/admin/clock/advance", map[string]string{"by": d.String()}, nil)
}

// Now returns linesim's clock.
func (c *Client) Now(ctx context.Context) (time.Time, error) {
	var b clockBody
	err := c.do(ctx, http.MethodGet, "/admin/clock", nil, &b)
	return b.Now, err
}

// Reset clears every counter and memory (see Sim.Reset).
func (c *Client) Reset(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/admin/reset", nil, nil)
}

// Deliveries returns how many deliveries a recipient received (a user ID,
// RecipientNarrowcast or RecipientBroadcast).
func (c *Client) Deliveries(ctx context.Context, recipient string) (int, error) {
	var b deliveriesBody
	err := c.do(ctx, http.MethodGet, "/admin/deliveries/"+url.PathEscape(recipient), nil, &b)
	return int(b.Deliveries), err
}

// IssueReplyToken issues a single-use reply token for a message from user to bot.
func (c *Client) IssueReplyToken(ctx context.Context, channel, bot, user string) (string, error) {
	var b replyTokenResponse
	err := c.do(ctx, http.MethodPost, "/admin/reply-tokens", replyTokenRequest{channel, bot, user}, &b)
	return b.ReplyToken, err
}

// Attach attaches a bot to a channel.
func (c *Client) Attach(ctx context.Context, channel, bot string) error {
	return c.do(ctx, http.MethodPut, "/admin/bots/"+url.PathEscape(channel)+"/"+url.PathEscape(bot), nil, nil)
}

// Detach detaches a bot from a channel.
func (c *Client) Detach(ctx context.Context, channel, bot string) error {
	return c.do(ctx, http.MethodDelete, "/admin/bots/"+url.PathEscape(channel)+"/"+url.PathEscape(bot), nil, nil)
}

// Limits returns the enforced limit per endpoint token.
func (c *Client) Limits(ctx context.Context) (map[string]Limit, error) {
	var m map[string]Limit
	return m, c.do(ctx, http.MethodGet, "/admin/limits", nil, &m)
}

// Healthy reports whether the admin API answers /healthz.
func (c *Client) Healthy(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/healthz", nil, nil)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("linesim admin %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("linesim admin %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e AdminError
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return fmt.Errorf("linesim admin %s %s: %d: %s", method, path, resp.StatusCode, e.Error)
		}
		return fmt.Errorf("linesim admin %s %s: %d", method, path, resp.StatusCode)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("linesim admin %s %s: decoding: %w", method, path, err)
		}
	}
	return nil
}
