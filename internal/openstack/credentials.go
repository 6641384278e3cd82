package openstack

import (
	"encoding/base64"
	"fmt"
	"io"
	"sort"
)

// Secrets the releases share that are not a user's password.
const (
	// SecretMemcache is endpoints.oslo_cache.auth.memcache_secret_key of every chart that
	// caches tokens.
	SecretMemcache = "oslo_cache/memcache_secret_key"
	// SecretErlangCookie is the cookie rabbitmq's nodes share.
	SecretErlangCookie = "rabbitmq/erlang_cookie"
	// SecretRabbitGuest is the password of rabbitmq's guest user.
	SecretRabbitGuest = "rabbitmq/guest"
	// SecretMetadataProxy is the secret nova's metadata API and neutron's metadata agent
	// share.
	SecretMetadataProxy = "nova/metadata_proxy_shared_secret"
)

// Credentials are the passwords and secrets of a set of releases, by key (User.CredentialKey
// or a Secret* constant). They are generated once and kept by the caller: the same
// credentials give the same values, so nothing is upgraded while they stay.
type Credentials map[string]string

// CredentialKeys lists, sorted, the credentials the enabled services need.
func CredentialKeys(enabled []string) []string {
	keys := map[string]bool{}
	for _, name := range enabled {
		s, ok := Lookup(name)
		if !ok {
			continue
		}
		for _, u := range s.Users {
			keys[u.CredentialKey()] = true
		}
		for _, secret := range s.secrets() {
			keys[secret] = true
		}
	}
	out := make([]string, 0, len(keys))
	for k := range keys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// secrets are the shared secrets, other than users' passwords, that the service's values
// carry.
func (s Service) secrets() []string {
	switch s.Name {
	case "rabbitmq":
		return []string{SecretErlangCookie, SecretRabbitGuest}
	case "nova", "neutron":
		return []string{SecretMemcache, SecretMetadataProxy}
	case "glance", "placement", "cinder", "heat":
		return []string{SecretMemcache}
	}
	return nil
}

// Complete returns the credentials the enabled services need: those of c, and for each
// one missing a new random one read from random (crypto/rand.Reader in production). What
// c holds for services no longer enabled is dropped.
func (c Credentials) Complete(enabled []string, random io.Reader) (Credentials, error) {
	out := Credentials{}
	for _, key := range CredentialKeys(enabled) {
		if v, ok := c[key]; ok && v != "" {
			out[key] = v
			continue
		}
		v, err := NewSecret(random)
		if err != nil {
			return nil, fmt.Errorf("generating %s: %w", key, err)
		}
		out[key] = v
	}
	return out, nil
}

// NewSecret is 32 random bytes from random, base64url-encoded without padding: letters,
// digits, '-' and '_' only, so that it needs no escaping in the URLs the charts build
// (mysql+pymysql://user:password@host/...).
func NewSecret(random io.Reader) (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
