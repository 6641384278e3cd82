// Package faultproxy is a reverse proxy in front of a Kubernetes API server that answers a
// share of the requests with the failures of a busy or restarting server instead of
// passing them on, and counts what it injected. It fronts any API server (the local
// management cluster or QUMULUS_TEST_KUBECONFIG's), serving plain HTTP on loopback with
// the credentials of the configuration it was made from, so its clients need none.
//
// Only failures that a well-behaved client may retry are injected, and each only where
// the client can know it is safe to:
//
//   - TooManyRequests (429 without Retry-After) and TooManyRequestsRetryAfter (429 with
//     Retry-After: 1) on any request: a 429 says the server did nothing;
//   - Unavailable (503), Timeout (504, the API server's "request did not complete within
//     requested timeout") and Reset (the connection closed without an answer) on every
//     request but a create (POST): a client cannot tell whether a create it sent was
//     carried out before such a failure, so it must not repeat it;
//   - Conflict (409 "the object has been modified") on forced server-side applies only: the
//     API server's answer when the object changes while it applies. A 409 anywhere else (a
//     field manager conflict, a stale resource version, a failed precondition) is a real
//     disagreement a client must not paper over by repeating the request.
//
// CreateKinds are the failures of a create a client must resolve itself, by reading back
// what it created: a 503 before the create is passed on (not carried out), and a create
// passed on, carried out, whose answer is lost (the connection closed instead). They are
// injected only when asked for, never by AllKinds.
//
// Watches are passed on once established; a fault replaces only their first answer.
package faultproxy

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// Kind is one injected failure.
type Kind string

const (
	TooManyRequests           Kind = "429"
	TooManyRequestsRetryAfter Kind = "429 Retry-After"
	Unavailable               Kind = "503"
	Timeout                   Kind = "504"
	Reset                     Kind = "reset"
	Conflict                  Kind = "409"

	CreateUnavailable Kind = "create 503"
	CreateAnswerLost  Kind = "create answer lost"
)

// AllKinds are every failure a client may retry.
var AllKinds = []Kind{TooManyRequests, TooManyRequestsRetryAfter, Unavailable, Timeout, Reset, Conflict}

// CreateKinds are the failures of a create (see the package documentation).
var CreateKinds = []Kind{CreateUnavailable, CreateAnswerLost}

// Options says how often and what to inject.
type Options struct {
	// Every makes every Every-th request a candidate for a fault; 0 injects none.
	Every int
	// Kinds are the faults, taken in turn by the candidates (the first that fits the
	// request: a create never gets a 5xx or a reset but one of CreateKinds, only a forced
	// apply a conflict).
	Kinds []Kind
	// Observe, when set, sees every request before it is passed on or failed (a counter).
	Observe func(*http.Request)
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	// URL is the proxy's address ("http://127.0.0.1:port").
	URL string
	srv *http.Server

	mu       sync.Mutex
	opts     Options
	requests int
	next     int
	injected map[Kind]int
}

// Start serves a proxy to the API server of target until Close.
func Start(target *rest.Config, opts Options) (*Proxy, error) {
	transport, err := rest.TransportFor(target)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: the target's transport: %w", err)
	}
	u, err := url.Parse(target.Host)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: the target's host: %w", err)
	}
	if u.Scheme == "" {
		u.Scheme = "https"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{URL: "http://" + ln.Addr().String(), opts: opts, injected: map[Kind]int{}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = u.Host
		},
		Transport: transport,
		// Watches stream: pass every event on at once.
		FlushInterval: -1,
	}
	p.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if k, ok := p.fault(r); ok {
				if k == CreateAnswerLost {
					// Carried out: the server's answer goes nowhere.
					rp.ServeHTTP(httptest.NewRecorder(), r)
				}
				inject(w, k)
				return
			}
			rp.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// Close stops the proxy.
func (p *Proxy) Close() error { return p.srv.Close() }

// SetOptions changes what the proxy injects from the next request on.
func (p *Proxy) SetOptions(o Options) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.opts = o
}

// Requests is how many requests reached the proxy.
func (p *Proxy) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

// Injected is how many faults of each kind the proxy injected.
func (p *Proxy) Injected() map[Kind]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[Kind]int, len(p.injected))
	for k, n := range p.injected {
		out[k] = n
	}
	return out
}

// fault decides whether r gets a fault, and which.
func (p *Proxy) fault(r *http.Request) (Kind, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	if p.opts.Observe != nil {
		p.opts.Observe(r)
	}
	if p.opts.Every <= 0 || len(p.opts.Kinds) == 0 || p.requests%p.opts.Every != 0 {
		return "", false
	}
	for range p.opts.Kinds {
		k := p.opts.Kinds[p.next%len(p.opts.Kinds)]
		p.next++
		if fits(k, r) {
			p.injected[k]++
			return k, true
		}
	}
	return "", false
}

// fits reports whether a client can know that k is safe to retry for r, or, for
// CreateKinds, whether r is a create.
func fits(k Kind, r *http.Request) bool {
	switch k {
	case TooManyRequests, TooManyRequestsRetryAfter:
		return true
	case Conflict:
		return r.Method == http.MethodPatch && strings.HasPrefix(r.Header.Get("Content-Type"), "application/apply-patch") &&
			r.URL.Query().Get("force") == "true"
	case CreateUnavailable, CreateAnswerLost:
		return r.Method == http.MethodPost
	default:
		return r.Method != http.MethodPost
	}
}

// inject answers with k as the API server (or the connection to it) would.
func inject(w http.ResponseWriter, k Kind) {
	switch k {
	case Reset, CreateAnswerLost:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			if tcp, ok := conn.(*net.TCPConn); ok {
				_ = tcp.SetLinger(0)
			}
			_ = conn.Close()
		}
		return
	case TooManyRequestsRetryAfter:
		w.Header().Set("Retry-After", "1")
		writeStatus(w, http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests, "too many requests, please try again later")
	case TooManyRequests:
		writeStatus(w, http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests, "etcdserver: too many requests")
	case Unavailable, CreateUnavailable:
		writeStatus(w, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, "the server is currently unable to handle the request")
	case Timeout:
		writeStatus(w, http.StatusGatewayTimeout, metav1.StatusReasonTimeout, "Timeout: request did not complete within requested timeout - context deadline exceeded")
	case Conflict:
		writeStatus(w, http.StatusConflict, metav1.StatusReasonConflict, "Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again")
	}
}

func writeStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Code: int32(code), Reason: reason, Message: message,
	})
}
