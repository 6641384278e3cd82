package chartsource

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestResolveRepository(t *testing.T) {
	t.Parallel()
	eachFixture(t, func(t *testing.T, f fixture) {
		srv := serveRepo(t, f.dir, serverOptions{})
		cache := NewCache(nil)
		src := Source{Repository: srv.URL + "/"}

		cases := []result{{"", f.newest}, {f.exact, f.exact}}
		cases = append(cases, f.ranges...)
		for _, c := range cases {
			got, err := cache.Resolve(t.Context(), src, f.chart, c.constraint)
			if err != nil {
				t.Fatalf("Resolve(%q): %v", c.constraint, err)
			}
			if got.Name != f.chart || got.Version != c.want || got.AppVersion == "" || len(got.Digest) != 64 || got.Chart != nil {
				t.Errorf("Resolve(%q) = %+v, want %s %s with app version and digest, no chart", c.constraint, got, f.chart, c.want)
			}
		}

		_, err := cache.Resolve(t.Context(), src, f.chart, "9.9.9")
		var nv *NoVersionError
		if !errors.As(err, &nv) || !slices.Equal(nv.Available, f.all) || nv.Constraint != "9.9.9" {
			t.Errorf("Resolve(9.9.9) = %v, want a NoVersionError listing %v", err, f.all)
		}
		_, err = cache.Resolve(t.Context(), src, "no-such-chart", "")
		var nf *NotFoundError
		if !errors.As(err, &nf) || nf.Chart != "no-such-chart" || !strings.Contains(err.Error(), srv.URL) {
			t.Errorf("Resolve(no-such-chart) = %v, want a NotFoundError naming the repository", err)
		}
		_, err = cache.Resolve(t.Context(), src, f.chart, "not a version!")
		var ce *ConstraintError
		if !errors.As(err, &ce) {
			t.Errorf("Resolve(invalid constraint) = %v, want a ConstraintError", err)
		}

		if n := srv.count("/index.yaml"); n != 1 {
			t.Errorf("index.yaml fetched %d times, want 1", n)
		}
		if n := srv.archiveHits(); n != 0 {
			t.Errorf("Resolve downloaded %d archives, want none", n)
		}
	})
}

func TestLoadRepositoryOnce(t *testing.T) {
	t.Parallel()
	eachFixture(t, func(t *testing.T, f fixture) {
		srv := serveRepo(t, f.dir, serverOptions{})
		cache := NewCache(nil)
		src := Source{Repository: srv.URL}

		const callers = 8
		loaded := make([]Resolved, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				r, err := cache.Resolve(t.Context(), src, f.chart, "")
				if err == nil {
					loaded[i], err = cache.Load(t.Context(), src, r.Name, r.Version)
				}
				errs[i] = err
			})
		}
		wg.Wait()
		again, err := cache.Load(t.Context(), src, f.chart, f.newest)
		if err != nil {
			t.Fatal(err)
		}
		resolved, err := cache.Resolve(t.Context(), src, f.chart, f.newest)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range loaded {
			if errs[i] != nil {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
			if r.Version != f.newest || r.Digest != resolved.Digest || r.AppVersion != resolved.AppVersion {
				t.Errorf("caller %d loaded %s %s (%s), want %s %s", i, r.Name, r.Version, r.Digest, f.newest, resolved.Digest)
			}
			if got := dependencyNames(t, r); !slices.Contains(got, f.dep) {
				t.Errorf("loaded chart's dependencies are %v, want %s bundled", got, f.dep)
			}
			if r.Chart == again.Chart {
				t.Errorf("two Loads returned the same *chart.Chart; installs modify it")
			}
		}
		if n := srv.count("/index.yaml"); n != 1 {
			t.Errorf("index.yaml fetched %d times, want 1", n)
		}
		if n := srv.count(fmt.Sprintf("/%s-%s.tgz", f.chart, f.newest)); n != 1 || srv.archiveHits() != 1 {
			t.Errorf("archive fetched %d times (%d archives in all), want 1", n, srv.archiveHits())
		}
	})
}

func TestLoadRepositoryDigestMismatch(t *testing.T) {
	t.Parallel()
	eachFixture(t, func(t *testing.T, f fixture) {
		srv := serveRepo(t, f.dir, serverOptions{corrupt: true})
		cache := NewCache(nil)
		src := Source{Repository: srv.URL}
		r, err := cache.Resolve(t.Context(), src, f.chart, "")
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // a failure is not cached
			_, err = cache.Load(t.Context(), src, f.chart, r.Version)
			var de *DigestError
			if !errors.As(err, &de) || de.Want != r.Digest || de.Got == r.Digest || de.Chart != f.chart {
				t.Fatalf("Load of a corrupted archive = %v, want a DigestError expecting %s", err, r.Digest)
			}
		}
		if n := srv.archiveHits(); n != 2 {
			t.Errorf("archive fetched %d times, want 2 (failures are retried)", n)
		}
	})
}

func TestRepositoryBasicAuth(t *testing.T) {
	t.Parallel()
	const user, password, wrong = "deployer", "s3cret-Pa55", "wrong-Pa55w0rd"
	eachFixture(t, func(t *testing.T, f fixture) {
		srv := serveRepo(t, f.dir, serverOptions{user: user, password: password})
		cache := NewCache(nil)

		ok := Source{Repository: srv.URL, Username: user, Password: password}
		r, err := cache.Load(t.Context(), ok, f.chart, "")
		if err != nil || r.Version != f.newest {
			t.Fatalf("Load with the right credentials = %+v, %v", r, err)
		}

		for _, src := range []Source{
			{Repository: srv.URL, Username: user, Password: wrong},
			{Repository: srv.URL},
		} {
			_, err := cache.Resolve(t.Context(), src, f.chart, "")
			var fe *FetchError
			if !errors.As(err, &fe) || fe.StatusCode != http.StatusUnauthorized || !strings.Contains(err.Error(), srv.URL) {
				t.Errorf("Resolve with %q = %v, want a 401 FetchError naming the URL", src.Password, err)
			}
			if err != nil && (strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), password)) {
				t.Errorf("error %q shows the password", err)
			}
		}
	})
}

func TestRepositoryTLS(t *testing.T) {
	t.Parallel()
	srv := serveRepo(t, buildTestRepo(t), serverOptions{tls: true})
	cases := []struct {
		name    string
		src     Source
		wantErr string
	}{
		{"ca certificate", Source{Repository: srv.URL, CACertificate: certPEM(srv.Server)}, ""},
		{"insecure", Source{Repository: srv.URL, InsecureSkipTLSVerify: true}, ""},
		{"unknown authority", Source{Repository: srv.URL}, "certificate"},
		{"not PEM", Source{Repository: srv.URL, CACertificate: "not a certificate"}, "no PEM certificate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r, err := NewCache(nil).Load(t.Context(), c.src, "demo", "0.1.0")
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatal(err)
			case c.wantErr == "" && r.Version != "0.1.0":
				t.Errorf("loaded %s, want 0.1.0", r.Version)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Errorf("error = %v, want one containing %q", err, c.wantErr)
			}
		})
	}
}

func TestRepositoryContext(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-arrived
		cancel()
	}()
	_, err := NewCache(nil).Resolve(ctx, Source{Repository: srv.URL}, "demo", "")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Resolve cancelled during the request = %v, want context.Canceled", err)
	}
}
