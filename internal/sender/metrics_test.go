package sender_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/lineapi"
	"github.com/linedispatch/linedispatch/internal/sender"
)

func TestMetrics(t *testing.T) {
	t.Parallel()
	statuses := []int{200, 409, 429, 400, 500, 0} // 0: connection dropped
	var i atomic.Int32
	f := setup(t, fixtureOpts{handler: func(w http.ResponseWriter, r *http.Request) {
		st := statuses[i.Add(1)-1]
		switch st {
		case 0:
			conn, _, _ := w.(http.Hijacker).Hijack()
			_ = conn.Close()
			return
		case 200:
			w.WriteHeader(200)
			return
		}
		lineapi.WriteError(w, st, "x")
	}})
	for range statuses {
		_, _ = f.sender.Send(context.Background(), request(t, intent.Push))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _ = f.sender.Send(ctx, request(t, intent.Reply)) // refused before any attempt: not counted

	families, err := f.reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	counts := map[string]float64{}
	var pushDurations uint64
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			labels := labelMap(m)
			switch mf.GetName() {
			case "linedispatch_sender_requests_total":
				if m.GetCounter().GetValue() > 0 {
					counts[labels["endpoint"]+"/"+labels["status"]] = m.GetCounter().GetValue()
				}
				if _, ok := labels["bot"]; ok {
					t.Error("bot label on requests_total")
				}
			case "linedispatch_sender_request_duration_seconds":
				if labels["endpoint"] == "push" {
					pushDurations = m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	want := map[string]float64{"push/2xx": 1, "push/409": 1, "push/429": 1, "push/4xx": 1, "push/5xx": 1, "push/error": 1}
	if len(counts) != len(want) {
		t.Errorf("counts = %v, want %v", counts, want)
	}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("%s = %v, want %v", k, counts[k], v)
		}
	}
	if pushDurations != 6 {
		t.Errorf("push duration samples = %d, want 6", pushDurations)
	}
}

func labelMap(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func TestMetricsRegisterTwiceFails(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	if err := sender.NewMetrics().Register(reg); err != nil {
		t.Fatal(err)
	}
	if err := sender.NewMetrics().Register(reg); err == nil {
		t.Fatal("second registration of the same metric names succeeded")
	}
}
