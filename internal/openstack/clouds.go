package openstack

import (
	"errors"
	"fmt"

	"sigs.k8s.io/yaml"
)

// CloudAuth is what an OpenStack client needs to log in to a cloud with a password.
type CloudAuth struct {
	// AuthURL is keystone's URL, with its version (KeystoneURL).
	AuthURL string
	// Region is the region of the endpoints the client uses ("" = the client's default).
	Region string
	// Username and Password of the user; ProjectName the project it works in.
	Username, Password, ProjectName string
	// UserDomain and ProjectDomain are the names of the user's and the project's domains
	// ("" = default, the domain keystone's bootstrap creates and the charts' users are in).
	UserDomain, ProjectDomain string
	// Interface is the kind of endpoint the client uses: public, internal or admin
	// ("" = public).
	Interface string
	// Insecure turns off the verification of the endpoints' TLS certificates
	// (verify: false).
	Insecure bool
}

// clouds.yaml, as openstacksdk and python-openstackclient read it.
type cloudsFile struct {
	Clouds map[string]cloudEntry `json:"clouds"`
}

type cloudEntry struct {
	Auth               cloudAuthEntry `json:"auth"`
	RegionName         string         `json:"region_name,omitempty"`
	Interface          string         `json:"interface"`
	IdentityAPIVersion int            `json:"identity_api_version"`
	Verify             *bool          `json:"verify,omitempty"`
}

type cloudAuthEntry struct {
	AuthURL           string `json:"auth_url"`
	Username          string `json:"username"`
	Password          string `json:"password"`
	ProjectName       string `json:"project_name,omitempty"`
	UserDomainName    string `json:"user_domain_name"`
	ProjectDomainName string `json:"project_domain_name,omitempty"`
}

// CloudsYAML renders an OpenStack client's clouds.yaml with one cloud, named cloud, that
// logs in with auth through keystone v3:
//
//	clouds:
//	  <cloud>:
//	    auth: {auth_url, username, password, project_name, user_domain_name, project_domain_name}
//	    region_name: <region>
//	    interface: public
//	    identity_api_version: 3
//
// and verify: false when auth.Insecure. Every string is quoted as YAML needs, so any
// password round-trips. The cloud name, auth URL and user name are required.
func CloudsYAML(cloud string, auth CloudAuth) ([]byte, error) {
	var errs []error
	if cloud == "" {
		errs = append(errs, errors.New("clouds.yaml: the cloud has no name"))
	}
	if auth.AuthURL == "" {
		errs = append(errs, errors.New("clouds.yaml: no auth URL"))
	}
	if auth.Username == "" {
		errs = append(errs, errors.New("clouds.yaml: no user name"))
	}
	iface := auth.Interface
	switch iface {
	case "":
		iface = "public"
	case "public", "internal", "admin":
	default:
		errs = append(errs, fmt.Errorf("clouds.yaml: interface %q: want public, internal or admin", auth.Interface))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	entry := cloudEntry{
		Auth: cloudAuthEntry{
			AuthURL:           auth.AuthURL,
			Username:          auth.Username,
			Password:          auth.Password,
			ProjectName:       auth.ProjectName,
			UserDomainName:    orDefault(auth.UserDomain),
			ProjectDomainName: auth.ProjectDomain,
		},
		RegionName:         auth.Region,
		Interface:          iface,
		IdentityAPIVersion: 3,
	}
	if auth.ProjectName != "" {
		entry.Auth.ProjectDomainName = orDefault(auth.ProjectDomain)
	}
	if auth.Insecure {
		f := false
		entry.Verify = &f
	}
	return yaml.Marshal(cloudsFile{Clouds: map[string]cloudEntry{cloud: entry}})
}

func orDefault(domain string) string {
	if domain == "" {
		return "default"
	}
	return domain
}
