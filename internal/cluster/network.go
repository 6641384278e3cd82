package cluster

import (
	"fmt"
	"net/netip"
	"strconv"

	"k8s.io/apimachinery/pkg/util/version"
)

// Kamaji's defaults of the tenant cluster's networks (the TenantControlPlane CRD's).
const (
	DefaultServiceCIDR = "10.96.0.0/16"
	DefaultPodCIDR     = "10.244.0.0/16"
	DefaultPort        = 6443
)

// Defaults of kube-controller-manager that the pod network has to fit.
const (
	defaultNodeMaskIPv4 = 24
	defaultNodeMaskIPv6 = 64
	// maxNodeMaskDiffIPv6 is the most bits an IPv6 pod network may have over a node's
	// range: kube-controller-manager's CIDR allocator refuses more.
	maxNodeMaskDiffIPv6 = 16
	// maxServiceHostBits is the largest Service network kube-apiserver takes before v1.34
	// (2^20 addresses), when its allocator still writes the old bitmap too.
	maxServiceHostBits = 20
)

// unboundedServiceRange is the first Kubernetes version whose API server takes a Service
// network of any size (DisableAllocatorDualWrite on by default).
var unboundedServiceRange = version.MajorMinor(1, 34)

// Problem is a rule of Kamaji, kubeadm or Kubernetes that a cluster's settings break,
// found before anything is applied.
type Problem struct {
	// Field is the setting in the provider's terms, dotted from the top (e.g.
	// "network.pod_cidrs"); Index is the list entry, -1 for none.
	Field   string
	Index   int
	Summary string
	Detail  string
	// Assumed is true when the problem involves a value the configuration does not set
	// (Kamaji's default or the value the cluster has now).
	Assumed bool
}

// NetworkFacts is what the network rules look at. A nil list is unknown (not checked),
// an empty one is none.
type NetworkFacts struct {
	ServiceCIDRs, PodCIDRs []string
	// ServiceCIDRsFrom and PodCIDRsFrom say where the lists came from when the
	// configuration does not set them ("Kamaji's default", "the cluster's current
	// networks"); "" when configured.
	ServiceCIDRsFrom, PodCIDRsFrom string
	DNSServiceIPs                  []string
	AdvertiseAddress               string
	// Port is the API server's port, KonnectivityPort the Konnectivity server's (nil
	// when there is no Konnectivity or a port is unknown); PortFrom is like
	// ServiceCIDRsFrom.
	Port, KonnectivityPort *int64
	PortFrom               string
	// ControllerManagerArgs are kube-controller-manager's extra arguments, looked at only
	// when ControllerManagerArgsKnown.
	ControllerManagerArgs      []string
	ControllerManagerArgsKnown bool
	// Version is the control plane's Kubernetes version, nil when unknown.
	Version *version.Version
}

type network struct {
	field string
	index int
	cidr  netip.Prefix
	from  string
}

func (n network) String() string {
	if n.from != "" {
		return fmt.Sprintf("%s (%s)", n.cidr, n.from)
	}
	return fmt.Sprintf("%s (%s[%d])", n.cidr, n.field, n.index)
}

func networks(field string, cidrs []string, from string) []network {
	var out []network
	for i, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil && p.Masked() == p {
			out = append(out, network{field, i, p, from})
		}
	}
	return out
}

// CheckNetwork applies the rules that span the tenant cluster's network settings:
// one network per IP family; pod and Service networks that do not overlap; cluster DNS
// addresses inside a Service network and free; an advertise address workers can reach; a
// Konnectivity port that is not the API server's; pod networks kube-controller-manager
// can cut into nodes' ranges; Service networks the API server takes.
func CheckNetwork(f NetworkFacts) []Problem {
	var out []Problem
	for _, l := range []struct {
		field, from string
		cidrs       []string
	}{{"service_cidrs", f.ServiceCIDRsFrom, f.ServiceCIDRs}, {"pod_cidrs", f.PodCIDRsFrom, f.PodCIDRs}} {
		if l.from == "" && OneFamilyTwice(l.cidrs) {
			out = append(out, Problem{Field: "network." + l.field, Index: -1, Summary: "Two Networks Of One IP Family",
				Detail: fmt.Sprintf("network.%s has two entries, %s and %s, of the same IP family. Give one network, or one IPv4 and "+
					"one IPv6 network for dual-stack, e.g. [\"10.96.0.0/16\", \"fd00:10:96::/112\"].", l.field, l.cidrs[0], l.cidrs[1])})
		}
	}
	services := networks("service_cidrs", f.ServiceCIDRs, f.ServiceCIDRsFrom)
	pods := networks("pod_cidrs", f.PodCIDRs, f.PodCIDRsFrom)
	out = append(out, overlaps(pods, services)...)
	out = append(out, dnsProblems(f.DNSServiceIPs, services)...)
	out = append(out, serviceSizeProblems(services, f.Version)...)
	if f.ControllerManagerArgsKnown {
		out = append(out, nodeMaskProblems(pods, f.ControllerManagerArgs)...)
	}
	if p := advertiseProblem(f.AdvertiseAddress); p != nil {
		out = append(out, *p)
	}
	if f.Port != nil && f.KonnectivityPort != nil && *f.Port == *f.KonnectivityPort {
		api := "network.port"
		if f.PortFrom != "" {
			api = f.PortFrom
		}
		other := int64(DefaultKonnectivityPort)
		if other == *f.Port {
			other++
		}
		out = append(out, Problem{Field: "addons.konnectivity.server_port", Index: -1, Summary: "Port Used Twice", Assumed: f.PortFrom != "",
			Detail: fmt.Sprintf("addons.konnectivity.server_port is %d, the API server's port (%s): both are ports of the "+
				"control plane's Service, which cannot have one port twice. Choose another, e.g. %d.", *f.Port, api, other)})
	}
	return out
}

// reported is the network a problem between a and b is reported on: the configured one.
func reported(a, b network) (network, network) {
	if a.from != "" && b.from == "" {
		return b, a
	}
	return a, b
}

func overlaps(pods, services []network) []Problem {
	var out []Problem
	for _, p := range pods {
		for _, s := range services {
			if !p.cidr.Overlaps(s.cidr) || p.from != "" && s.from != "" {
				continue
			}
			at, other := reported(p, s)
			out = append(out, Problem{Field: "network." + at.field, Index: at.index, Summary: "Pod And Service Networks Overlap", Assumed: other.from != "",
				Detail: fmt.Sprintf("network.%s[%d] %s overlaps %s: pod and Service addresses would clash and the tenant "+
					"cluster's networking would break. Choose pod and Service networks that do not overlap, e.g. pod_cidrs = "+
					"[\"%s\"] and service_cidrs = [\"%s\"].", at.field, at.index, at.cidr, other, DefaultPodCIDR, DefaultServiceCIDR)})
		}
	}
	return out
}

func dnsProblems(ips []string, services []network) []Problem {
	var out []Problem
	for i, s := range ips {
		ip, err := netip.ParseAddr(s)
		if err != nil || ip.Zone() != "" {
			continue
		}
		fail := func(summary, why string, assumed bool) {
			out = append(out, Problem{Field: "network.dns_service_ips", Index: i, Summary: summary, Assumed: assumed,
				Detail: fmt.Sprintf("network.dns_service_ips[%d] %s %s. The cluster DNS Service takes its address from a Service "+
					"network: choose a free address inside it, e.g. %s for %s (or leave dns_service_ips unset for Kamaji's choice).",
					i, ip, why, exampleDNS(services, ip), exampleNetwork(services, ip))})
		}
		var family []network
		for _, n := range services {
			if n.cidr.Addr().Is4() == ip.Is4() {
				family = append(family, n)
			}
		}
		if len(family) == 0 {
			if len(services) > 0 {
				fail("DNS Service IP Outside The Service Networks", "is of an IP family no Service network has ("+describe(services)+")", services[0].from != "")
			}
			continue
		}
		n := family[0]
		switch {
		case !n.cidr.Contains(ip):
			fail("DNS Service IP Outside The Service Networks", "is not inside the Service network "+n.String(), n.from != "")
		case ip == n.cidr.Addr():
			fail("DNS Service IP Not Usable", "is the network address of "+n.String()+", which no Service gets", n.from != "")
		case ip.Is4() && ip == lastAddr(n.cidr):
			fail("DNS Service IP Not Usable", "is the broadcast address of "+n.String()+", which no Service gets", n.from != "")
		case n == services[0] && ip == n.cidr.Addr().Next():
			fail("DNS Service IP Not Usable", "is the first address of "+n.String()+", which the API server's own "+
				"Service (kubernetes.default) takes", n.from != "")
		}
	}
	return out
}

func describe(ns []network) string {
	s := ""
	for i, n := range ns {
		if i > 0 {
			s += ", "
		}
		s += n.String()
	}
	return s
}

// exampleNetwork and exampleDNS suggest a Service network of ip's family and the address
// Kamaji would choose in it (the tenth).
func exampleNetwork(services []network, ip netip.Addr) string {
	for _, n := range services {
		if n.cidr.Addr().Is4() == ip.Is4() {
			return n.cidr.String()
		}
	}
	if ip.Is4() {
		return DefaultServiceCIDR
	}
	return "fd00:10:96::/112"
}

func exampleDNS(services []network, ip netip.Addr) string {
	p := netip.MustParsePrefix(exampleNetwork(services, ip))
	a := p.Addr()
	for range 10 {
		a = a.Next()
	}
	return a.String()
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func serviceSizeProblems(services []network, v *version.Version) []Problem {
	if v == nil || v.AtLeast(unboundedServiceRange) {
		return nil
	}
	var out []Problem
	for _, n := range services {
		if n.from != "" {
			continue
		}
		if host := n.cidr.Addr().BitLen() - n.cidr.Bits(); host > maxServiceHostBits {
			smallest := 32 - maxServiceHostBits
			if n.cidr.Addr().Is6() {
				smallest = 128 - maxServiceHostBits
			}
			out = append(out, Problem{Field: "network." + n.field, Index: n.index, Summary: "Service Network Too Large",
				Detail: fmt.Sprintf("network.service_cidrs[%d] %s has %d host bits; the API server of Kubernetes %d.%d refuses more "+
					"than %d (a prefix of /%d or longer) and would not start. Choose a smaller network, e.g. %s, or Kubernetes "+
					"%d.%d or newer.", n.index, n.cidr, host, v.Major(), v.Minor(), maxServiceHostBits, smallest,
					netip.PrefixFrom(n.cidr.Addr(), smallest), unboundedServiceRange.Major(), unboundedServiceRange.Minor())})
		}
	}
	return out
}

// nodeMaskProblems checks the pod networks against the ranges kube-controller-manager
// gives each node (--node-cidr-mask-size*), which must fit into them.
func nodeMaskProblems(pods []network, args []string) []Problem {
	flags, _ := Flags(args)
	if f, ok := flags["allocate-node-cidrs"]; ok && f.HasValue && f.Value == "false" {
		return nil
	}
	dualStack := len(pods) == 2
	mask := func(is4 bool) (int, string) {
		name, def := "node-cidr-mask-size-ipv6", defaultNodeMaskIPv6
		if is4 {
			name, def = "node-cidr-mask-size-ipv4", defaultNodeMaskIPv4
		}
		for _, n := range []string{name, "node-cidr-mask-size"} {
			if n == "node-cidr-mask-size" && dualStack {
				continue
			}
			if f, ok := flags[n]; ok {
				if v, err := strconv.Atoi(f.Value); err == nil {
					return v, "--" + n + " of controller_manager.extra_args"
				}
			}
		}
		return def, "kube-controller-manager's default"
	}
	var out []Problem
	for _, p := range pods {
		node, from := mask(p.cidr.Addr().Is4())
		bits := p.cidr.Bits()
		where := fmt.Sprintf("network.%s[%d] %s", p.field, p.index, p.cidr)
		field, index := "network."+p.field, p.index
		if p.from != "" {
			// The configuration sets the node ranges, not the pod network.
			where, field, index = "the pod network "+p.String(), "controller_manager.extra_args", -1
		}
		switch {
		case bits > node:
			out = append(out, Problem{Field: field, Index: index, Summary: "Pod Network Smaller Than A Node's Range", Assumed: p.from != "",
				Detail: fmt.Sprintf("%s is smaller than the /%d range kube-controller-manager gives each node (%s): it would "+
					"fail to start. Choose a pod network of /%d or larger (a shorter prefix), e.g. %s, or give nodes smaller "+
					"ranges in controller_manager.extra_args, e.g. --%s=%d.", where, node, from, node,
					netip.PrefixFrom(p.cidr.Addr(), node).Masked(), familyMaskFlag(p.cidr.Addr().Is4()), bits)})
		case p.cidr.Addr().Is6() && node-bits > maxNodeMaskDiffIPv6:
			out = append(out, Problem{Field: field, Index: index, Summary: "Pod Network Too Large For Node Ranges", Assumed: p.from != "",
				Detail: fmt.Sprintf("%s has more than %d bits over the /%d ranges of nodes (%s): kube-controller-manager "+
					"refuses it. Choose a pod network of /%d or smaller (a longer prefix), e.g. fd00:10:244::/%d.",
					where, maxNodeMaskDiffIPv6, node, from, node-maxNodeMaskDiffIPv6, node-maxNodeMaskDiffIPv6)})
		}
	}
	return out
}

func advertiseProblem(s string) *Problem {
	if s == "" {
		return nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return nil
	}
	var why string
	switch {
	case ip.IsUnspecified():
		why = "is the unspecified address"
	case ip.IsLoopback():
		why = "is a loopback address"
	case ip.IsLinkLocalUnicast():
		why = "is a link-local address"
	case ip.IsMulticast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast():
		why = "is a multicast address"
	case ip.Is4() && ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		why = "is the broadcast address"
	default:
		return nil
	}
	return &Problem{Field: "network.advertise_address", Index: -1, Summary: "Advertise Address Not Reachable",
		Detail: fmt.Sprintf("network.advertise_address %s %s: the API server publishes it as the endpoint of the kubernetes "+
			"Service, which Kubernetes refuses for such addresses, and workers could not reach it. Give an address the "+
			"tenant's workers reach the API server at, e.g. 203.0.113.10.", ip, why)}
}

func familyMaskFlag(is4 bool) string {
	if is4 {
		return "node-cidr-mask-size-ipv4"
	}
	return "node-cidr-mask-size-ipv6"
}
