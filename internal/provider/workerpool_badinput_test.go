package provider

import "strings"

// The bad-input suite's cases of qumulus_worker_pool (see badinput_test.go).
var _ = addBadInputs(workerPoolBadInputs()...)

// poolBadInputBase is the body of a valid worker pool; refusals add to it.
const poolBadInputBase = `  namespace    = "tenant-x"
  cluster_name = "work"
  name         = "workers"
  infrastructure = {
    api_group = "infrastructure.cluster.x-k8s.io"
    kind      = "DockerMachineTemplate"
    spec      = jsonencode({ customImage = "kindest/node:v1.35.2" })
  }
`

// poolBadInputCluster is the Cluster API mode cluster the pools of accept cases join.
const poolBadInputCluster = `resource "qumulus_cluster" "badinput_pools" {
  namespace   = qumulus_tenant.badinput.namespace
  name        = "pools"
  version     = "v1.35.0"
  network     = { service_type = "NodePort" }
  cluster_api = {}
}`

// poolCase is a qumulus_worker_pool case refused by terraform validate whose body is a valid pool plus extra.
func poolCase(name, extra, attr, summary, detail string) badInput {
	return badInput{name: name, resource: "qumulus_worker_pool", phase: "validate", attr: attr, summary: summary, detail: detail,
		body: poolBadInputBase + "  " + extra}
}

// poolCaseBody is a qumulus_worker_pool case refused by terraform validate whose base body has old replaced by new.
func poolCaseBody(name, old, repl, attr, summary, detail string) badInput {
	return badInput{name: name, resource: "qumulus_worker_pool", phase: "validate", attr: attr, summary: summary, detail: detail,
		body: strings.Replace(poolBadInputBase, old, repl, 1)}
}

// poolAccept is a pool of the suite's Cluster API cluster that must be applied and then
// plan no changes.
func poolAccept(name, poolName, extra string) badInput {
	return badInput{name: name, resource: "qumulus_worker_pool", accept: true, support: poolBadInputCluster,
		body: "  namespace    = qumulus_cluster.badinput_pools.namespace\n  cluster_name = qumulus_cluster.badinput_pools.name\n" +
			"  name         = \"" + poolName + "\"\n" + `  infrastructure = {
    api_group = "infrastructure.cluster.x-k8s.io"
    kind      = "DockerMachineTemplate"
    spec      = jsonencode({ customImage = "kindest/node:v1.35.2" })
  }
  ` + extra}
}

func workerPoolBadInputs() []badInput {
	const (
		invalid     = `Invalid Value`
		never       = `Rollout Can Never Progress`
		oneOf       = `Invalid Attribute Value Match`
		length      = `Invalid Attribute Value Length`
		combination = `Invalid Attribute Combination`
		count       = `Invalid Machine Count`
	)
	return []badInput{
		// Rollout (Cluster API's MachineDeployment webhook).
		poolCase("rollout both zero", `rollout = { max_surge = "0", max_unavailable = "0" }`, "rollout", never, `are both 0`),
		poolCase("rollout both zero percent", `rollout = { max_surge = "0%", max_unavailable = "0%" }`, "rollout", never,
			`max_surge \(0%\) and max_unavailable \(0%\) are both 0`),
		poolCase("rollout int and percent zero", `rollout = { max_surge = "0", max_unavailable = "0%" }`, "rollout", never, `are both 0`),
		poolCase("rollout surge zero, default unavailable", `rollout = { max_surge = "0" }`, "rollout", never, `0`),
		poolCase("rollout unavailable above 100%", `rollout = { max_unavailable = "150%" }`, "rollout.max_unavailable", count, `at most 100%`),
		poolCase("rollout bad percentage", `rollout = { max_unavailable = "25 %" }`, "rollout.max_unavailable", count, `not a whole number or a percentage`),
		poolCase("rollout negative", `rollout = { max_surge = "-1" }`, "rollout.max_surge", count, `-1`),
		poolCase("rollout leading zero", `rollout = { max_surge = "01" }`, "rollout.max_surge", count, `01`),
		poolCase("rollout OnDelete with surge", `rollout = { strategy = "OnDelete", max_surge = "1" }`, "rollout.max_surge",
			`Rolling Update Setting With OnDelete`, `OnDelete`),
		poolCase("rollout unknown strategy", `rollout = { strategy = "Recreate" }`, "rollout.strategy", oneOf, `value must be one of`),
		poolAccept("rollout empty", "rollout-empty", `rollout = {}`),

		// Autoscaling and replicas.
		poolCase("autoscaling min above max", `autoscaling = { min = 5, max = 2 }`, "autoscaling.min", `Autoscaling Minimum Above Maximum`, `5.*2`),
		poolCase("replicas with autoscaling", "replicas = 2\n  autoscaling = { min = 1, max = 3 }", "autoscaling", combination, `replicas`),
		poolCase("replicas negative", `replicas = -1`, "replicas", `Invalid Attribute Value`, `must be between 0 and 2147483647`),

		// kubelet_extra_args.
		poolCase("kubelet node-labels", `kubelet_extra_args = { "node-labels" = "a=b" }`, `kubelet_extra_args["node-labels"]`,
			`Kubelet Flag Set By Another Attribute`, `writes from node_labels`),
		poolCase("kubelet register-with-taints", `kubelet_extra_args = { "register-with-taints" = "a=b:NoSchedule" }`,
			`kubelet_extra_args["register-with-taints"]`, `Kubelet Flag Set By Another Attribute`, `writes from node_taints`),
		poolCase("kubelet flag with dashes", `kubelet_extra_args = { "--max-pods" = "110" }`, `kubelet_extra_args["--max-pods"]`,
			`Invalid Kubelet Flag`, `write the flag name alone, e\.g\. "max-pods"`),
		poolCase("kubelet flag with value in key", `kubelet_extra_args = { "max-pods=110" = "110" }`, `kubelet_extra_args["max-pods=110"]`,
			`Invalid Kubelet Flag`, `the key is the flag name`),
		poolCase("kubelet flag upper case", `kubelet_extra_args = { "MaxPods" = "110" }`, `kubelet_extra_args["MaxPods"]`,
			`Invalid Kubelet Flag`, `not a kubelet flag name`),
		poolCase("kubelet value too long", `kubelet_extra_args = { "max-pods" = format("%01025d", 0) }`, `kubelet_extra_args["max-pods"]`,
			`Invalid Kubelet Flag Value`, `Cluster API accepts at most 1024`),
		poolAccept("kubelet args empty", "kubelet-empty", `kubelet_extra_args = {}`),

		// Node labels and taints.
		poolCase("node label kubelet may not set", `node_labels = { "kubernetes.io/role" = "db" }`, `node_labels["kubernetes.io/role"]`,
			`Node Label Not Allowed`, `kubernetes\.io/role`),
		poolCase("node label bad value", `node_labels = { "role" = "a/b" }`, `node_labels["role"]`, invalid, `is not a label value`),
		poolAccept("node labels empty", "labels-empty", `node_labels = {}`),
		poolCase("duplicate taint", `node_taints = [{ key = "a", effect = "NoSchedule" }, { key = "a", value = "x", effect = "NoSchedule" }]`,
			"node_taints[1]", `Duplicate Node Taint`, `a`),
		poolCase("taint bad effect", `node_taints = [{ key = "a", effect = "Never" }]`, "node_taints[0].effect", oneOf, `value must be one of`),
		poolCase("taint empty value", `node_taints = [{ key = "a", value = "", effect = "NoSchedule" }]`, "node_taints[0].value",
			length, `string length must be at least 1`),
		poolAccept("taints empty", "taints-empty", `node_taints = []`),

		// Files (the KubeadmConfigTemplate CRD and the KubeadmConfig webhook).
		poolAccept("files empty", "files-empty", `files = []`),
		poolCase("file duplicate path", `files = [{ path = "/etc/motd", content = "a" }, { path = "/etc/motd", content = "b" }]`,
			"files[1].path", `Duplicate File Path`, `files\[1\]\.path: files\[0\] and files\[1\] have the same path`),
		poolCase("file relative path", `files = [{ path = "etc/motd", content = "a" }]`, "files[0].path", `Invalid File Path`, `not an absolute path`),
		poolCase("file directory path", `files = [{ path = "/etc/", content = "a" }]`, "files[0].path", `Invalid File Path`, `names a directory`),
		poolCase("file content not base64", `files = [{ path = "/etc/x", content = "not base64!", encoding = "base64" }]`,
			"files[0].content", `Invalid File Content`, `The content is not base64`),
		poolCase("file content not gzip", `files = [{ path = "/etc/x", content = base64encode("plain"), encoding = "gzip+base64" }]`,
			"files[0].content", `Invalid File Content`, `not gzip data`),
		poolCase("file gzip inline", `files = [{ path = "/etc/x", content = "abc", encoding = "gzip" }]`,
			"files[0].content", `Invalid File Content`, `use encoding = "gzip\+base64"`),
		poolCase("file content too long", `files = [{ path = "/etc/x", content = format("%010241d", 0) }]`,
			"files[0].content", `Invalid File Content`, `at most 10240 inline`),
		poolCase("file bad owner", `files = [{ path = "/etc/x", content = "a", owner = "root root" }]`, "files[0].owner", `Invalid File Owner`, `not user or user:group`),
		poolCase("file bad permissions", `files = [{ path = "/etc/x", content = "a", permissions = "0849" }]`, "files[0].permissions",
			`Invalid File Permissions`, `not octal permissions`),
		poolCase("file bad encoding", `files = [{ path = "/etc/x", content = "a", encoding = "zip" }]`, "files[0].encoding", oneOf, `value must be one of`),
		poolCase("file bad secret key", `files = [{ path = "/etc/x", secret_name = "s", secret_key = "a/b" }]`, "files[0].secret_key",
			`Invalid Secret Key`, `not a key a Secret can have`),
		poolCase("file secret name without key", `files = [{ path = "/etc/x", secret_name = "s" }]`, "files[0].secret_name", combination, `"files\[0\]\.secret_key" must be specified`),
		poolCase("file content and secret", `files = [{ path = "/etc/x", content = "a", secret_name = "s", secret_key = "k" }]`,
			"files[0].secret_name", combination, `cannot be specified when "files\[0\]\.content" is specified`),

		// Commands.
		poolAccept("commands empty", "commands-empty", `pre_kubeadm_commands = []`),
		poolCase("command empty string", `post_kubeadm_commands = [""]`, "post_kubeadm_commands[0]", length, `string length must be at least 1`),
		poolCase("command too long", `pre_kubeadm_commands = [format("%010241d", 0)]`, "pre_kubeadm_commands[0]", `Command Too Long`, `10240`),

		// Health check (the MachineHealthCheck webhook).
		poolCase("health check empty", `health_check = {}`, "health_check", `Health Check Checks Nothing`, `health_check`),
		poolCase("health check only empty conditions", `health_check = { unhealthy_node_conditions = [] }`, "health_check",
			`Health Check Checks Nothing`, `health_check`),
		poolAccept("health check empty conditions", "health-empty", `health_check = { node_startup_timeout_seconds = 600, unhealthy_node_conditions = [] }`),
		poolCase("health check short startup", `health_check = { node_startup_timeout_seconds = 10 }`, "health_check.node_startup_timeout_seconds",
			`Invalid Attribute Value`, `must be 0 \(off\) or between 30 and 2147483647, got: 10`),
		poolCase("health check bad max unhealthy", `health_check = { node_startup_timeout_seconds = 600, max_unhealthy = "40 %" }`,
			"health_check.max_unhealthy", count, `40 %`),
		poolCase("health check bad status", `health_check = { unhealthy_node_conditions = [{ type = "Ready", status = "Maybe", timeout_seconds = 300 }] }`,
			"health_check.unhealthy_node_conditions[0].status", oneOf, `value must be one of`),

		// Names, version, infrastructure.
		poolCaseBody("bad name", `name         = "workers"`, `name         = "Workers_1"`, "name", invalid, `is not a DNS-1123 label`),
		poolCaseBody("bad cluster name", `cluster_name = "work"`, `cluster_name = "1work"`, "cluster_name", invalid, `is not a DNS-1035 label`),
		poolCase("bad version", `version = "1.35"`, "version", invalid, `write major\.minor\.patch`),
		poolCase("failure domain empty", `failure_domain = ""`, "failure_domain", length, `string length must be at least 1`),
		poolCaseBody("infrastructure spec not an object", `jsonencode({ customImage = "kindest/node:v1.35.2" })`, `"[1, 2]"`,
			"infrastructure.spec", `Template Spec Is Not A JSON Object`, `infrastructure\.spec must be a JSON object`),
	}
}
