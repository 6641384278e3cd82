package validators

import (
	"net/netip"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"k8s.io/apimachinery/pkg/util/validation"
)

// DNS1035Label accepts what Kamaji accepts as a TenantControlPlane name (it becomes a
// Service name): at most 63 lower-case letters, digits and '-', starting with a letter.
func DNS1035Label() validator.String {
	return kubeString{"a DNS-1035 label (lower-case letters, digits and '-', starting with a letter, at most 63 characters)", validation.IsDNS1035Label}
}

// CIDR accepts an IPv4 or IPv6 network in CIDR notation whose host bits are zero
// (10.96.0.0/16, fd00:10:96::/112).
func CIDR() validator.String {
	return kubeString{"a network in CIDR notation (e.g. 10.96.0.0/16)", func(s string) []string {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return []string{"not a CIDR: write an address, '/', and a prefix length"}
		}
		if p.Masked() != p {
			return []string{"host bits are set: the network is " + p.Masked().String()}
		}
		return nil
	}}
}

// IP accepts an IPv4 or IPv6 address.
func IP() validator.String {
	return kubeString{"an IP address", func(s string) []string {
		if a, err := netip.ParseAddr(s); err != nil || a.Zone() != "" {
			return []string{"not an IPv4 or IPv6 address"}
		}
		return nil
	}}
}

// Host accepts an IP address or a DNS-1123 subdomain (a host name).
func Host() validator.String {
	return kubeString{"an IP address or a host name", func(s string) []string {
		if _, err := netip.ParseAddr(s); err == nil {
			return nil
		}
		return validation.IsDNS1123Subdomain(s)
	}}
}

// ClusterID accepts the ID of a qumulus_cluster: "<namespace>/<name>", a DNS-1123 label
// and a DNS-1035 label.
func ClusterID() validator.String {
	return kubeString{"<namespace>/<name> of a cluster (e.g. tenant-acme/prod)", func(s string) []string {
		ns, name, ok := strings.Cut(s, "/")
		if !ok {
			return []string{"there is no '/' between namespace and name"}
		}
		var problems []string
		for _, p := range validation.IsDNS1123Label(ns) {
			problems = append(problems, "namespace: "+p)
		}
		for _, p := range validation.IsDNS1035Label(name) {
			problems = append(problems, "name: "+p)
		}
		return problems
	}}
}
