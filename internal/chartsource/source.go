// Package chartsource resolves Helm charts to versions and loads them from a chart
// repository (HTTP(S) index.yaml or an OCI registry) or a local directory of chart folders
// and archives, fetching each index and archive once per provider run.
package chartsource

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
)

// Source says where charts come from: exactly one of Repository (an http(s):// Helm
// repository URL, or an oci:// registry prefix) and Path (a local directory of chart folders
// or .tgz files). It never shows the password when printed or logged.
type Source struct {
	Repository, Path string
	// Username and Password authenticate to the repository (basic auth, registry login).
	// Without them an OCI registry gets what `helm registry login` or docker stored, as
	// with Helm.
	Username, Password string
	// CACertificate is PEM, trusted in addition to the system pool.
	CACertificate         string
	InsecureSkipTLSVerify bool
}

// Resolved is one chart resolved to a version. Digest is the hex sha256 of the chart
// archive when known (never for a chart folder). Chart is set by Load only.
type Resolved struct {
	Name, Version, AppVersion, Digest string
	Chart                             *chart.Chart
}

// Validate reports a Source that names no location, both, or an unsupported scheme.
func (s Source) Validate() error {
	switch {
	case s.Repository == "" && s.Path == "":
		return errors.New("chart source: one of repository and path is required")
	case s.Repository != "" && s.Path != "":
		return errors.New("chart source: repository and path are mutually exclusive")
	case s.Path != "":
		if s.Username != "" || s.Password != "" || s.CACertificate != "" || s.InsecureSkipTLSVerify {
			return errors.New("chart source: credentials and TLS settings apply to a repository, not to a path")
		}
		return nil
	}
	u, err := url.Parse(s.Repository)
	if err != nil {
		// url.Parse quotes the input, which may hold a password.
		return errors.New("chart source: repository is not a URL")
	}
	switch u.Scheme {
	case "http", "https", "oci":
	default:
		return fmt.Errorf("chart source: repository %s: scheme must be http, https or oci", u.Redacted())
	}
	if u.Host == "" {
		return fmt.Errorf("chart source: repository %s has no host", u.Redacted())
	}
	return nil
}

func (s Source) isOCI() bool { return strings.HasPrefix(s.Repository, "oci://") }

func (s Source) String() string {
	if s.Path != "" {
		return "path " + s.Path
	}
	return "repository " + redactURL(s.Repository)
}

// GoString keeps %#v from printing the password.
func (s Source) GoString() string { return s.String() }

// MarshalJSON keeps JSON loggers (tflog, hclog) from printing the password.
func (s Source) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// LogValue keeps log/slog from printing the password.
func (s Source) LogValue() slog.Value { return slog.StringValue(s.String()) }

// key identifies a source with everything that changes what a fetch returns; the password
// only through the hash.
func (s Source) key() string {
	loc := s.Repository
	if s.Path != "" {
		if abs, err := filepath.Abs(s.Path); err == nil {
			loc = "file://" + abs
		}
	} else {
		loc = strings.TrimSuffix(loc, "/")
	}
	h := sha256.New()
	for _, f := range []string{loc, s.Username, s.Password, s.CACertificate, fmt.Sprint(s.InsecureSkipTLSVerify)} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<invalid URL>"
	}
	return u.Redacted()
}

func validName(name string) error {
	if name == "" || strings.ContainsAny(name, `/\:@`) || name == "." || name == ".." {
		return fmt.Errorf("invalid chart name %q", name)
	}
	return nil
}
