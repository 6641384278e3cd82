package chartsource

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/repo"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// ociRepo is an OCI registry prefix: chart <name> is the repository <prefix>/<name>, its
// versions are the repository's tags.
type ociRepo struct {
	src    Source
	prefix string // host[:port]/path, without oci:// and a trailing slash
	client *http.Client
	tags   memo[repo.ChartVersions]
	meta   memo[Resolved]
}

func newOCIRepo(src Source, client *http.Client) *ociRepo {
	prefix := strings.TrimSuffix(strings.TrimPrefix(src.Repository, registry.OCIScheme+"://"), "/")
	return &ociRepo{src: src, prefix: prefix, client: client}
}

func (o *ociRepo) String() string { return "registry " + redactURL(o.src.Repository) }

// ref is the registry reference of a chart, with the tag when version is set.
func (o *ociRepo) ref(name, version string) string {
	r := o.prefix + "/" + name
	if version != "" {
		r += ":" + version
	}
	return r
}

// registryClient binds Helm's registry client, whose calls take no context, to ctx
// through its transport.
func (o *ociRepo) registryClient(ctx context.Context) (*registry.Client, error) {
	base := o.client.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc := *o.client
	hc.Transport = ctxTransport{ctx: ctx, base: base}
	opts := []registry.ClientOption{registry.ClientOptHTTPClient(&hc), registry.ClientOptEnableCache(true)}
	if o.src.Username != "" || o.src.Password != "" {
		opts = append(opts, registry.ClientOptBasicAuth(o.src.Username, o.src.Password))
	}
	return registry.NewClient(opts...)
}

func (o *ociRepo) versions(ctx context.Context, name string) (repo.ChartVersions, error) {
	return o.tags.do(ctx, name, func(ctx context.Context) (repo.ChartVersions, error) {
		rc, err := o.registryClient(ctx)
		if err != nil {
			return nil, err
		}
		tags, err := rc.Tags(o.ref(name, ""))
		if err != nil {
			if isNotFound(err) {
				return nil, &NotFoundError{Chart: name, Source: o.String()}
			}
			return nil, o.fetchError(name, err)
		}
		return tagVersions(name, tags), nil
	})
}

// tagVersions turns registry tags (semver only, newest first, as Tags returns them) into
// index entries.
func tagVersions(name string, tags []string) repo.ChartVersions {
	cvs := make(repo.ChartVersions, 0, len(tags))
	for _, tag := range tags {
		cvs = append(cvs, &repo.ChartVersion{Metadata: &chart.Metadata{Name: name, Version: tag, APIVersion: chart.APIVersionV2}})
	}
	sortNewestFirst(cvs)
	return cvs
}

// describe reads the manifest and the chart's config blob (its Chart.yaml), not the
// archive.
func (o *ociRepo) describe(ctx context.Context, cv *repo.ChartVersion) (Resolved, error) {
	return o.meta.do(ctx, cv.Name+":"+cv.Version, func(ctx context.Context) (Resolved, error) {
		rc, err := o.registryClient(ctx)
		if err != nil {
			return Resolved{}, err
		}
		res, err := rc.Pull(o.ref(cv.Name, cv.Version),
			registry.PullOptWithChart(false), registry.PullOptWithProv(true), registry.PullOptIgnoreMissingProv(true))
		if err != nil {
			return Resolved{}, o.fetchError(cv.Name, err)
		}
		r := Resolved{Name: cv.Name, Version: cv.Version, Digest: chartLayerDigest(res.Manifest.Data)}
		if res.Chart != nil && res.Chart.Meta != nil {
			r.AppVersion = res.Chart.Meta.AppVersion
		}
		return r, nil
	})
}

func (o *ociRepo) fetch(ctx context.Context, cv *repo.ChartVersion) (archive, error) {
	rc, err := o.registryClient(ctx)
	if err != nil {
		return archive{}, err
	}
	ref := o.ref(cv.Name, cv.Version)
	res, err := rc.Pull(ref, registry.PullOptWithChart(true))
	if err != nil {
		return archive{}, o.fetchError(cv.Name, err)
	}
	got := sha256Hex(res.Chart.Data)
	if want := normalizeDigest(res.Chart.Digest); want != got {
		return archive{}, &DigestError{Chart: cv.Name, Version: cv.Version, URL: registry.OCIScheme + "://" + ref, Want: want, Got: got}
	}
	return archiveOf(res.Chart.Data, got), nil
}

func (o *ociRepo) fetchError(name string, err error) error {
	return &FetchError{URL: redactURL(registry.OCIScheme + "://" + o.ref(name, "")), StatusCode: statusCode(err), Err: err}
}

// chartLayerDigest finds the chart archive's digest in an OCI manifest.
func chartLayerDigest(manifest []byte) string {
	var m struct {
		Layers []struct {
			MediaType string `json:"mediaType"`
			Digest    string `json:"digest"`
		} `json:"layers"`
	}
	if json.Unmarshal(manifest, &m) != nil {
		return ""
	}
	for _, l := range m.Layers {
		if l.MediaType == registry.ChartLayerMediaType || l.MediaType == registry.LegacyChartLayerMediaType {
			return normalizeDigest(l.Digest)
		}
	}
	return ""
}

func isNotFound(err error) bool { return statusCode(err) == http.StatusNotFound }

func statusCode(err error) int {
	if er := (*errcode.ErrorResponse)(nil); errors.As(err, &er) {
		return er.StatusCode
	}
	return 0
}

// ctxTransport gives requests that Helm's registry client makes with
// context.Background() the caller's context.
type ctxTransport struct {
	ctx  context.Context //nolint:containedctx // the registry client has no other way in
	base http.RoundTripper
}

func (t ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.base.RoundTrip(req.WithContext(t.ctx))
}
