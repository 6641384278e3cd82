package provider

import "strconv"

// The bad-input suite's cases of qumulus_cluster (see badinput_test.go).
var _ = addBadInputs(clusterBadInputs()...)

// clusterCase is a qumulus_cluster case whose body is a valid cluster plus extra.
func clusterCase(name, phase, extra, attr, summary, detail string) badInput {
	return badInput{name: name, resource: "qumulus_cluster", phase: phase, attr: attr, summary: summary, detail: detail,
		body: "  namespace = \"tenant-x\"\n  name      = \"prod\"\n  version   = \"v1.35.0\"\n" + extra}
}

// clusterAccept is a cluster that must be applied and then plan no changes.
func clusterAccept(name, clusterName, extra string) badInput {
	return badInput{name: name, resource: "qumulus_cluster", accept: true,
		body: "  namespace = qumulus_tenant.badinput.namespace\n  name      = \"" + clusterName + "\"\n  version   = \"v1.35.0\"\n" + extra}
}

func clusterBadInputs() []badInput {
	v, p := "validate", "plan"
	const invalid = `Invalid Value`
	return []badInput{
		// Single attributes: names, versions, addresses, enums and ranges.
		{name: "name starts with a digit", resource: "qumulus_cluster", phase: v, attr: "name", summary: invalid,
			body: "namespace = \"tenant-x\"\nname = \"1prod\"\nversion = \"v1.35.0\"", detail: `name: "1prod" is not a DNS-1035 label`},
		{name: "name with a dot", resource: "qumulus_cluster", phase: v, attr: "name", summary: invalid,
			body: "namespace = \"tenant-x\"\nname = \"prod.eu\"\nversion = \"v1.35.0\"", detail: `name: "prod\.eu" is not a DNS-1035 label`},
		{name: "namespace not a label", resource: "qumulus_cluster", phase: v, attr: "namespace", summary: invalid,
			body: "namespace = \"Tenant_X\"\nname = \"prod\"\nversion = \"v1.35.0\"", detail: `namespace: "Tenant_X" is not a DNS-1123 label`},
		{name: "version without patch", resource: "qumulus_cluster", phase: v, attr: "version", summary: invalid,
			body: "namespace = \"tenant-x\"\nname = \"prod\"\nversion = \"1.35\"", detail: `version: "1\.35" is not a Kubernetes version .*write major\.minor\.patch`},
		{name: "version too new", resource: "qumulus_cluster", phase: v, attr: "version", summary: invalid,
			body: "namespace = \"tenant-x\"\nname = \"prod\"\nversion = \"v1.37.0\"", detail: `version v1\.37\.0 is newer than Kamaji supports`},
		clusterCase("negative replicas", v, `replicas = -1`, "replicas", `Invalid Attribute Value`, `replicas value must be between 0 and 2147483647, got: -1`),
		clusterCase("data store not a name", v, `data_store = "My Store"`, "data_store", invalid, `is not a DNS-1123 subdomain`),
		clusterCase("empty data store schema", v, `data_store_schema = ""`, "data_store_schema", `Invalid Attribute Value Length`, `at least 1`),
		clusterCase("reserved label", v, `labels = { "qumulus.io/cluster" = "x" }`, `labels["qumulus.io/cluster"]`,
			`Invalid Attribute Value Match`, `value must be none of`),
		clusterCase("bad label value", v, `labels = { "team" = "a b" }`, `labels["team"]`, invalid, `is not a label value`),
		clusterCase("bad annotation key", v, `annotations = { "a b" = "x" }`, `annotations["a b"]`, invalid, `is not a qualified name`),
		clusterCase("bad service type", v, `network = { service_type = "Ingress" }`, "network.service_type",
			`Invalid Attribute Value Match`, `value must be one of: \["ClusterIP" "NodePort" "LoadBalancer"\], got: "Ingress"`),
		clusterCase("bad address", v, `network = { address = "not a host" }`, "network.address", invalid, `is not an IP address or a host name`),
		clusterCase("port zero", v, `network = { port = 0 }`, "network.port", `Invalid Attribute Value`, `between 1 and 65535, got: 0`),
		clusterCase("port too high", v, `network = { port = 70000 }`, "network.port", `Invalid Attribute Value`, `between 1 and 65535, got: 70000`),
		clusterCase("bad CIDR", v, `network = { service_cidrs = ["10.96.0.0/33"] }`, "network.service_cidrs[0]", invalid,
			`network\.service_cidrs\[0\]: "10\.96\.0\.0/33" is not a network in CIDR notation \(e\.g\. 10\.96\.0\.0/16\): not a CIDR`),
		clusterCase("CIDR with host bits", v, `network = { pod_cidrs = ["10.244.1.1/16"] }`, "network.pod_cidrs[0]", invalid,
			`host bits are set: the network is 10\.244\.0\.0/16`),
		clusterCase("empty service CIDRs", v, `network = { service_cidrs = [] }`, "network.service_cidrs", `Invalid Attribute Value`,
			`list must contain at least 1 elements and at most 2 elements, got: 0`),
		clusterCase("three pod CIDRs", v, `network = { pod_cidrs = ["10.244.0.0/16", "fd00::/56", "10.245.0.0/16"] }`, "network.pod_cidrs",
			`Invalid Attribute Value`, `at most 2 elements, got: 3`),
		clusterCase("two IPv4 service CIDRs", v, `network = { service_cidrs = ["10.96.0.0/16", "10.97.0.0/16"] }`, "network.service_cidrs",
			`Two Networks Of One IP Family`, `network\.service_cidrs has two entries, 10\.96\.0\.0/16 and 10\.97\.0\.0/16, of the same IP family.* e\.g\.`),
		clusterCase("bad DNS IP", v, `network = { dns_service_ips = ["10.96.0.300"] }`, "network.dns_service_ips[0]", invalid,
			`"10\.96\.0\.300" is not an IP address`),
		clusterCase("empty DNS IPs", v, `network = { dns_service_ips = [] }`, "network.dns_service_ips", `Invalid Attribute Value`,
			`at least 1 elements`),
		clusterCase("nine DNS IPs", v, `network = { dns_service_ips = ["10.96.0.10", "10.96.0.11", "10.96.0.12", "10.96.0.13", "10.96.0.14", "10.96.0.15", "10.96.0.16", "10.96.0.17", "10.96.0.18"] }`,
			"network.dns_service_ips", `Invalid Attribute Value`, `at most 8 elements, got: 9`),
		clusterCase("DNS IP twice", v, `network = { dns_service_ips = ["10.96.0.10", "10.96.0.10"] }`, "network.dns_service_ips",
			`Duplicate List Value`, `duplicate values`),
		clusterCase("cluster domain without a dot", v, `network = { cluster_domain = "cluster" }`, "network.cluster_domain",
			`Invalid Attribute Value Match`, `must have at least two labels \(Kamaji's rule\), e\.g\. cluster\.local, got: cluster`),
		clusterCase("cluster domain not a name", v, `network = { cluster_domain = "Cluster.Local" }`, "network.cluster_domain",
			invalid, `is not a DNS-1123 subdomain`),
		clusterCase("advertise address not an IP", v, `network = { advertise_address = "api.example.com" }`, "network.advertise_address",
			invalid, `is not an IP address`),
		clusterCase("empty load balancer class", v, `network = { load_balancer_class = "" }`, "network.load_balancer_class",
			`Invalid Attribute Value Length`, `at least 1`),
		clusterCase("bad source range", v, `network = { load_balancer_source_ranges = ["0.0.0.0"] }`, "network.load_balancer_source_ranges[0]",
			invalid, `is not a network in CIDR notation`),
		clusterCase("seventeen source ranges", v, `network = { load_balancer_source_ranges = [`+seventeenRanges()+`] }`,
			"network.load_balancer_source_ranges", `Invalid Attribute Value`, `at most 16 elements, got: 17`),
		clusterCase("bad agent mode", v, `addons = { konnectivity = { agent_mode = "Pod" } }`, "addons.konnectivity.agent_mode",
			`Invalid Attribute Value Match`, `value must be one of`),
		clusterCase("bad Konnectivity port", v, `addons = { konnectivity = { server_port = 0 } }`, "addons.konnectivity.server_port",
			`Invalid Attribute Value`, `between 1 and 65535`),
		clusterCase("empty core_dns tag", v, `addons = { core_dns = { image_tag = "" } }`, "addons.core_dns.image_tag",
			`Invalid Attribute Value Length`, `at least 1`),
		clusterCase("bad quantity", v, `api_server = { requests = { cpu = "1 core" } }`, `api_server.requests["cpu"]`, invalid,
			`is not a non-negative Kubernetes quantity`),
		clusterCase("negative quantity", v, `scheduler = { limits = { memory = "-1Gi" } }`, `scheduler.limits["memory"]`, invalid,
			`must not be negative`),
		clusterCase("bad resource name", v, `controller_manager = { requests = { "c p u" = "1" } }`, `controller_manager.requests["c p u"]`,
			invalid, `is not a qualified name`),
		clusterCase("bad address type", v, `kubelet = { preferred_address_types = ["PublicIP"] }`, "kubelet.preferred_address_types[0]",
			`Invalid Attribute Value Match`, `value must be one of`),
		clusterCase("no address types", v, `kubelet = { preferred_address_types = [] }`, "kubelet.preferred_address_types",
			`Invalid Attribute Value`, `at least 1 elements`),
		clusterCase("address type twice", v, `kubelet = { preferred_address_types = ["InternalIP", "InternalIP"] }`,
			"kubelet.preferred_address_types", `Duplicate List Value`, `duplicate values`),
		clusterCase("bad patch op", v, `kubelet = { config_patches = [{ op = "set", path = "/x", value = "1" }] }`,
			"kubelet.config_patches[0].op", `Invalid Attribute Value Match`, `value must be one of`),
		clusterCase("patch without value", v, `kubelet = { config_patches = [{ op = "replace", path = "/x" }] }`,
			"kubelet.config_patches[0].value", `Patch Needs A Value`, `A "replace" patch needs value`),
		clusterCase("patch value not JSON", v, `kubelet = { config_patches = [{ op = "add", path = "/x", value = "systemd" }] }`,
			"kubelet.config_patches[0].value", `Patch Value Is Not JSON`, `"systemd" is not JSON`),
		clusterCase("LB class without LoadBalancer", v, `network = { service_type = "ClusterIP", load_balancer_class = "metallb" }`,
			"network.load_balancer_class", `Needs A LoadBalancer Service`, `only applies to service_type = "LoadBalancer", not "ClusterIP"`),
		clusterCase("source ranges without LoadBalancer", v, `network = { service_type = "NodePort", load_balancer_source_ranges = ["10.0.0.0/8"] }`,
			"network.load_balancer_source_ranges", `Needs A LoadBalancer Service`, `only applies to service_type = "LoadBalancer"`),
		clusterCase("bad infrastructure kind", v, `cluster_api = { infrastructure_ref = { api_group = "infrastructure.cluster.x-k8s.io", kind = "openstackCluster", name = "x" } }`,
			"cluster_api.infrastructure_ref.kind", `Invalid Attribute Value Match`, `must be a Kubernetes kind`),

		// Argument shapes.
		clusterCase("API server argument with one dash", v, `api_server = { extra_args = ["-v=2"] }`, "api_server.extra_args[0]",
			`Invalid Command-Line Argument`, `api_server\.extra_args\[0\]: "-v=2" is not --flag or --flag=value: it starts with one dash.* e\.g\. "--v=2"`),
		clusterCase("controller manager argument with a space", v, `controller_manager = { extra_args = ["--v=2", "--node-cidr-mask-size 24"] }`,
			"controller_manager.extra_args[1]", `Invalid Command-Line Argument`, `the flag name holds a space`),
		clusterCase("scheduler argument without dashes", v, `scheduler = { extra_args = ["v=2"] }`, "scheduler.extra_args[0]",
			`Invalid Command-Line Argument`, `it does not start with --`),
		clusterCase("upper-case flag", v, `api_server = { extra_args = ["--Profiling"] }`, "api_server.extra_args[0]",
			`Invalid Command-Line Argument`, `lower-case letters`),
		clusterCase("Konnectivity server argument", v, `addons = { konnectivity = { server_extra_args = ["proxy-strategies=default"] } }`,
			"addons.konnectivity.server_extra_args[0]", `Invalid Command-Line Argument`, `is not --flag or --flag=value`),
		clusterCase("Konnectivity agent argument", v, `addons = { konnectivity = { agent_extra_args = [""] } }`,
			"addons.konnectivity.agent_extra_args[0]", `Invalid Command-Line Argument`, `the argument is empty`),
		clusterCase("patch path not a pointer", v, `kubelet = { config_patches = [{ op = "replace", path = "cgroupDriver", value = jsonencode("systemd") }] }`,
			"kubelet.config_patches[0].path", `Invalid JSON Pointer`, `"cgroupDriver" does not start with '/'.* e\.g\. /cgroupDriver`),
		clusterCase("patch from with a bad escape", v, `kubelet = { config_patches = [{ op = "move", from = "/a~2b", path = "/c" }] }`,
			"kubelet.config_patches[0].from", `Invalid JSON Pointer`, `has a '~' that is not ~0 or ~1`),

		// Cross-field network rules on configured values.
		clusterCase("pod network inside the Service network", v, `network = { service_cidrs = ["10.0.0.0/12"], pod_cidrs = ["10.1.0.0/16"] }`,
			"network.pod_cidrs[0]", `Pod And Service Networks Overlap`, `network\.pod_cidrs\[0\] 10\.1\.0\.0/16 overlaps 10\.0\.0\.0/12 \(service_cidrs\[0\]\).* e\.g\.`),
		clusterCase("IPv6 pod and Service networks overlap", v,
			`network = { service_cidrs = ["10.96.0.0/16", "fd00:10::/112"], pod_cidrs = ["10.244.0.0/16", "fd00:10::/56"] }`,
			"network.pod_cidrs[1]", `Pod And Service Networks Overlap`, `fd00:10::/56 overlaps fd00:10::/112`),
		clusterCase("DNS IP outside the Service network", v, `network = { service_cidrs = ["10.96.0.0/16"], dns_service_ips = ["10.97.0.10"] }`,
			"network.dns_service_ips[0]", `DNS Service IP Outside The Service Networks`, `10\.97\.0\.10 is not inside the Service network 10\.96\.0\.0/16.* e\.g\. 10\.96\.0\.10`),
		clusterCase("DNS IP of no Service network's family", v, `network = { service_cidrs = ["10.96.0.0/16"], dns_service_ips = ["fd00::a"] }`,
			"network.dns_service_ips[0]", `DNS Service IP Outside The Service Networks`, `is of an IP family no Service network has`),
		clusterCase("DNS IP is the network address", v, `network = { service_cidrs = ["10.96.0.0/16"], dns_service_ips = ["10.96.0.0"] }`,
			"network.dns_service_ips[0]", `DNS Service IP Not Usable`, `is the network address of 10\.96\.0\.0/16`),
		clusterCase("DNS IP is the kubernetes Service's", v, `network = { service_cidrs = ["10.96.0.0/16"], dns_service_ips = ["10.96.0.1"] }`,
			"network.dns_service_ips[0]", `DNS Service IP Not Usable`, `kubernetes\.default`),
		{name: "Service network too large for the version", resource: "qumulus_cluster", phase: v,
			body: "namespace = \"tenant-x\"\nname = \"prod\"\nversion = \"v1.33.0\"\nnetwork = { service_cidrs = [\"10.0.0.0/8\"] }",
			attr: "network.service_cidrs[0]", summary: `Service Network Too Large`,
			detail: `the API server of Kubernetes 1\.33 refuses more than 20 .* e\.g\. 10\.0\.0\.0/12`},
		clusterCase("pod network smaller than a node's range", v, `network = { pod_cidrs = ["10.244.0.0/25"] }`,
			"network.pod_cidrs[0]", `Pod Network Smaller Than A Node's Range`, `/24 range.* e\.g\. 10\.244\.0\.0/24`),
		clusterCase("IPv6 pod network too large", v, `network = { pod_cidrs = ["10.244.0.0/16", "fd00::/32"] }`,
			"network.pod_cidrs[1]", `Pod Network Too Large For Node Ranges`, `more than 16 bits over the /64 ranges`),
		clusterCase("loopback advertise address", v, `network = { advertise_address = "127.0.0.1" }`,
			"network.advertise_address", `Advertise Address Not Reachable`, `is a loopback address`),
		clusterCase("Konnectivity on the API server's port", v, `network = { port = 8443 }`+"\n"+`addons = { konnectivity = { server_port = 8443 } }`,
			"addons.konnectivity.server_port", `Port Used Twice`, `server_port is 8443, the API server's port \(network\.port\)`),

		// Rules that need the defaults, refused by plan.
		clusterCase("DNS IP outside the default Service network", p, `network = { dns_service_ips = ["10.97.0.10"] }`,
			"network.dns_service_ips[0]", `DNS Service IP Outside The Service Networks`, `10\.96\.0\.0/16 \(Kamaji's default\)`),
		clusterCase("Service network overlaps the default pod network", p, `network = { service_cidrs = ["10.244.0.0/20"] }`,
			"network.service_cidrs[0]", `Pod And Service Networks Overlap`, `overlaps 10\.244\.0\.0/16 \(Kamaji's default\)`),
		clusterCase("Konnectivity on the default API port", p, `addons = { konnectivity = { server_port = 6443 } }`,
			"addons.konnectivity.server_port", `Port Used Twice`, `network\.port's default, 6443`),
		clusterCase("node ranges larger than the default pod network", p, `controller_manager = { extra_args = ["--node-cidr-mask-size-ipv4=8"] }`,
			"controller_manager.extra_args", `Pod Network Smaller Than A Node's Range`, `10\.244\.0\.0/16 \(Kamaji's default\)`),

		// Empty collections mean none: accepted, applied, and no drift.
		clusterAccept("empty resources", "empty-resources", `api_server = { requests = {}, limits = {} }`+"\n"+
			`controller_manager = { requests = {}, extra_args = [] }`+"\n"+`scheduler = { limits = {} }`),
		clusterAccept("empty config patches", "empty-patches", `kubelet = { config_patches = [] }`),
		clusterAccept("empty network collections", "empty-network", `network = { cert_sans = [], service_labels = {}, service_annotations = {}, load_balancer_source_ranges = [] }`),
		clusterAccept("empty labels and annotations", "empty-meta", `labels = {}`+"\n"+`annotations = {}`),
		clusterAccept("empty Konnectivity arguments", "empty-konnectivity", `addons = { konnectivity = { server_extra_args = [], agent_extra_args = [] } }`),
		clusterAccept("consistent networks", "networks", `network = { service_cidrs = ["10.100.0.0/16"], pod_cidrs = ["10.200.0.0/16"], dns_service_ips = ["10.100.0.10"] }`+"\n"+
			`controller_manager = { extra_args = ["--node-cidr-mask-size=24", "--v=2"] }`),
	}
}

func seventeenRanges() string {
	s := ""
	for i := range 17 {
		if i > 0 {
			s += ", "
		}
		s += `"10.` + strconv.Itoa(i) + `.0.0/16"`
	}
	return s
}
