package cluster

import (
	"net/netip"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/version"
)

func TestCheckNetwork(t *testing.T) {
	t.Parallel()
	p := func(i int64) *int64 { return &i }
	v133, v135 := version.MustParseGeneric("1.33.0"), version.MustParseGeneric("1.35.0")
	cases := []struct {
		name string
		f    NetworkFacts
		// want is "field[index] summary" of each problem, in order; assumed the ones
		// marked Assumed.
		want    []string
		assumed bool
	}{
		{"defaults", NetworkFacts{ServiceCIDRs: []string{DefaultServiceCIDR}, PodCIDRs: []string{DefaultPodCIDR}, DNSServiceIPs: []string{"10.96.0.10"}}, nil, false},
		{"unknown", NetworkFacts{DNSServiceIPs: []string{"192.0.2.1"}}, nil, false},
		{"dual-stack", NetworkFacts{
			ServiceCIDRs: []string{"10.96.0.0/16", "fd00:10:96::/112"}, PodCIDRs: []string{"10.244.0.0/16", "fd00:10:244::/56"},
			DNSServiceIPs: []string{"10.96.0.10", "fd00:10:96::a"},
		}, nil, false},
		{"two IPv4 service networks", NetworkFacts{ServiceCIDRs: []string{"10.96.0.0/16", "10.97.0.0/16"}},
			[]string{"network.service_cidrs[-1] Two Networks Of One IP Family"}, false},
		{"pod inside service", NetworkFacts{ServiceCIDRs: []string{"10.0.0.0/12"}, PodCIDRs: []string{"10.1.0.0/16"}},
			[]string{"network.pod_cidrs[0] Pod And Service Networks Overlap"}, false},
		{"service inside default pod", NetworkFacts{ServiceCIDRs: []string{"10.244.0.0/20"}, PodCIDRs: []string{DefaultPodCIDR}, PodCIDRsFrom: "Kamaji's default"},
			[]string{"network.service_cidrs[0] Pod And Service Networks Overlap"}, true},
		{"IPv6 overlap only", NetworkFacts{ServiceCIDRs: []string{"10.96.0.0/16", "fd00::/112"}, PodCIDRs: []string{"10.244.0.0/16", "fd00::/56"}},
			[]string{"network.pod_cidrs[1] Pod And Service Networks Overlap"}, false},
		{"DNS outside", NetworkFacts{ServiceCIDRs: []string{"10.96.0.0/16"}, DNSServiceIPs: []string{"10.97.0.10"}},
			[]string{"network.dns_service_ips[0] DNS Service IP Outside The Service Networks"}, false},
		{"DNS outside the default", NetworkFacts{ServiceCIDRs: []string{DefaultServiceCIDR}, ServiceCIDRsFrom: "Kamaji's default", DNSServiceIPs: []string{"10.97.0.10"}},
			[]string{"network.dns_service_ips[0] DNS Service IP Outside The Service Networks"}, true},
		{"DNS of another family", NetworkFacts{ServiceCIDRs: []string{"10.96.0.0/16"}, DNSServiceIPs: []string{"fd00::a"}},
			[]string{"network.dns_service_ips[0] DNS Service IP Outside The Service Networks"}, false},
		{"DNS network address", NetworkFacts{ServiceCIDRs: []string{"10.96.0.0/16"}, DNSServiceIPs: []string{"10.96.0.0"}},
			[]string{"network.dns_service_ips[0] DNS Service IP Not Usable"}, false},
		{"DNS broadcast", NetworkFacts{ServiceCIDRs: []string{"10.96.0.0/16"}, DNSServiceIPs: []string{"10.96.255.255"}},
			[]string{"network.dns_service_ips[0] DNS Service IP Not Usable"}, false},
		{"DNS on the kubernetes Service", NetworkFacts{ServiceCIDRs: []string{"10.96.0.0/16"}, DNSServiceIPs: []string{"10.96.0.1"}},
			[]string{"network.dns_service_ips[0] DNS Service IP Not Usable"}, false},
		{"IPv6 DNS second network", NetworkFacts{ServiceCIDRs: []string{"10.96.0.0/16", "fd00::/112"}, DNSServiceIPs: []string{"fd00::1", "fd01::a"}},
			[]string{"network.dns_service_ips[1] DNS Service IP Outside The Service Networks"}, false},
		{"large service network before 1.34", NetworkFacts{ServiceCIDRs: []string{"10.0.0.0/8"}, Version: v133},
			[]string{"network.service_cidrs[0] Service Network Too Large"}, false},
		{"large service network since 1.34", NetworkFacts{ServiceCIDRs: []string{"10.0.0.0/8"}, Version: v135}, nil, false},
		{"pod network smaller than a node's", NetworkFacts{PodCIDRs: []string{"10.244.0.0/25"}, ControllerManagerArgsKnown: true},
			[]string{"network.pod_cidrs[0] Pod Network Smaller Than A Node's Range"}, false},
		{"pod network with longer node masks", NetworkFacts{PodCIDRs: []string{"10.244.0.0/25"}, ControllerManagerArgsKnown: true,
			ControllerManagerArgs: []string{"--node-cidr-mask-size=28"}}, nil, false},
		{"no node ranges", NetworkFacts{PodCIDRs: []string{"10.244.0.0/25"}, ControllerManagerArgsKnown: true,
			ControllerManagerArgs: []string{"--allocate-node-cidrs=false"}}, nil, false},
		{"default pod network and long node masks", NetworkFacts{PodCIDRs: []string{DefaultPodCIDR}, PodCIDRsFrom: "Kamaji's default",
			ControllerManagerArgsKnown: true, ControllerManagerArgs: []string{"--node-cidr-mask-size-ipv4=8"}},
			[]string{"controller_manager.extra_args[-1] Pod Network Smaller Than A Node's Range"}, true},
		{"IPv6 pod network too large", NetworkFacts{PodCIDRs: []string{"10.244.0.0/16", "fd00::/32"}, ControllerManagerArgsKnown: true},
			[]string{"network.pod_cidrs[1] Pod Network Too Large For Node Ranges"}, false},
		{"loopback advertise address", NetworkFacts{AdvertiseAddress: "127.0.0.1"},
			[]string{"network.advertise_address[-1] Advertise Address Not Reachable"}, false},
		{"unspecified advertise address", NetworkFacts{AdvertiseAddress: "::"},
			[]string{"network.advertise_address[-1] Advertise Address Not Reachable"}, false},
		{"good advertise address", NetworkFacts{AdvertiseAddress: "192.0.2.10"}, nil, false},
		{"Konnectivity on the API port", NetworkFacts{Port: p(6443), KonnectivityPort: p(6443)},
			[]string{"addons.konnectivity.server_port[-1] Port Used Twice"}, false},
		{"Konnectivity on another port", NetworkFacts{Port: p(6443), KonnectivityPort: p(8132)}, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := CheckNetwork(c.f)
			var names []string
			for _, pr := range got {
				names = append(names, pr.Field+"["+itoa(pr.Index)+"] "+pr.Summary)
				if pr.Assumed != c.assumed {
					t.Errorf("%s: Assumed = %v, want %v", pr.Summary, pr.Assumed, c.assumed)
				}
				if !strings.Contains(pr.Detail, "e.g.") && !strings.Contains(pr.Detail, "leave") {
					t.Errorf("%s: the detail gives no example of a correct value: %s", pr.Summary, pr.Detail)
				}
			}
			if strings.Join(names, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(names, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func itoa(i int) string {
	if i < 0 {
		return "-" + itoa(-i)
	}
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + itoa(i%10)
}

func TestParseFlag(t *testing.T) {
	t.Parallel()
	for arg, want := range map[string]string{
		"--v=2": "", "--profiling": "", "--feature-gates=A=true,B=false": "", "--audit-log-path=": "", "--x1-y": "",
		"-v=2": "one dash", "v=2": "does not start with --", "--v 2": "space", "--V=2": "lower-case",
		"---v=2": "more than two dashes", "": "empty", "--": "empty", "--v_level=2": "lower-case", "--v=2 --w": "",
		"--feature-gates A=true": "space",
	} {
		_, err := ParseFlag(arg)
		switch {
		case want == "" && err != nil:
			t.Errorf("ParseFlag(%q) = %v", arg, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("ParseFlag(%q) = %v, want an error with %q", arg, err, want)
		}
	}
	flags, bad := Flags([]string{"--v=2", "x", "--v=4", "--profiling"})
	if flags["v"].Value != "4" || !flags["profiling"].HasValue == false || len(bad) != 1 || bad[1] == nil {
		t.Errorf("Flags = %v, %v", flags, bad)
	}
}

func TestCheckJSONPointer(t *testing.T) {
	t.Parallel()
	for p, ok := range map[string]bool{
		"": true, "/": true, "/cgroupDriver": true, "/evictionHard/memory.available": true, "/a~1b": true, "/m~0n": true, "/0": true,
		"cgroupDriver": false, "/a~2": false, "/a~": false, "~1a": false, " /a": false,
	} {
		if err := CheckJSONPointer(p); (err == nil) != ok {
			t.Errorf("CheckJSONPointer(%q) = %v", p, err)
		}
	}
}

// FuzzParseFlag checks that what ParseFlag accepts is exactly --name[=value] with a
// lower-case name, and that every refusal explains itself.
func FuzzParseFlag(f *testing.F) {
	for _, s := range []string{"--v=2", "--profiling", "-v", "v=2", "--A", "---x", "--a b", "", "--=x", "--a=b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		fl, err := ParseFlag(arg)
		if err != nil {
			if !strings.Contains(err.Error(), "is not --flag or --flag=value: ") {
				t.Fatalf("ParseFlag(%q): unexplained error %v", arg, err)
			}
			return
		}
		rebuilt := "--" + fl.Name
		if fl.HasValue {
			rebuilt += "=" + fl.Value
		}
		if rebuilt != arg || fl.Name == "" || strings.ContainsFunc(fl.Name, func(r rune) bool {
			return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-'
		}) {
			t.Fatalf("ParseFlag(%q) = %+v", arg, fl)
		}
	})
}

// FuzzCheckJSONPointer compares CheckJSONPointer with decoding the pointer's tokens.
func FuzzCheckJSONPointer(f *testing.F) {
	for _, s := range []string{"", "/", "/a/b", "/a~0~1", "a", "/~2", "/~"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		valid := p == "" || strings.HasPrefix(p, "/")
		if valid {
			// Removing the escapes leaves no '~' exactly when every '~' is one.
			valid = !strings.Contains(strings.NewReplacer("~0", "", "~1", "").Replace(p), "~")
		}
		if err := CheckJSONPointer(p); (err == nil) != valid {
			t.Fatalf("CheckJSONPointer(%q) = %v, want valid=%v", p, err, valid)
		}
	})
}

// FuzzCheckNetwork checks the overlap and DNS rules against netip on arbitrary networks.
func FuzzCheckNetwork(f *testing.F) {
	f.Add("10.96.0.0/16", "10.244.0.0/16", "10.96.0.10")
	f.Add("10.0.0.0/8", "10.244.0.0/16", "10.0.0.1")
	f.Add("fd00::/112", "fd00::/56", "fd00::a")
	f.Add("10.96.0.0/16", "fd00::/56", "10.96.255.255")
	f.Fuzz(func(t *testing.T, service, pod, dns string) {
		got := CheckNetwork(NetworkFacts{ServiceCIDRs: []string{service}, PodCIDRs: []string{pod}, DNSServiceIPs: []string{dns}})
		s, errS := netip.ParsePrefix(service)
		p, errP := netip.ParsePrefix(pod)
		overlap, dnsBad := false, false
		for _, pr := range got {
			overlap = overlap || pr.Summary == "Pod And Service Networks Overlap"
			dnsBad = dnsBad || pr.Field == "network.dns_service_ips"
		}
		valid := errS == nil && errP == nil && s.Masked() == s && p.Masked() == p
		if want := valid && s.Overlaps(p); overlap != want {
			t.Fatalf("%s, %s: overlap reported %v, want %v", service, pod, overlap, want)
		}
		ip, errIP := netip.ParseAddr(dns)
		if errS == nil && s.Masked() == s && errIP == nil && ip.Zone() == "" && !dnsBad {
			if !s.Contains(ip) || ip == s.Addr() || ip == s.Addr().Next() {
				t.Fatalf("%s in %s: no problem reported", dns, service)
			}
		}
	})
}
