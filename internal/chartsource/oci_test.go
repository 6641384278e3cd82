package chartsource

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/repo"
)

// fakeRegistry is the part of the OCI distribution API that Helm's registry client uses to
// list tags and pull a chart: enough to test the OCI source offline.
type fakeRegistry struct {
	user, password string
	manifests      map[string][]byte // "<repository>:<tag or digest>"
	tags           map[string][]string
	blobs          map[string][]byte

	mu   sync.Mutex
	hits map[string]int
}

// serveRegistry pushes the testdata repository's archives as <prefix>/<chart>:<version>.
func serveRegistry(t *testing.T, user, password string) (*httptest.Server, *fakeRegistry) {
	t.Helper()
	f := &fakeRegistry{user: user, password: password, manifests: map[string][]byte{}, tags: map[string][]string{},
		blobs: map[string][]byte{}, hits: map[string]int{}}
	dir := buildTestRepo(t)
	archives, err := filepath.Glob(filepath.Join(dir, "*.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range archives {
		data, err := os.ReadFile(a)
		if err != nil {
			t.Fatal(err)
		}
		ch, err := loader.LoadFile(a)
		if err != nil {
			t.Fatal(err)
		}
		config, err := json.Marshal(ch.Metadata)
		if err != nil {
			t.Fatal(err)
		}
		desc := func(mediaType string, b []byte) map[string]any {
			d := "sha256:" + sha256Hex(b)
			f.blobs[d] = b
			return map[string]any{"mediaType": mediaType, "digest": d, "size": len(b)}
		}
		manifest, err := json.Marshal(map[string]any{
			"schemaVersion": 2,
			"mediaType":     "application/vnd.oci.image.manifest.v1+json",
			"config":        desc(registry.ConfigMediaType, config),
			"layers":        []any{desc(registry.ChartLayerMediaType, data)},
		})
		if err != nil {
			t.Fatal(err)
		}
		name := "charts/" + ch.Metadata.Name
		tag := strings.ReplaceAll(ch.Metadata.Version, "+", "_")
		f.manifests[name+":"+tag] = manifest
		f.manifests[name+":sha256:"+sha256Hex(manifest)] = manifest
		f.tags[name] = append(f.tags[name], tag, "not-semver")
	}
	srv := httptest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	return srv, f
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.user != "" {
		if u, p, ok := r.BasicAuth(); !ok || u != f.user || p != f.password {
			w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
			ociError(w, http.StatusUnauthorized, "UNAUTHORIZED")
			return
		}
	}
	f.mu.Lock()
	f.hits[r.Method+" "+r.URL.Path]++
	f.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, "/v2/")
	switch {
	case path == "":
		w.WriteHeader(http.StatusOK)
	case strings.HasSuffix(path, "/tags/list"):
		name := strings.TrimSuffix(path, "/tags/list")
		tags, ok := f.tags[name]
		if !ok {
			ociError(w, http.StatusNotFound, "NAME_UNKNOWN")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"name": name, "tags": tags})
	case strings.Contains(path, "/manifests/"):
		name, ref, _ := strings.Cut(path, "/manifests/")
		m, ok := f.manifests[name+":"+ref]
		if !ok {
			ociError(w, http.StatusNotFound, "MANIFEST_UNKNOWN")
			return
		}
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		w.Header().Set("Docker-Content-Digest", "sha256:"+sha256Hex(m))
		w.Header().Set("Content-Length", strconv.Itoa(len(m)))
		if r.Method != http.MethodHead {
			_, _ = w.Write(m)
		}
	case strings.Contains(path, "/blobs/"):
		_, d, _ := strings.Cut(path, "/blobs/")
		b, ok := f.blobs[d]
		if !ok {
			ociError(w, http.StatusNotFound, "BLOB_UNKNOWN")
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b)
	default:
		ociError(w, http.StatusNotFound, "NAME_UNKNOWN")
	}
}

func ociError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"errors":[{"code":%q,"message":"test registry"}]}`, code)
}

func (f *fakeRegistry) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[key]
}

func TestOCI(t *testing.T) {
	t.Parallel()
	const user, password = "robot", "oci-Secret-1"
	srv, reg := serveRegistry(t, user, password)
	host := strings.TrimPrefix(srv.URL, "https://")
	src := Source{Repository: "oci://" + host + "/charts/", Username: user, Password: password, CACertificate: certPEM(srv)}
	cache := NewCache(nil)

	for _, c := range []struct{ constraint, want, app string }{
		{"", "0.2.0", "0.2.0-app"},
		{"0.1.0", "0.1.0", "0.1.0-app"},
		{"~0.1", "0.1.0", "0.1.0-app"},
		{">= 0.3.0-0", "0.3.0-rc.1", "0.2.0-app"}, // packaged from the 0.2.0 sources
	} {
		r, err := cache.Resolve(t.Context(), src, "demo", c.constraint)
		if err != nil {
			t.Fatalf("Resolve(%q): %v", c.constraint, err)
		}
		if r.Version != c.want || r.AppVersion != c.app || len(r.Digest) != 64 || r.Chart != nil {
			t.Errorf("Resolve(%q) = %+v, want %s (%s) with a digest, no chart", c.constraint, r, c.want, c.app)
		}
	}
	_, err := cache.Resolve(t.Context(), src, "demo", "9.9.9")
	var nv *NoVersionError
	if !errors.As(err, &nv) || !slices.Equal(nv.Available, []string{"0.3.0-rc.1", "0.2.0", "0.1.0"}) {
		t.Errorf("Resolve(9.9.9) = %v, want a NoVersionError listing the semver tags", err)
	}
	if _, err := cache.Resolve(t.Context(), src, "absent", ""); !errors.As(err, new(*NotFoundError)) {
		t.Errorf("Resolve(absent) = %v, want a NotFoundError", err)
	}
	resolved, err := cache.Resolve(t.Context(), src, "demo", "")
	if err != nil {
		t.Fatal(err)
	}
	if n := reg.count("GET /v2/charts/demo/blobs/sha256:" + resolved.Digest); n != 0 {
		t.Errorf("Resolve pulled the chart layer %d times, want none", n)
	}

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			r, err := cache.Load(t.Context(), src, "demo", "0.2.0")
			if err != nil {
				t.Error(err)
				return
			}
			if r.Digest != resolved.Digest || r.AppVersion != "0.2.0-app" || !slices.Equal(dependencyNames(t, r), []string{"toolkit"}) {
				t.Errorf("Load = %+v, want digest %s and the bundled toolkit", r, resolved.Digest)
			}
		})
	}
	wg.Wait()
	if n := reg.count("GET /v2/charts/demo/tags/list"); n != 1 {
		t.Errorf("tags listed %d times, want 1", n)
	}
	if n := reg.count("GET /v2/charts/demo/blobs/sha256:" + resolved.Digest); n != 1 {
		t.Errorf("chart layer pulled %d times, want 1", n)
	}

	wrong := src
	wrong.Password = "wrong-Secret-2"
	_, err = NewCache(nil).Resolve(t.Context(), wrong, "demo", "")
	var fe *FetchError
	if !errors.As(err, &fe) || fe.StatusCode != http.StatusUnauthorized {
		t.Errorf("Resolve with a wrong password = %v, want a 401 FetchError", err)
	}
	if err != nil && (strings.Contains(err.Error(), wrong.Password) || strings.Contains(err.Error(), password)) {
		t.Errorf("error %q shows the password", err)
	}
}

func TestOCIReferences(t *testing.T) {
	t.Parallel()
	cases := []struct {
		repository, name, version, want string
	}{
		{"oci://registry.example.com/openstack-helm", "keystone", "", "registry.example.com/openstack-helm/keystone"},
		{"oci://registry.example.com/openstack-helm/", "keystone", "2026.1.0", "registry.example.com/openstack-helm/keystone:2026.1.0"},
		{"oci://localhost:5000", "nova", "1.0.0+build.1", "localhost:5000/nova:1.0.0+build.1"},
	}
	for _, c := range cases {
		o := newOCIRepo(Source{Repository: c.repository}, http.DefaultClient)
		if got := o.ref(c.name, c.version); got != c.want {
			t.Errorf("ref(%s, %s, %s) = %s, want %s", c.repository, c.name, c.version, got, c.want)
		}
	}

	cvs := tagVersions("keystone", []string{"2026.1.0", "2025.2.1", "2026.2.0-rc.1", "2025.2.0"})
	var got []string
	for _, cv := range cvs {
		got = append(got, cv.Version)
	}
	if want := []string{"2026.2.0-rc.1", "2026.1.0", "2025.2.1", "2025.2.0"}; !slices.Equal(got, want) {
		t.Errorf("tagVersions = %v, want %v", got, want)
	}
	cv, err := repo.IndexFile{Entries: map[string]repo.ChartVersions{"keystone": cvs}}.Get("keystone", "~2025.2")
	if err != nil || cv.Version != "2025.2.1" {
		t.Errorf("~2025.2 = %v, %v; want 2025.2.1", cv, err)
	}

	layer := sha256.Sum256([]byte("chart"))
	manifest := fmt.Sprintf(`{"layers":[{"mediaType":%q,"digest":"sha256:%s"}]}`, registry.ChartLayerMediaType, hex.EncodeToString(layer[:]))
	if got := chartLayerDigest([]byte(manifest)); got != hex.EncodeToString(layer[:]) {
		t.Errorf("chartLayerDigest = %q", got)
	}
}
