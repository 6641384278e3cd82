package openstack

import "strings"

// Settings are what every release is told about the cloud it is part of.
type Settings struct {
	// Region is the OpenStack region of every endpoint, e.g. RegionOne.
	Region string
	// ClusterDomain is the tenant cluster's DNS domain (cluster.local), which the charts
	// use to build their internal host names.
	ClusterDomain string
	// Public says how users outside the cluster reach the APIs: the public endpoints the
	// charts register and build user-facing URLs from.
	Public Public
}

// Values are the values the provider gives a service's release so that it agrees with
// every other release: the cluster domain, the region and password of every user it
// names, the shared secrets and, when replicas is not nil, the replicas of its API and
// server components, and with set.Public.Domain the public host, scheme and port of the
// endpoints it publishes and of identity (see Public). The user's own values are merged
// over them.
func (s Service) Values(set Settings, c Credentials, replicas *int64) map[string]any {
	v := map[string]any{}
	put(v, set.ClusterDomain, "endpoints", "cluster_domain_suffix")
	for _, u := range s.Users {
		put(v, c[u.CredentialKey()], "endpoints", u.Endpoint, "auth", u.Key, "password")
		if u.Kind == KindIdentity {
			put(v, set.Region, "endpoints", u.Endpoint, "auth", u.Key, "region_name")
		}
	}
	for _, secret := range s.secrets() {
		for _, at := range secretPaths[secret+"@"+s.Name] {
			put(v, c[secret], strings.Split(at, ".")...)
		}
	}
	if replicas != nil {
		for _, key := range s.ReplicaKeys {
			put(v, *replicas, "pod", "replicas", key)
		}
	}
	s.putPublic(v, set.Public)
	return v
}

// secretPaths are where, by secret and service, a chart's values carry a shared secret.
var secretPaths = map[string][]string{
	SecretErlangCookie + "@rabbitmq": {"endpoints.oslo_messaging.auth.erlang_cookie"},
	SecretRabbitGuest + "@rabbitmq":  {"endpoints.oslo_messaging.auth.guest.password"},
	SecretMemcache + "@glance":       {"endpoints.oslo_cache.auth.memcache_secret_key"},
	SecretMemcache + "@placement":    {"endpoints.oslo_cache.auth.memcache_secret_key"},
	SecretMemcache + "@nova":         {"endpoints.oslo_cache.auth.memcache_secret_key"},
	SecretMemcache + "@neutron":      {"endpoints.oslo_cache.auth.memcache_secret_key"},
	SecretMemcache + "@cinder":       {"endpoints.oslo_cache.auth.memcache_secret_key"},
	SecretMemcache + "@heat":         {"endpoints.oslo_cache.auth.memcache_secret_key"},
	SecretMetadataProxy + "@nova":    {"conf.nova.neutron.metadata_proxy_shared_secret"},
	SecretMetadataProxy + "@neutron": {
		"conf.metadata_agent.DEFAULT.metadata_proxy_shared_secret",
		"conf.ovn_agent.DEFAULT.metadata_proxy_shared_secret",
		"conf.ovn_metadata_agent.DEFAULT.metadata_proxy_shared_secret",
	},
}

// put sets v at path, making the maps on the way; an empty string is not set.
func put(m map[string]any, v any, path ...string) {
	if s, ok := v.(string); ok && s == "" {
		return
	}
	for _, key := range path[:len(path)-1] {
		next, ok := m[key].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[key] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}
