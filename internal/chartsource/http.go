package chartsource

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/repo"
)

// maxDownload bounds an index or an archive, as Helm bounds a decompressed chart.
const maxDownload = 100 << 20

// httpRepo is a chart repository served over HTTP(S): an index.yaml and the archives it
// lists, at URLs relative to the repository or absolute.
type httpRepo struct {
	src    Source
	base   string
	client *http.Client
	index  memo[*repo.IndexFile]
}

func newHTTPRepo(src Source, client *http.Client) *httpRepo {
	return &httpRepo{src: src, base: strings.TrimSuffix(src.Repository, "/"), client: client}
}

func (h *httpRepo) String() string { return "repository " + redactURL(h.base) }

func (h *httpRepo) versions(ctx context.Context, name string) (repo.ChartVersions, error) {
	idx, err := h.index.do(ctx, "", h.loadIndex)
	if err != nil {
		return nil, err
	}
	return idx.Entries[name], nil
}

func (h *httpRepo) loadIndex(ctx context.Context) (*repo.IndexFile, error) {
	u, err := repo.ResolveReferenceURL(h.base, "index.yaml")
	if err != nil {
		return nil, &FetchError{URL: redactURL(h.base), Err: errors.New("invalid repository URL")}
	}
	data, err := h.get(ctx, u)
	if err != nil {
		return nil, err
	}
	// LoadIndexFile reads only files; it validates the entries and sorts them newest first.
	f, err := os.CreateTemp("", "qumulus-chart-index-*.yaml")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.Remove(f.Name()) }()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	idx, err := repo.LoadIndexFile(f.Name())
	if err != nil {
		// Drop the wrapping that names the temporary file.
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		return nil, &FetchError{URL: redactURL(u), Err: fmt.Errorf("invalid repository index: %w", err)}
	}
	return idx, nil
}

func (h *httpRepo) describe(_ context.Context, cv *repo.ChartVersion) (Resolved, error) {
	return Resolved{Name: cv.Name, Version: cv.Version, AppVersion: cv.AppVersion, Digest: normalizeDigest(cv.Digest)}, nil
}

func (h *httpRepo) fetch(ctx context.Context, cv *repo.ChartVersion) (archive, error) {
	if len(cv.URLs) == 0 {
		return archive{}, fmt.Errorf("%s lists chart %s %s without a URL", h, cv.Name, cv.Version)
	}
	u, err := repo.ResolveReferenceURL(h.base, cv.URLs[0])
	if err != nil {
		return archive{}, fmt.Errorf("%s lists chart %s %s at an invalid URL", h, cv.Name, cv.Version)
	}
	data, err := h.get(ctx, u)
	if err != nil {
		return archive{}, err
	}
	got := sha256Hex(data)
	if want := normalizeDigest(cv.Digest); want != "" && want != got {
		return archive{}, &DigestError{Chart: cv.Name, Version: cv.Version, URL: redactURL(u), Want: want, Got: got}
	}
	return archiveOf(data, got), nil
}

func (h *httpRepo) get(ctx context.Context, rawURL string) ([]byte, error) {
	shown := redactURL(rawURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, &FetchError{URL: shown, Err: errors.New("invalid URL")}
	}
	// Like Helm, credentials go only to the repository's own host, not to archives elsewhere.
	if (h.src.Username != "" || h.src.Password != "") && sameHost(h.base, rawURL) {
		req.SetBasicAuth(h.src.Username, h.src.Password)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		// url.Error repeats the URL.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &FetchError{URL: shown, Err: err}
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, &FetchError{URL: shown, StatusCode: resp.StatusCode, Err: errors.New(resp.Status)}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxDownload+1))
	if err != nil {
		return nil, &FetchError{URL: shown, StatusCode: resp.StatusCode, Err: err}
	}
	if len(data) > maxDownload {
		return nil, &FetchError{URL: shown, StatusCode: resp.StatusCode, Err: fmt.Errorf("larger than %d bytes", maxDownload)}
	}
	return data, nil
}

func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Scheme == ub.Scheme && ua.Host == ub.Host
}

func archiveOf(data []byte, digest string) archive {
	return archive{digest: digest, load: func() (*chart.Chart, error) {
		return loader.LoadArchive(bytes.NewReader(data))
	}}
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func normalizeDigest(d string) string {
	return strings.ToLower(strings.TrimPrefix(d, "sha256:"))
}
