package main

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"k8s.io/client-go/rest"

	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/faultproxy"
)

// countingProxy is a plain-HTTP reverse proxy on loopback in front of a Kubernetes API
// server (a faultproxy that injects nothing) that counts the requests through it by verb
// and resource. It authenticates to the server with the credentials of the config it was
// made from, so its clients need none.
type countingProxy struct {
	URL   string
	proxy *faultproxy.Proxy

	mu     sync.Mutex
	counts requests
}

func newCountingProxy(target *rest.Config) (*countingProxy, error) {
	p := &countingProxy{counts: requests{}}
	proxy, err := faultproxy.Start(target, faultproxy.Options{Observe: func(r *http.Request) {
		p.mu.Lock()
		p.counts[classify(r.Method, r.URL, r.Header.Get("Content-Type"))]++
		p.mu.Unlock()
	}})
	if err != nil {
		return nil, err
	}
	p.URL, p.proxy = proxy.URL, proxy
	return p, nil
}

// take returns the counts since the last take and starts again from zero.
func (p *countingProxy) take() requests {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.counts
	p.counts = requests{}
	return out
}

func (p *countingProxy) close() { _ = p.proxy.Close() }

// requests counts requests by "<verb> <resource>", e.g. "get tenantcontrolplanes".
type requests map[string]int

func (r requests) total() int {
	n := 0
	for _, c := range r {
		n += c
	}
	return n
}

// verb counts the requests of one verb.
func (r requests) verb(v string) int {
	n := 0
	for k, c := range r {
		if strings.HasPrefix(k, v+" ") {
			n += c
		}
	}
	return n
}

// String lists the counts, largest first: "200 get tenantcontrolplanes, 1 get discovery".
func (r requests) String() string {
	if len(r) == 0 {
		return "none"
	}
	keys := slices.SortedFunc(maps.Keys(r), func(a, b string) int {
		return cmp.Or(cmp.Compare(r[b], r[a]), strings.Compare(a, b))
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", r[k], k)
	}
	return strings.Join(parts, ", ")
}

// classify names a Kubernetes API request "<verb> <resource>[/<subresource>]" with the
// verbs of the API server's audit log (get, list, watch, create, update, patch, apply,
// delete, deletecollection), a dry-run write prefixed "dryrun-" (dryrun-apply); discovery and other non-resource paths are "get discovery"
// and "<method> <path>".
func classify(method string, u *url.URL, contentType string) string {
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	var rest []string
	switch {
	case len(parts) >= 1 && parts[0] == "api":
		if len(parts) <= 2 {
			return "get discovery"
		}
		rest = parts[2:]
	case len(parts) >= 1 && parts[0] == "apis":
		if len(parts) <= 3 {
			return "get discovery"
		}
		rest = parts[3:]
	default:
		return strings.ToLower(method) + " " + u.Path
	}
	// namespaces/<ns>/<resource>/... is a namespaced resource; namespaces[/<name>[/finalize
	// or /status]] is the namespace itself.
	if rest[0] == "namespaces" && len(rest) >= 3 && (len(rest) > 3 || rest[2] != "finalize" && rest[2] != "status") {
		rest = rest[2:]
	}
	resource := rest[0]
	name := ""
	if len(rest) >= 2 {
		name = rest[1]
	}
	if len(rest) >= 3 {
		resource += "/" + rest[2]
	}
	verb := strings.ToLower(method)
	switch method {
	case http.MethodGet:
		switch {
		case u.Query().Get("watch") == "true" || u.Query().Get("watch") == "1":
			verb = "watch"
		case name == "":
			verb = "list"
		default:
			verb = "get"
		}
	case http.MethodPost:
		verb = "create"
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		verb = "patch"
		if strings.HasPrefix(contentType, "application/apply-patch") {
			verb = "apply"
		}
		if u.Query().Get("dryRun") != "" {
			// A plan-time check (plan_dry_run): the server stores nothing.
			verb = "dryrun-" + verb
		}
	case http.MethodDelete:
		verb = "delete"
		if name == "" {
			verb = "deletecollection"
		}
	}
	return verb + " " + resource
}
