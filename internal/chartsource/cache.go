package chartsource

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/repo"
)

// DefaultTimeout bounds every request of a Cache made without a client.
const DefaultTimeout = 5 * time.Minute

// maxAvailable is how many versions a NoVersionError lists.
const maxAvailable = 10

// Cache resolves and loads charts once per provider run: an index is fetched once per
// Source, a chart archive once per (source, name, version). Concurrent callers for the same
// key wait for one fetch; failures are not kept, so a later call tries again. Safe for
// concurrent use.
type Cache struct {
	client *http.Client

	mu       sync.Mutex
	backends map[string]backend
	archives memo[archive]
}

// backend is one kind of source. versions are newest first and must not be modified.
type backend interface {
	versions(ctx context.Context, name string) (repo.ChartVersions, error)
	describe(ctx context.Context, cv *repo.ChartVersion) (Resolved, error)
	fetch(ctx context.Context, cv *repo.ChartVersion) (archive, error)
	String() string
}

// archive makes a new *chart.Chart on every call, because installing a chart modifies it
// (Helm drops disabled dependencies and merges values into it).
type archive struct {
	digest string
	load   func() (*chart.Chart, error)
}

// NewCache returns an empty Cache that fetches with client (nil: a client with
// DefaultTimeout that honours the proxy environment variables).
func NewCache(client *http.Client) *Cache {
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	return &Cache{client: client, backends: map[string]backend{}}
}

// Resolve picks the newest version of name matching constraint ("" is the newest stable
// version; an exact version; or a constraint like "~2026.1" or ">= 2026.1.0, < 2027") and
// returns its metadata without downloading the archive.
func (c *Cache) Resolve(ctx context.Context, src Source, name, constraint string) (Resolved, error) {
	b, _, err := c.backend(src)
	if err != nil {
		return Resolved{}, err
	}
	cv, err := pick(ctx, b, name, constraint)
	if err != nil {
		return Resolved{}, err
	}
	return b.describe(ctx, cv)
}

// Load returns the chart of that version, downloaded once per Cache and checked against the
// digest the repository lists. Every call returns a chart of its own.
func (c *Cache) Load(ctx context.Context, src Source, name, version string) (Resolved, error) {
	b, key, err := c.backend(src)
	if err != nil {
		return Resolved{}, err
	}
	cv, err := pick(ctx, b, name, version)
	if err != nil {
		return Resolved{}, err
	}
	a, err := c.archives.do(ctx, key+"\x00"+cv.Name+"\x00"+cv.Version, func(ctx context.Context) (archive, error) {
		return b.fetch(ctx, cv)
	})
	if err != nil {
		return Resolved{}, err
	}
	ch, err := a.load()
	if err != nil {
		return Resolved{}, fmt.Errorf("loading chart %s %s from %s: %w", cv.Name, cv.Version, b, err)
	}
	if ch.Metadata.Name != cv.Name || ch.Metadata.Version != cv.Version {
		return Resolved{}, fmt.Errorf("%s lists chart %s %s, but its archive holds %s %s",
			b, cv.Name, cv.Version, ch.Metadata.Name, ch.Metadata.Version)
	}
	return Resolved{
		Name: ch.Metadata.Name, Version: ch.Metadata.Version, AppVersion: ch.Metadata.AppVersion,
		Digest: a.digest, Chart: ch,
	}, nil
}

// ValidateConstraint reports a version constraint that Resolve would reject.
func ValidateConstraint(constraint string) error {
	if constraint == "" {
		return nil
	}
	if _, err := semver.NewConstraint(constraint); err != nil {
		return &ConstraintError{Constraint: constraint, Err: err}
	}
	return nil
}

func pick(ctx context.Context, b backend, name, constraint string) (*repo.ChartVersion, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	cvs, err := b.versions(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(cvs) == 0 {
		return nil, &NotFoundError{Chart: name, Source: b.String()}
	}
	// Helm's own rule: an exact version first, then the newest match, pre-releases only
	// when the constraint names one.
	idx := repo.IndexFile{Entries: map[string]repo.ChartVersions{name: cvs}}
	cv, err := idx.Get(name, constraint)
	if err == nil {
		return cv, nil
	}
	if cerr := ValidateConstraint(constraint); cerr != nil {
		return nil, cerr
	}
	available := make([]string, 0, maxAvailable)
	for _, v := range cvs[:min(len(cvs), maxAvailable)] {
		available = append(available, v.Version)
	}
	return nil, &NoVersionError{Chart: name, Constraint: constraint, Source: b.String(), Available: available}
}

func (c *Cache) backend(src Source) (backend, string, error) {
	if err := src.Validate(); err != nil {
		return nil, "", err
	}
	key := src.key()
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.backends[key]; ok {
		return b, key, nil
	}
	var b backend
	switch {
	case src.Path != "":
		b = newDirRepo(src.Path)
	default:
		client, err := c.clientFor(src)
		if err != nil {
			return nil, "", err
		}
		if src.isOCI() {
			b = newOCIRepo(src, client)
		} else {
			b = newHTTPRepo(src, client)
		}
	}
	c.backends[key] = b
	return b, key, nil
}

// clientFor returns the Cache's client, or a copy with its own TLS settings.
func (c *Cache) clientFor(src Source) (*http.Client, error) {
	if src.CACertificate == "" && !src.InsecureSkipTLSVerify {
		return c.client, nil
	}
	base := c.client.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	t, ok := base.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("chart source %s: cannot apply TLS settings to a %T transport", src, base)
	}
	t = t.Clone()
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if src.CACertificate != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(src.CACertificate)) {
			return nil, fmt.Errorf("chart source %s: the CA certificate holds no PEM certificate", src)
		}
		t.TLSClientConfig.RootCAs = pool
	}
	// The user asked for it, for a repository with a certificate they cannot verify.
	t.TLSClientConfig.InsecureSkipVerify = src.InsecureSkipTLSVerify //nolint:gosec
	client := *c.client
	client.Transport = t
	return &client, nil
}

func sortNewestFirst(cvs repo.ChartVersions) { sort.Sort(sort.Reverse(cvs)) }

// memo runs fn once per key and hands its result to every caller; a failed result is
// forgotten once the callers waiting for it have it.
type memo[T any] struct {
	mu    sync.Mutex
	calls map[string]*call[T]
}

type call[T any] struct {
	done chan struct{}
	val  T
	err  error
}

func (m *memo[T]) do(ctx context.Context, key string, fn func(context.Context) (T, error)) (T, error) {
	for {
		m.mu.Lock()
		if m.calls == nil {
			m.calls = map[string]*call[T]{}
		}
		cl, ok := m.calls[key]
		if !ok {
			cl = &call[T]{done: make(chan struct{})}
			m.calls[key] = cl
			m.mu.Unlock()
			m.run(ctx, key, cl, fn)
			return cl.val, cl.err
		}
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		case <-cl.done:
		}
		// The caller that fetched gave up (its own context ended); this one has time left.
		if cl.err != nil && ctx.Err() == nil &&
			(errors.Is(cl.err, context.Canceled) || errors.Is(cl.err, context.DeadlineExceeded)) {
			continue
		}
		return cl.val, cl.err
	}
}

func (m *memo[T]) run(ctx context.Context, key string, cl *call[T], fn func(context.Context) (T, error)) {
	defer close(cl.done)
	cl.val, cl.err = fn(ctx)
	if cl.err != nil {
		m.mu.Lock()
		delete(m.calls, key)
		m.mu.Unlock()
	}
}
