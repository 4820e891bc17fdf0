package scenario

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/linedispatch/linedispatch/internal/config"
)

// PodConfig is a dispatcher configuration file as a YAML tree
// (config/dispatcher.example.yaml). The harness fills in NATS, LINE, the
// HTTP address and the pod name; scenarios and -set flags change the rest.
type PodConfig map[string]any

// Set sets a dotted path ("dispatch.senders") to v, creating sections.
func (c PodConfig) Set(path string, v any) {
	m := map[string]any(c)
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			if pc, ok2 := m[p].(PodConfig); ok2 {
				next = pc
			} else {
				next = map[string]any{}
				m[p] = next
			}
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

// Get returns the value at a dotted path, or nil.
func (c PodConfig) Get(path string) any {
	var cur any = map[string]any(c)
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			if pc, ok2 := cur.(PodConfig); ok2 {
				m = pc
			} else {
				return nil
			}
		}
		cur = m[p]
	}
	return cur
}

// Clone deep-copies the tree (maps and slices).
func (c PodConfig) Clone() PodConfig { return PodConfig(cloneTree(map[string]any(c)).(map[string]any)) }

func cloneTree(v any) any {
	switch t := v.(type) {
	case PodConfig:
		return cloneTree(map[string]any(t))
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = cloneTree(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = cloneTree(x)
		}
		return out
	}
	return v
}

// Marshal renders the YAML file and checks it the way the dispatcher will
// (strict fields, defaults, validation), so a bad scenario config fails here
// and not inside a child process.
func (c PodConfig) Marshal() ([]byte, error) {
	b, err := yaml.Marshal(map[string]any(c))
	if err != nil {
		return nil, err
	}
	var parsed config.Config
	if err := config.Parse(b, &parsed); err != nil {
		return nil, fmt.Errorf("pod config: %w\n%s", err, b)
	}
	parsed.SetDefaults()
	if err := parsed.Validate(); err != nil {
		return nil, fmt.Errorf("pod config: %w\n%s", err, b)
	}
	return b, nil
}

// Pod is one dispatcher process slot: a name and a configuration, started,
// stopped, killed and restarted by the PodSet. Figures accumulate over all
// its lives (restarts).
type Pod struct {
	Index  int
	Name   string
	Config PodConfig

	dir        string
	configPath string
	logPath    string

	child    // the process; its mu guards the fields below too
	pid      int
	httpAddr string
	exitErr  error

	peakHWM   int64 // highest VmHWM over all lives (bytes)
	peakRSS   int64 // highest sampled VmRSS (bytes)
	rssSample int

	logs logStats
	// lastMetrics is the last /metrics scrape (selected series).
	lastMetrics map[string]float64
}

// logStats digests a pod's JSON log lines.
type logStats struct {
	mu     sync.Mutex
	warns  int
	errors int
	first  []string // first distinct warn/error messages
	tail   []string // last lines
	// assign are the engine's "partition assignment applied" lines (info).
	assign []AssignmentEvent
}

// AssignmentEvent is one "partition assignment applied" line of a pod's log
// (log level info or finer): the pod started pulling Gained and stopped
// pulling Lost. At is the runner's clock when the line arrived (the pods'
// log timestamps have whole seconds); Life is the pod's start number.
type AssignmentEvent struct {
	At      time.Time `json:"at"`
	Life    int       `json:"life"`
	Epoch   uint64    `json:"epoch"`
	Members int       `json:"members"`
	Owned   int       `json:"owned"`
	Gained  []int     `json:"gained,omitempty"`
	Lost    []int     `json:"lost,omitempty"`
}

// assignmentApplied is the engine's log message for an applied assignment.
const assignmentApplied = "partition assignment applied"

func (l *logStats) add(line string, life int) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tail = append(l.tail, line)
	if len(l.tail) > 40 {
		l.tail = l.tail[len(l.tail)-40:]
	}
	var rec struct {
		Level   string `json:"level"`
		Message string `json:"message"`
		Error   string `json:"error"`
		Epoch   uint64 `json:"epoch"`
		Members int    `json:"members"`
		Owned   int    `json:"owned"`
		Gained  []int  `json:"gained"`
		Lost    []int  `json:"lost"`
	}
	if json.Unmarshal([]byte(line), &rec) != nil {
		return
	}
	if rec.Message == assignmentApplied {
		l.assign = append(l.assign, AssignmentEvent{At: now, Life: life, Epoch: rec.Epoch, Members: rec.Members,
			Owned: rec.Owned, Gained: rec.Gained, Lost: rec.Lost})
	}
	switch rec.Level {
	case "warn":
		l.warns++
	case "error", "fatal", "panic":
		l.errors++
	default:
		return
	}
	msg := rec.Level + ": " + rec.Message
	if rec.Error != "" {
		msg += ": " + rec.Error
	}
	if len(msg) > 300 {
		msg = msg[:300]
	}
	for _, m := range l.first {
		if m == msg {
			return
		}
	}
	if len(l.first) < 10 {
		l.first = append(l.first, msg)
	}
}

// PID is the running process's ID, 0 when stopped.
func (p *Pod) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.pid
}

// HTTPAddr is the pod's HTTP address (health, metrics).
func (p *Pod) HTTPAddr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.httpAddr
}

// Running reports whether the process is alive.
func (p *Pod) Running() bool {
	return p.running()
}

// LogTail returns the pod's last log lines.
func (p *Pod) LogTail() []string {
	p.logs.mu.Lock()
	defer p.logs.mu.Unlock()
	return append([]string(nil), p.logs.tail...)
}

// Assignments returns the pod's applied partition assignments, oldest
// first (empty unless the pod logs at info level or finer).
func (p *Pod) Assignments() []AssignmentEvent {
	p.logs.mu.Lock()
	defer p.logs.mu.Unlock()
	return append([]AssignmentEvent(nil), p.logs.assign...)
}

// Starts is how many times the pod was started.
func (p *Pod) Starts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

// OwnedAt replays the assignments of the pod's life that was running at t
// (up to t) and returns the partitions it pulled then, sorted, with the
// last event applied (nil when none).
func (p *Pod) OwnedAt(t time.Time) ([]int, *AssignmentEvent) {
	evs := p.Assignments()
	life := 0
	for _, e := range evs {
		if !e.At.After(t) {
			life = e.Life
		}
	}
	owned := map[int]bool{}
	var last *AssignmentEvent
	for i, e := range evs {
		if e.Life != life || e.At.After(t) {
			continue
		}
		for _, q := range e.Lost {
			delete(owned, q)
		}
		for _, q := range e.Gained {
			owned[q] = true
		}
		last = &evs[i]
	}
	out := make([]int, 0, len(owned))
	for q := range owned {
		out = append(out, q)
	}
	slices.Sort(out)
	return out, last
}

// PodSet is the managed set of dispatcher processes of a run.
type PodSet struct {
	bin    string
	dir    string
	logOut io.Writer // progress messages

	mu   sync.Mutex
	pods []*Pod

	stopSampler chan struct{}
	samplerDone chan struct{}
}

func newPodSet(bin, dir string, logOut io.Writer) *PodSet {
	s := &PodSet{bin: bin, dir: dir, logOut: logOut, stopSampler: make(chan struct{}), samplerDone: make(chan struct{})}
	go s.sample()
	return s
}

// Add registers a pod slot with its configuration; Start runs it.
func (s *PodSet) Add(name string, cfg PodConfig) *Pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := len(s.pods)
	dir := filepath.Join(s.dir, name)
	p := &Pod{Index: i, Name: name, Config: cfg, dir: dir,
		configPath: filepath.Join(dir, "dispatcher.yaml"), logPath: filepath.Join(dir, "pod.log")}
	s.pods = append(s.pods, p)
	return p
}

// Len is the number of pod slots.
func (s *PodSet) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pods)
}

// Pod returns slot i.
func (s *PodSet) Pod(i int) *Pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pods[i]
}

// All returns every slot.
func (s *PodSet) All() []*Pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Pod(nil), s.pods...)
}

// Start starts pod i (which must be stopped) and waits until it serves
// /healthz.
func (s *PodSet) Start(ctx context.Context, i int) error {
	p := s.Pod(i)
	if p.Running() {
		return fmt.Errorf("pod %s: already running", p.Name)
	}
	if err := os.MkdirAll(p.dir, 0o750); err != nil {
		return err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		addr, err := freeLoopbackAddr()
		if err != nil {
			return err
		}
		cfg := p.Config.Clone()
		cfg.Set("http.addr", addr)
		b, err := cfg.Marshal()
		if err != nil {
			return fmt.Errorf("pod %s: %w", p.Name, err)
		}
		if err := os.WriteFile(p.configPath, b, 0o600); err != nil {
			return err
		}
		if err := s.spawn(p, addr); err != nil {
			return err
		}
		if lastErr = s.waitHealthy(ctx, p, 60*time.Second); lastErr == nil {
			return nil
		}
		// A port taken between picking and binding: try another one.
		_ = s.Kill(i)
		if !strings.Contains(strings.Join(p.LogTail(), "\n"), "address already in use") {
			break
		}
	}
	return lastErr
}

// podNice is the niceness of pod and nats-server processes (see spawn).
const podNice = 5

func (s *PodSet) spawn(p *Pod, addr string) error {
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	// Pods run at a lower CPU priority than the runner, which hosts the
	// simulator: linesim plays LINE's own servers and timestamps arrivals
	// for the window check. On two cores shared by everything, a simulator
	// starved by the pods it measures reads requests late and in bunches, an
	// arrival jitter no real LINE would add. The pods' own scheduling delays
	// stay in the measurement (they show up as later sends, and the engine
	// re-takes a token for a request that would leave too late).
	name, args := niced(s.bin, "run", "--config", p.configPath)
	cmd := exec.Command(name, args...)
	cmd.Env = podEnv()
	cmd.Stdout = logf
	// Own process group (a terminal's ^C goes to the runner, which stops the
	// pods itself) and SIGKILL if the runner dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logf.Close()
		return err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("pod %s: start %s: %w", p.Name, s.bin, err)
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.pid, p.httpAddr, p.exited, p.exitErr, p.stopping = cmd, cmd.Process.Pid, addr, exited, nil, false
	p.starts++
	life := p.starts
	p.mu.Unlock()
	fmt.Fprintf(logf, "=== %s start #%d pid %d http %s\n", time.Now().Format(time.RFC3339Nano), p.starts, cmd.Process.Pid, addr)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			p.logs.add(line, life)
		}
		err := cmd.Wait()
		p.mu.Lock()
		p.exitErr = err
		p.reapedLocked(cmd, err)
		p.mu.Unlock()
		fmt.Fprintf(logf, "=== %s pid %d exited: %v\n", time.Now().Format(time.RFC3339Nano), cmd.Process.Pid, err)
		logf.Close()
		close(exited)
	}()
	return nil
}

// niced is the command line that runs bin with args at niceness podNice
// (bin itself when there is no nice(1)).
func niced(bin string, args ...string) (string, []string) {
	if nice, err := exec.LookPath("nice"); err == nil {
		return nice, append([]string{"-n", strconv.Itoa(podNice), bin}, args...)
	}
	return bin, args
}

// podEnv is the runner's environment without LINEDISPATCH_* overrides, so a
// developer's shell cannot change a scenario's pods behind its back.
func podEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LINEDISPATCH_") {
			env = append(env, kv)
		}
	}
	return env
}

func (s *PodSet) waitHealthy(ctx context.Context, p *Pod, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	hc := &http.Client{Timeout: time.Second}
	url := "http://" + p.HTTPAddr() + "/healthz"
	for {
		p.mu.Lock()
		exited := p.exited
		p.mu.Unlock()
		select {
		case <-exited:
			return fmt.Errorf("pod %s exited during start-up: %v\n%s", p.Name, p.exitErr, strings.Join(p.LogTail(), "\n"))
		default:
		}
		if resp, err := hc.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pod %s: not healthy after %s\n%s", p.Name, timeout, strings.Join(p.LogTail(), "\n"))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop asks pod i to shut down (SIGTERM) and waits for it; after timeout it
// is killed.
func (s *PodSet) Stop(i int, timeout time.Duration) error {
	return s.signal(i, syscall.SIGTERM, timeout)
}

// Kill kills pod i with SIGKILL (a crash: no graceful drain) and waits.
func (s *PodSet) Kill(i int) error { return s.signal(i, syscall.SIGKILL, 10*time.Second) }

// Restart stops pod i gracefully (or kills it when kill is set) and starts it
// again with the same configuration.
func (s *PodSet) Restart(ctx context.Context, i int, kill bool) error {
	var err error
	if kill {
		err = s.Kill(i)
	} else {
		err = s.Stop(i, 30*time.Second)
	}
	if err != nil {
		return err
	}
	return s.Start(ctx, i)
}

func (s *PodSet) signal(i int, sig syscall.Signal, timeout time.Duration) error {
	p := s.Pod(i)
	pid := p.PID()
	// The high-water mark is readable only while the process lives.
	p.stop(sig, timeout, p.observeMemory, func() {
		fmt.Fprintf(s.logOut, "pod %s (pid %d) did not stop within %s after %s; killing it\n", p.Name, pid, timeout, sig)
	})
	return nil
}

// StopAll stops every running pod gracefully, in parallel.
func (s *PodSet) StopAll(timeout time.Duration) {
	var wg sync.WaitGroup
	for _, p := range s.All() {
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Stop(p.Index, timeout) }()
	}
	wg.Wait()
}

// Close kills whatever still runs and stops the memory sampler.
func (s *PodSet) Close() {
	for _, p := range s.All() {
		_ = s.Kill(p.Index)
	}
	select {
	case <-s.stopSampler:
	default:
		close(s.stopSampler)
	}
	<-s.samplerDone
}

// Unexpected lists exits nobody asked for, per pod.
func (s *PodSet) Unexpected() []string {
	var out []string
	for _, p := range s.All() {
		p.mu.Lock()
		for _, u := range p.unexpected {
			out = append(out, p.Name+": "+u)
		}
		p.mu.Unlock()
	}
	return out
}

// CheckAlive returns an error naming the first pod that died on its own,
// with its last log lines.
func (s *PodSet) CheckAlive() error {
	for _, p := range s.All() {
		p.mu.Lock()
		u := append([]string(nil), p.unexpected...)
		p.mu.Unlock()
		if len(u) > 0 {
			return fmt.Errorf("pod %s: %s\n%s", p.Name, u[0], strings.Join(p.LogTail(), "\n"))
		}
	}
	return nil
}

// sample reads VmRSS of every running pod every 250 ms.
func (s *PodSet) sample() {
	defer close(s.samplerDone)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.stopSampler:
			return
		case <-t.C:
			for _, p := range s.All() {
				p.observeMemory()
			}
		}
	}
}

// observeMemory samples VmRSS and VmHWM of the running process.
func (p *Pod) observeMemory() {
	pid := p.PID()
	if pid == 0 {
		return
	}
	st, err := readProcStatus(pid)
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pid != pid {
		return
	}
	p.rssSample++
	p.peakRSS = max(p.peakRSS, st.rss)
	// VmHWM only grows within a life; remembering it on every sample keeps
	// the figure of a pod that crashes on its own. The read just before a
	// stop or kill is the final one of that life.
	p.peakHWM = max(p.peakHWM, st.hwm)
}

type procStatus struct{ rss, hwm int64 }

// readProcStatus reads VmRSS and VmHWM (bytes) from /proc/<pid>/status.
func readProcStatus(pid int) (procStatus, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procStatus{}, err
	}
	return parseProcStatus(string(b))
}

func parseProcStatus(s string) (procStatus, error) {
	var st procStatus
	found := 0
	for _, line := range strings.Split(s, "\n") {
		var dst *int64
		switch {
		case strings.HasPrefix(line, "VmRSS:"):
			dst = &st.rss
		case strings.HasPrefix(line, "VmHWM:"):
			dst = &st.hwm
		default:
			continue
		}
		var kb int64
		if _, err := fmt.Sscanf(strings.TrimSpace(line[6:]), "%d kB", &kb); err != nil {
			return st, fmt.Errorf("proc status: %q: %w", line, err)
		}
		*dst = kb * 1024
		found++
	}
	if found < 2 {
		return st, errors.New("proc status: VmRSS/VmHWM missing")
	}
	return st, nil
}

// scrapeMetrics reads selected series from the pod's /metrics: every
// linedispatch_* series (histogram buckets excluded),
// process_resident_memory_bytes and go_goroutines.
func (p *Pod) scrapeMetrics(ctx context.Context) error {
	addr := p.HTTPAddr()
	if addr == "" || !p.Running() {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	m := parseMetrics(resp.Body)
	p.mu.Lock()
	p.lastMetrics = m
	p.mu.Unlock()
	return nil
}

func parseMetrics(r io.Reader) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		base, _, _ := strings.Cut(name, "{")
		keep := base == "process_resident_memory_bytes" || base == "go_goroutines" ||
			strings.HasPrefix(base, "linedispatch_")
		if !keep || strings.HasSuffix(base, "_bucket") {
			continue
		}
		var f float64
		if _, err := fmt.Sscanf(strings.TrimSpace(val), "%g", &f); err != nil {
			continue
		}
		out[name] = f
	}
	return out
}

// freeLoopbackAddr picks a free TCP port on 127.0.0.1.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	l.Close()
	return addr, nil
}
