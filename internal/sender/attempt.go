package sender

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"time"

	"github.com/linedispatch/linedispatch/internal/lineapi"
	"github.com/linedispatch/linedispatch/internal/retrykey"
)

// maxResponseBody caps how much of a response is read. LINE's bodies are
// small (push's sentMessages: at most 5 entries); a larger body is not LINE
// and is cut rather than buffered.
const maxResponseBody = 64 << 10

// Canonical header keys, assigned to the map directly so net/http need not
// canonicalise them per request.
const (
	hAuthorization = "Authorization"
	hContentType   = "Content-Type"
	hUserAgent     = "User-Agent"
	hRetryKey      = "X-Line-Retry-Key" // == CanonicalMIMEHeaderKey(retrykey.Header)
)

// attempt makes one HTTP request with its own timeout and turns the answer
// into a Response or an error.
func (s *Sender) attempt(ctx context.Context, ri int, req *Request, tok string) (*Response, error) {
	actx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()

	if req.Wrote != nil || req.Answered != nil {
		trace := &httptrace.ClientTrace{}
		if wrote := req.Wrote; wrote != nil {
			trace.WroteRequest = func(info httptrace.WroteRequestInfo) {
				if info.Err == nil {
					wrote(time.Now())
				}
			}
		}
		if answered := req.Answered; answered != nil {
			trace.GotFirstResponseByte = func() { answered(time.Now()) }
		}
		actx = httptrace.WithClientTrace(actx, trace)
	}
	hreq, err := http.NewRequestWithContext(actx, routes[ri].method, s.urls[ri], bytes.NewReader(req.Body))
	if err != nil {
		return nil, invalid(req.Endpoint, "%v", err)
	}
	hreq.Header = s.header(req, tok)

	start := time.Now()
	hresp, err := s.client.Do(hreq)
	if err != nil {
		s.metrics.observe(ri, statusError, time.Since(start))
		return nil, attemptError(ctx, actx, req.Endpoint, err)
	}
	body, rerr := readBody(hresp.Body, hresp.ContentLength)
	_ = hresp.Body.Close()
	s.metrics.observe(ri, statusLabel(hresp.StatusCode), time.Since(start))
	if rerr != nil {
		// The status line arrived, so LINE's verdict is known; only the
		// body is partial. Acting on the status avoids retrying (and, for
		// unkeyed endpoints, duplicating) a request LINE already took.
		s.log.Debug().Err(rerr).Int("status", hresp.StatusCode).Str("endpoint", string(req.Endpoint)).Msg("reading LINE response body")
	}

	status := hresp.StatusCode
	switch {
	case status >= 200 && status <= 299:
		return &Response{Status: status, RequestID: hresp.Header.Get(lineapi.RequestIDHeader), Body: body}, nil
	case status == http.StatusConflict && req.RetryKey != "":
		return &Response{
			Status:            status,
			RequestID:         hresp.Header.Get(lineapi.RequestIDHeader),
			AcceptedRequestID: hresp.Header.Get(retrykey.AcceptedRequestIDHeader),
			Conflict:          true,
			Body:              body,
		}, nil
	}
	le := lineapi.FromResponse(hresp, body)
	s.log.Debug().Int("status", status).Str("endpoint", string(req.Endpoint)).Str("bot", req.Bot).
		Str("request_id", le.RequestID).Str("message", le.Message).Msg("LINE refused request")
	return nil, le
}

// header builds the request headers with one allocation for all values.
// Never logged: it holds the bearer token.
func (s *Sender) header(req *Request, tok string) http.Header {
	n := 4
	if req.RetryKey != "" {
		n = 5
	}
	v := make([]string, n)
	h := make(http.Header, n)
	v[0] = "Bearer " + tok
	v[1] = "application/json"
	v[2] = s.cfg.UserAgent
	v[3] = req.Bot
	h[hAuthorization] = v[0:1:1]
	h[hContentType] = v[1:2:2]
	h[hUserAgent] = v[2:3:3]
	h[s.botHeader] = v[3:4:4]
	if n == 5 {
		v[4] = req.RetryKey
		h[hRetryKey] = v[4:5:5]
	}
	return h
}

// readBody reads at most maxResponseBody bytes, sized from Content-Length
// when known so the common case is one exact allocation.
func readBody(r io.Reader, contentLength int64) ([]byte, error) {
	if contentLength == 0 {
		return nil, nil
	}
	size := int64(512)
	if contentLength > 0 {
		size = min(contentLength, maxResponseBody)
	}
	// +1 leaves room for the read that reports EOF without growing.
	buf := make([]byte, 0, size+1)
	lr := io.LimitedReader{R: r, N: maxResponseBody}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
