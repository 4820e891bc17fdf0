package dispatch

import "sync"

// heldSet is what the pod holds: every held job (for keep-alive), and an
// index from stored message to its holder (a *job, or a *spillBatch for a
// LINE_BACKLOG message) to recognise a redelivery of a message the pod still
// holds. Every pulled intent is added, looked up and removed once, so this
// is a plain map under one mutex: the two sync.Maps it replaces allocated
// a node per entry and cost about 4 % of a pod's CPU in steady.
type heldSet struct {
	mu    sync.Mutex
	jobs  map[*job]struct{}
	bySeq map[storedSeq]any
}

func newHeldSet() *heldSet {
	return &heldSet{jobs: map[*job]struct{}{}, bySeq: map[storedSeq]any{}}
}

// add records j as held, and as the holder of seq unless seq is zero.
func (h *heldSet) add(j *job, seq storedSeq) {
	h.mu.Lock()
	h.jobs[j] = struct{}{}
	if seq.stream != "" {
		h.bySeq[seq] = j
	}
	h.mu.Unlock()
}

// remove forgets j, and j as the holder of seq: a later holder of the same
// message (a redelivery taken after j ended) keeps it.
func (h *heldSet) remove(j *job, seq storedSeq) {
	h.mu.Lock()
	delete(h.jobs, j)
	h.releaseLocked(seq, j)
	h.mu.Unlock()
}

// hold records holder (a spill batch) as the holder of seq.
func (h *heldSet) hold(seq storedSeq, holder any) {
	h.mu.Lock()
	h.bySeq[seq] = holder
	h.mu.Unlock()
}

// release forgets holder as the holder of seq, unless another holds it now.
func (h *heldSet) release(seq storedSeq, holder any) {
	h.mu.Lock()
	h.releaseLocked(seq, holder)
	h.mu.Unlock()
}

func (h *heldSet) releaseLocked(seq storedSeq, holder any) {
	if seq.stream != "" && h.bySeq[seq] == holder {
		delete(h.bySeq, seq)
	}
}

// holds reports whether the message stored at seq is held.
func (h *heldSet) holds(seq storedSeq) bool {
	h.mu.Lock()
	_, ok := h.bySeq[seq]
	h.mu.Unlock()
	return ok
}

// appendJobs appends the held jobs to dst: a snapshot, so that callers act
// on them (network calls) without holding the lock.
func (h *heldSet) appendJobs(dst []*job) []*job {
	h.mu.Lock()
	for j := range h.jobs {
		dst = append(dst, j)
	}
	h.mu.Unlock()
	return dst
}
