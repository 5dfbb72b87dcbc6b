package bsf

import (
	"fmt"
	"net/http"
	"sync/atomic"
)

// Metrics are the BSF's counters, served as text on GET /metrics.
type Metrics struct {
	BootstrapsOK      atomic.Uint64
	BootstrapsFailed  atomic.Uint64
	Resyncs           atomic.Uint64
	Challenges        atomic.Uint64
	ZnLookupsOK       atomic.Uint64
	ZnLookupsNotFound atomic.Uint64
	ZnUnauthorized    atomic.Uint64
	ZnBadRequests     atomic.Uint64
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	m := &s.metrics
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	fmt.Fprintf(w, "bsf_bootstraps_ok_total %d\n", m.BootstrapsOK.Load())
	fmt.Fprintf(w, "bsf_bootstraps_failed_total %d\n", m.BootstrapsFailed.Load())
	fmt.Fprintf(w, "bsf_resyncs_total %d\n", m.Resyncs.Load())
	fmt.Fprintf(w, "bsf_challenges_total %d\n", m.Challenges.Load())
	fmt.Fprintf(w, "bsf_zn_lookups_ok_total %d\n", m.ZnLookupsOK.Load())
	fmt.Fprintf(w, "bsf_zn_lookups_not_found_total %d\n", m.ZnLookupsNotFound.Load())
	fmt.Fprintf(w, "bsf_zn_unauthorized_total %d\n", m.ZnUnauthorized.Load())
	fmt.Fprintf(w, "bsf_zn_bad_requests_total %d\n", m.ZnBadRequests.Load())
	fmt.Fprintf(w, "bsf_sessions %d\n", s.sessions.len())
	fmt.Fprintf(w, "bsf_pending_challenges %d\n", s.challenges.len())
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}
