package openstack

import "strings"

// The OpenStack admin, whose password is every chart's endpoints.identity.auth.admin.
var (
	AdminUsername      = identityAdmin.Username
	AdminCredentialKey = identityAdmin.CredentialKey()
)

// RecoverCredentials reads back from a service's release values the credentials that
// Service.Values wrote there: what an import keeps so that the next apply changes nothing.
// Keys whose value is absent or not a string are left out.
func (s Service) RecoverCredentials(values map[string]any) Credentials {
	c := Credentials{}
	for _, u := range s.Users {
		if v, ok := stringAt(values, "endpoints", u.Endpoint, "auth", u.Key, "password"); ok {
			c[u.CredentialKey()] = v
		}
	}
	for _, secret := range s.secrets() {
		for _, at := range secretPaths[secret+"@"+s.Name] {
			if v, ok := stringAt(values, strings.Split(at, ".")...); ok {
				c[secret] = v
				break
			}
		}
	}
	return c
}

func stringAt(m map[string]any, path ...string) (string, bool) {
	for _, key := range path[:len(path)-1] {
		next, ok := m[key].(map[string]any)
		if !ok {
			return "", false
		}
		m = next
	}
	v, ok := m[path[len(path)-1]].(string)
	return v, ok && v != ""
}
