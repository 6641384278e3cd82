package openstack

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Public says how users outside the tenant cluster reach the OpenStack APIs.
//
// The provider gives each chart the public host, scheme and port of the endpoints it
// publishes (registers in keystone's catalogue, or builds a user-facing URL from), and
// every chart the public identity endpoint, as upstream's gateway-tls.yaml overrides do:
// endpoints.<endpoint>.host_fqdn_override.public.host, endpoints.<endpoint>.scheme.public
// and endpoints.<endpoint>.port.<port>.public. It does not expose the APIs: something in
// the tenant cluster (an Ingress controller, a Gateway) must route those host names to the
// charts' Services.
type Public struct {
	// Domain: when set, each API's public host is <hosts.public of that endpoint>.<Domain>
	// (keystone.cloud.example.com); "" keeps the charts' defaults (in-cluster names).
	Domain string
	// Scheme of the public endpoints: "https" or "http" ("" = https when Domain is set).
	Scheme string
	// Port of the public endpoints; 0 = 443 for https, 80 for http.
	Port int64
}

// Check refuses a public configuration the charts cannot use: a domain that is no DNS
// name, a scheme other than http or https, a port out of range, and a scheme or port
// without a domain (they would be ignored).
func (p Public) Check() error {
	var errs []error
	if p.Domain == "" {
		if p.Scheme != "" || p.Port != 0 {
			errs = append(errs, errors.New("a public scheme or port needs a public domain"))
		}
	} else if err := checkDomain(p.Domain); err != nil {
		errs = append(errs, err)
	}
	if p.Scheme != "" && p.Scheme != "http" && p.Scheme != "https" {
		errs = append(errs, fmt.Errorf("public scheme %q: want https or http", p.Scheme))
	}
	if p.Port < 0 || p.Port > 65535 {
		errs = append(errs, fmt.Errorf("public port %d: want 1 to 65535 (0 for the scheme's default)", p.Port))
	}
	return errors.Join(errs...)
}

// checkDomain accepts a lower-case DNS name of at least two labels, as Kubernetes accepts
// in an Ingress or HTTPRoute host (RFC 1123), without a trailing dot.
func checkDomain(d string) error {
	bad := func(why string) error { return fmt.Errorf("public domain %q: %s", d, why) }
	if len(d) > 253-len("novncproxy.") {
		return bad("too long for the API host names under it")
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return bad("want a DNS domain such as cloud.example.com")
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return bad("every label must have 1 to 63 characters (no leading, trailing or double dot)")
		}
		for i, r := range l {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			case r == '-' && i > 0 && i < len(l)-1:
			default:
				return bad("want lower-case letters, digits, dots and inner hyphens")
			}
		}
	}
	return nil
}

// schemePort is the public scheme and port with their defaults.
func (p Public) schemePort() (string, int64) {
	scheme := p.Scheme
	if scheme == "" {
		scheme = "https"
	}
	port := p.Port
	if port == 0 {
		port = 80
		if scheme == "https" {
			port = 443
		}
	}
	return scheme, port
}

// publicEndpoint is an endpoint users reach from outside the cluster, as the charts name it.
type publicEndpoint struct {
	// Host is the endpoint's hosts.public in the charts (hosts.default for identity, which
	// has no hosts.public): the first label of its public host name.
	Host string
	// Port is the key under the endpoint's port that its public port is looked up by.
	Port string
}

// publicEndpoints are the endpoints users reach, by their key under endpoints.
var publicEndpoints = map[string]publicEndpoint{
	"identity":            {"keystone", "api"},
	"image":               {"glance", "api"},
	"placement":           {"placement", "api"},
	"compute":             {"nova", "api"},
	"compute_novnc_proxy": {"novncproxy", "novnc_proxy"},
	"network":             {"neutron", "api"},
	"volumev3":            {"cinder", "api"},
	"orchestration":       {"heat", "api"},
	"cloudformation":      {"cloudformation", "api"},
	"dashboard":           {"horizon", "web"},
}

// published are, by service, the endpoints its chart publishes: those its ks-endpoints
// job (keystone's bootstrap for identity) registers in the catalogue as public, nova's
// noVNC proxy (novncproxy_base_url, the console URL users open) and horizon's dashboard.
// nova's metadata API (reached by instances through neutron) and its SPICE and serial
// proxies (off by default) are not public.
var published = map[string][]string{
	"keystone":  {"identity"},
	"glance":    {"image"},
	"placement": {"placement"},
	"nova":      {"compute", "compute_novnc_proxy"},
	"neutron":   {"network"},
	"cinder":    {"volumev3"},
	"heat":      {"orchestration", "cloudformation"},
	"horizon":   {"dashboard"},
}

// publicAlso are the other services' endpoints whose public URL a chart uses: glance
// allows cross-origin requests from the dashboard's public URL.
var publicAlso = map[string][]string{
	"glance": {"dashboard"},
}

// publicEndpointsOf lists the endpoints whose public host, scheme and port s's values
// carry: what it publishes, identity (every OpenStack chart names it, and all must agree on
// keystone's public URL) and publicAlso.
func (s Service) publicEndpointsOf() []string {
	own, ok := published[s.Name]
	if !ok {
		return nil
	}
	out := append([]string{}, own...)
	for _, ep := range append([]string{"identity"}, publicAlso[s.Name]...) {
		if !slices.Contains(out, ep) {
			out = append(out, ep)
		}
	}
	return out
}

// putPublic writes the public host, scheme and port of s's public endpoints; nothing
// without a domain.
func (s Service) putPublic(v map[string]any, p Public) {
	if p.Domain == "" {
		return
	}
	scheme, port := p.schemePort()
	for _, name := range s.publicEndpointsOf() {
		ep := publicEndpoints[name]
		put(v, ep.Host+"."+p.Domain, "endpoints", name, "host_fqdn_override", "public", "host")
		put(v, scheme, "endpoints", name, "scheme", "public")
		// A float64, as YAML numbers are: helm-toolkit prints ports with %1.f, which
		// renders an int64 as %!f(int64=443).
		put(v, float64(port), "endpoints", name, "port", ep.Port, "public")
	}
}

// PublicHosts are the host names under p.Domain that s publishes (keystone.cloud.example.com
// for keystone): the names to route to its Services and to put in DNS. None without a
// domain, nor for a service that publishes no API.
func (s Service) PublicHosts(p Public) []string {
	if p.Domain == "" {
		return nil
	}
	var hosts []string
	for _, name := range published[s.Name] {
		hosts = append(hosts, publicEndpoints[name].Host+"."+p.Domain)
	}
	return hosts
}

// KeystoneURL is the public identity URL, the auth_url of users' clouds.yaml and what
// keystone registers as its public endpoint. With set.Public.Domain it is
// <scheme>://keystone.<domain>[:<port>]/v3, the port left out when it is the scheme's
// default. Without, it is what the charts' defaults give the public identity endpoint in
// namespace: http://keystone.<namespace>.svc.<cluster domain>/v3 (cluster.local when
// set.ClusterDomain is empty, as the charts default). The charts create no Service named
// keystone (their API Service is keystone-api), so that URL only resolves where something
// else provides the name; in-cluster clients use KeystoneInternalURL.
func KeystoneURL(set Settings, namespace string) string {
	ep := publicEndpoints["identity"]
	if set.Public.Domain == "" {
		return "http://" + ep.Host + "." + namespace + ".svc." + clusterDomain(set) + "/v3"
	}
	scheme, port := set.Public.schemePort()
	host := ep.Host + "." + set.Public.Domain
	defaultPort := scheme == "http" && port == 80 || scheme == "https" && port == 443
	if !defaultPort {
		host += ":" + strconv.FormatInt(port, 10)
	}
	return scheme + "://" + host + "/v3"
}

// KeystoneInternalURL is the internal identity URL in namespace, which the charts' own
// clients use: http://keystone-api.<namespace>.svc.<cluster domain>:5000/v3. Public
// settings do not change it.
func KeystoneInternalURL(set Settings, namespace string) string {
	return "http://keystone-api." + namespace + ".svc." + clusterDomain(set) + ":5000/v3"
}

func clusterDomain(set Settings) string {
	if set.ClusterDomain == "" {
		return "cluster.local"
	}
	return set.ClusterDomain
}
