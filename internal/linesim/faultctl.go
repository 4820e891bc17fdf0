package linesim

import (
	"fmt"
	"net"
	"net/http"
	"time"
)

// SetFaults sets the faults of an endpoint token, or of "*" (every endpoint
// without faults of its own). A zero Faults clears them.
func (s *Sim) SetFaults(endpoint string, f Faults) error {
	if err := checkFaultEndpoint(endpoint); err != nil {
		return fmt.Errorf("linesim: %w", err)
	}
	if err := f.Validate(); err != nil {
		return fmt.Errorf("linesim: faults for %s: %w", endpoint, err)
	}
	slot := s.faultSlot(endpoint)
	if f.IsZero() {
		slot.Store(nil)
	} else {
		slot.Store(&f)
	}
	s.refreshAnyFault()
	s.log.Info().Str("endpoint", endpoint).Str("faults", f.String()).Msg("faults set")
	return nil
}

// Faults returns the faults set per endpoint token ("*" included).
func (s *Sim) Faults() map[string]Faults {
	out := map[string]Faults{}
	for _, e := range endpoints {
		if f := s.faults[e.id].Load(); f != nil {
			out[e.token] = *f
		}
	}
	if f := s.faults[numEndpoints].Load(); f != nil {
		out["*"] = *f
	}
	return out
}

// SetOutage switches the outage on or off: while on, every request to the
// LINE API (token endpoints included) gets 500 and nothing is delivered.
func (s *Sim) SetOutage(on bool) {
	s.outage.Store(on)
	s.log.Info().Bool("on", on).Msg("outage switched")
}

// Outage reports whether the outage switch is on.
func (s *Sim) Outage() bool { return s.outage.Load() }

func (s *Sim) faultSlot(endpoint string) *atomicFaults {
	if endpoint == "*" {
		return &s.faults[numEndpoints]
	}
	return &s.faults[epByToken[endpoint].id]
}

func (s *Sim) refreshAnyFault() {
	any := false
	for i := range s.faults {
		if s.faults[i].Load() != nil {
			any = true
		}
	}
	s.anyFault.Store(any)
}

func (s *Sim) restoreFaults() {
	for i := range s.faults {
		s.faults[i].Store(nil)
	}
	for k, f := range s.cfg.Faults {
		if !f.IsZero() {
			f := f
			s.faultSlot(k).Store(&f)
		}
	}
	s.refreshAnyFault()
}

// faultsFor returns the faults in force for ep (its own, else "*"), or nil.
func (s *Sim) faultsFor(ep *endpoint) *Faults {
	if !s.anyFault.Load() {
		return nil
	}
	if f := s.faults[ep.id].Load(); f != nil {
		return f
	}
	return s.faults[numEndpoints].Load()
}

// preFaults applies the faults that strike before processing: outage,
// latency, reset, hang, 500. It reports whether the request was answered.
func (s *Sim) preFaults(rc *reqCtx) bool {
	f := rc.faults
	if s.outage.Load() || (f != nil && f.Outage) {
		rc.faulted()
		rc.respond(http.StatusInternalServerError, bodyInternal)
		return true
	}
	if f == nil {
		return false
	}
	if d := f.latency(); d > 0 && !s.sleep(rc, d) {
		rc.faulted()
		rc.kill(stDrop)
		return true
	}
	switch {
	case hit(f.ResetRatio):
		rc.faulted()
		rc.kill(stReset)
	case hit(f.HangRatio):
		rc.faulted()
		rc.hang(f.hangFor())
	case hit(f.ErrorRatio):
		rc.faulted()
		rc.respond(http.StatusInternalServerError, bodyInternal)
	default:
		return false
	}
	return true
}

func (rc *reqCtx) faulted() {
	if rc.key != nil {
		rc.key.faults.Add(1)
	}
}

// delivered answers a request that delivered: normally with code and body,
// or, when accept-then-fail strikes, with a 500, a dropped connection or a
// hang.
func (rc *reqCtx) delivered(code int, body []byte) {
	f := rc.faults
	if f == nil || !hit(f.AcceptThenFailRatio) {
		rc.respond(code, body)
		return
	}
	rc.key.atf.Add(1)
	switch f.atfMode() {
	case ModeDrop:
		rc.kill(stDrop)
	case ModeHang:
		rc.hang(f.hangFor())
	default:
		rc.respond(http.StatusInternalServerError, bodyInternal)
	}
}

// sleep waits d of real time; false if the client left or the Sim closed.
func (s *Sim) sleep(rc *reqCtx, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-rc.r.Context().Done():
		return false
	case <-s.closing:
		return false
	}
}

// hang holds the request for d (or until the client leaves or the Sim
// closes), then closes the connection without an answer.
func (rc *reqCtx) hang(d time.Duration) {
	rc.s.sleep(rc, d)
	rc.kill(stHang)
}

// kill closes the connection without an answer; stReset sends a TCP RST.
func (rc *reqCtx) kill(how int) {
	rc.status = -how
	if rc.key != nil {
		rc.key.status[how].Add(1)
	}
	hj, ok := rc.w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // the server drops the connection
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok && how == stReset {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
