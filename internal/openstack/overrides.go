package openstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// OverrideSource is where a chart's values_overrides files come from: a directory laid out
// like upstream's values_overrides/ (<root>/<chart>/<name>.yaml), or an HTTPS base URL with the
// same layout.
type OverrideSource interface {
	// Names lists the override file names (without .yaml) a chart has that are among
	// candidates, in the candidates' order (nil candidates: all it has, sorted, where the
	// source can list; ErrCannotList where it cannot). A chart without files has none.
	Names(ctx context.Context, chart string, candidates []string) ([]string, error)
	// Read returns the content of one file; a missing file is an error matching
	// fs.ErrNotExist.
	Read(ctx context.Context, chart, name string) ([]byte, error)
}

// ErrCannotList is returned by OverrideSource.Names for nil candidates when the source has
// no directory listing.
var ErrCannotList = errors.New("override source cannot list its files")

// MaxFeatures bounds the features of one selection: the candidates grow as 2^n, and a URL
// source probes each of them.
const MaxFeatures = 10

const overrideExt = ".yaml"

// overrideName reports whether s can be one path element of the layout, so that no chart or
// feature reaches outside the source's root.
func overrideName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, `/\`)
}

// DirOverrides reads override files from a local directory.
func DirOverrides(root string) OverrideSource { return dirOverrides{root: root} }

type dirOverrides struct{ root string }

func (d dirOverrides) Names(_ context.Context, chart string, candidates []string) ([]string, error) {
	if !overrideName(chart) {
		return nil, fmt.Errorf("invalid chart name %q", chart)
	}
	entries, err := os.ReadDir(filepath.Join(d.root, chart))
	if errors.Is(err, fs.ErrNotExist) {
		// A chart without overrides is normal; a root that is not there is a mistake.
		if _, rootErr := os.Stat(d.root); rootErr != nil {
			return nil, fmt.Errorf("values_overrides directory: %w", rootErr)
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("values_overrides of %s: %w", chart, err)
	}
	var have []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), overrideExt); ok && name != "" && !e.IsDir() {
			have = append(have, name)
		}
	}
	if candidates == nil {
		slices.Sort(have)
		return have, nil
	}
	var names []string
	for _, c := range candidates {
		if slices.Contains(have, c) && !slices.Contains(names, c) {
			names = append(names, c)
		}
	}
	return names, nil
}

func (d dirOverrides) Read(_ context.Context, chart, name string) ([]byte, error) {
	if !overrideName(chart) || !overrideName(name) {
		return nil, fmt.Errorf("invalid override file %s/%s%s", chart, name, overrideExt)
	}
	return os.ReadFile(filepath.Join(d.root, chart, name+overrideExt))
}

// URLOverrides fetches override files with GET <base>/<chart>/<name>.yaml, a 404 meaning the
// file is absent. Every answer (content or 404) is kept for the life of the source, so a plan
// and the apply that follows ask once per file; failures are not kept. A nil client is
// http.DefaultClient.
func URLOverrides(base string, client *http.Client) OverrideSource {
	if client == nil {
		client = http.DefaultClient
	}
	return &urlOverrides{base: strings.TrimRight(base, "/"), client: client, cache: map[string]*urlAnswer{}}
}

type urlOverrides struct {
	base   string
	client *http.Client

	mu    sync.Mutex
	cache map[string]*urlAnswer
}

// urlAnswer is one GET, shared by the callers that ask for the same file while it runs.
type urlAnswer struct {
	done  chan struct{}
	found bool
	data  []byte
	err   error
}

// urlProbes bounds the GETs one Names call runs at once.
const urlProbes = 8

func (u *urlOverrides) Names(ctx context.Context, chart string, candidates []string) ([]string, error) {
	if candidates == nil {
		return nil, fmt.Errorf("values_overrides at %s: %w (HTTP has no directory listing)", u.base, ErrCannotList)
	}
	if !overrideName(chart) {
		return nil, fmt.Errorf("invalid chart name %q", chart)
	}
	found := make([]bool, len(candidates))
	errs := make([]error, len(candidates))
	sem := make(chan struct{}, urlProbes)
	var wg sync.WaitGroup
	for i, c := range candidates {
		if !overrideName(c) {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			a, err := u.get(ctx, chart, c)
			found[i], errs[i] = err == nil && a.found, err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var names []string
	for i, c := range candidates {
		if found[i] && !slices.Contains(names, c) {
			names = append(names, c)
		}
	}
	return names, nil
}

func (u *urlOverrides) Read(ctx context.Context, chart, name string) ([]byte, error) {
	if !overrideName(chart) || !overrideName(name) {
		return nil, fmt.Errorf("invalid override file %s/%s%s", chart, name, overrideExt)
	}
	a, err := u.get(ctx, chart, name)
	if err != nil {
		return nil, err
	}
	if !a.found {
		return nil, fmt.Errorf("%s: %w", u.fileURL(chart, name), fs.ErrNotExist)
	}
	return slices.Clone(a.data), nil
}

func (u *urlOverrides) fileURL(chart, name string) string {
	return u.base + "/" + chart + "/" + name + overrideExt
}

func (u *urlOverrides) get(ctx context.Context, chart, name string) (*urlAnswer, error) {
	url := u.fileURL(chart, name)
	for {
		u.mu.Lock()
		a, ok := u.cache[url]
		if !ok {
			a = &urlAnswer{done: make(chan struct{})}
			u.cache[url] = a
		}
		u.mu.Unlock()
		if !ok {
			a.found, a.data, a.err = u.fetch(ctx, url)
			if a.err != nil {
				u.mu.Lock()
				delete(u.cache, url)
				u.mu.Unlock()
			}
			close(a.done)
			return a, a.err
		}
		select {
		case <-a.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		// Another caller's cancelled context is no answer for this one: ask again.
		if a.err != nil && (errors.Is(a.err, context.Canceled) || errors.Is(a.err, context.DeadlineExceeded)) && ctx.Err() == nil {
			continue
		}
		return a, a.err
	}
}

// maxOverrideSize guards against a wrong URL answering with something that is not a values
// file; upstream's largest is a few kilobytes.
const maxOverrideSize = 4 << 20

func (u *urlOverrides) fetch(ctx context.Context, url string) (bool, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, nil, fmt.Errorf("values_overrides: %w", err)
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return false, nil, fmt.Errorf("values_overrides: %w", err)
	}
	// A read error is reported below; a close error after a full read changes nothing.
	defer func() { _ = resp.Body.Close() }()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return false, nil, nil
	default:
		return false, nil, fmt.Errorf("values_overrides: GET %s: %s", url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxOverrideSize+1))
	if err != nil {
		return false, nil, fmt.Errorf("values_overrides: GET %s: %w", url, err)
	}
	if len(data) > maxOverrideSize {
		return false, nil, fmt.Errorf("values_overrides: GET %s: larger than %d bytes", url, maxOverrideSize)
	}
	return true, data, nil
}

// OverrideCandidates lists the override file names that features select, in the order
// upstream's get-values-overrides applies them (combination | uniq | tac): by ascending mask
// over the features (bit n-1-i selects features[i]), each name the selected features joined
// by "-". Empty and repeated features are dropped first, repeated names keep their first
// place. More than MaxFeatures features give nil.
func OverrideCandidates(features []string) []string {
	var uniq []string
	for _, f := range features {
		if f != "" && !slices.Contains(uniq, f) {
			uniq = append(uniq, f)
		}
	}
	n := len(uniq)
	if n == 0 || n > MaxFeatures {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for mask := 1; mask < 1<<n; mask++ {
		var parts []string
		for i, f := range uniq {
			if mask&(1<<(n-1-i)) != 0 {
				parts = append(parts, f)
			}
		}
		name := strings.Join(parts, "-")
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}

func checkFeatureCount(features []string) error {
	if len(features) > MaxFeatures {
		return fmt.Errorf("%d override features, at most %d are supported", len(features), MaxFeatures)
	}
	return nil
}

// SelectOverrides returns the names of chart's override files that features select, in the
// order they are applied (later wins). The order of features matters: upstream names its
// files release first (2026.1-ubuntu_noble), and loci-2025.2-ubuntu_noble needs loci before
// the release.
func SelectOverrides(ctx context.Context, src OverrideSource, chart string, features []string) ([]string, error) {
	if err := checkFeatureCount(features); err != nil {
		return nil, err
	}
	candidates := OverrideCandidates(features)
	if len(candidates) == 0 {
		return nil, nil
	}
	have, err := src.Names(ctx, chart, candidates)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, c := range candidates {
		if slices.Contains(have, c) {
			names = append(names, c)
		}
	}
	return names, nil
}

// UnknownFeatureError is a release, OS or feature that no file of the charts names. The lists
// are what the files do name, sorted.
type UnknownFeatureError struct {
	Feature  string
	Releases []string
	OSes     []string
	Features []string
}

func (e *UnknownFeatureError) Error() string {
	none := func(s []string) string {
		if len(s) == 0 {
			return "none"
		}
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("no values_overrides file names the %s %q; the files name releases: %s; OSes: %s; features: %s",
		featureKind(e.Feature), e.Feature, none(e.Releases), none(e.OSes), none(e.Features))
}

var (
	releaseToken = regexp.MustCompile(`^\d{4}\.\d+$`)
	// distroToken are OS names upstream uses or has used, for the OSes only named alone
	// (nova's opensuse_15).
	distroToken = regexp.MustCompile(`^(ubuntu|debian|centos|rockylinux|rocky|rhel|opensuse|fedora|almalinux)_[0-9a-z.]+$`)
)

func featureKind(f string) string {
	switch {
	case releaseToken.MatchString(f):
		return "OpenStack release"
	case distroToken.MatchString(f):
		return "OS"
	default:
		return "feature"
	}
}

// CheckFeatures is the plan-time check: each feature must be a "-"-separated token of some
// file name of some of the charts. The rule is across charts because some (memcached) have no
// release file. Otherwise it returns an *UnknownFeatureError for the first unknown feature.
//
// Tokens are sorted into releases (YYYY.N), OSes (a token with "_" that follows a release in
// some name, like ubuntu_noble in 2025.2-ubuntu_noble, or a known distribution name like
// opensuse_15) and the other features.
//
// A source that cannot list (a URL) is probed with the candidates of features instead, the
// files the selection will read anyway: a feature is known when an existing candidate has it
// as a token, and the error lists only what those candidates name.
func CheckFeatures(ctx context.Context, src OverrideSource, charts []string, features []string) error {
	if err := checkFeatureCount(features); err != nil {
		return err
	}
	var all []string
	for _, chart := range charts {
		names, err := src.Names(ctx, chart, nil)
		if errors.Is(err, ErrCannotList) {
			names, err = src.Names(ctx, chart, OverrideCandidates(features))
		}
		if err != nil {
			return err
		}
		all = append(all, names...)
	}

	tokens := map[string]bool{}
	oses := map[string]bool{}
	for _, name := range all {
		parts := strings.Split(name, "-")
		for i, t := range parts {
			if t == "" {
				continue
			}
			tokens[t] = true
			if strings.Contains(t, "_") && (distroToken.MatchString(t) || i > 0 && releaseToken.MatchString(parts[i-1])) {
				oses[t] = true
			}
		}
	}
	for _, f := range features {
		if tokens[f] {
			continue
		}
		e := &UnknownFeatureError{Feature: f}
		for t := range tokens {
			switch {
			case releaseToken.MatchString(t):
				e.Releases = append(e.Releases, t)
			case oses[t]:
				e.OSes = append(e.OSes, t)
			default:
				e.Features = append(e.Features, t)
			}
		}
		slices.SortFunc(e.Releases, compareReleases)
		slices.Sort(e.OSes)
		slices.Sort(e.Features)
		return e
	}
	return nil
}

// compareReleases orders YYYY.N numerically, so 2025.10 follows 2025.2.
func compareReleases(a, b string) int {
	ay, an, _ := strings.Cut(a, ".")
	by, bn, _ := strings.Cut(b, ".")
	if c := strings.Compare(ay, by); c != 0 {
		return c
	}
	ai, _ := strconv.Atoi(an)
	bi, _ := strconv.Atoi(bn)
	return ai - bi
}
