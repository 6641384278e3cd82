package provider

import (
	"strings"

	tfacctest "github.com/hashicorp/terraform-plugin-testing/helper/acctest"
)

// The bad-input suite's cases of qumulus_tenant (see badinput_test.go).
var _ = addBadInputs(tenantBadInputs()...)

// tenantCase is a qumulus_tenant case refused by terraform validate whose body is a valid tenant plus extra.
func tenantCase(name, extra, attr, summary, detail string) badInput {
	return badInput{name: name, resource: "qumulus_tenant", phase: "validate", attr: attr, summary: summary, detail: detail,
		body: "  name = \"acme\"\n  " + extra}
}

// badInputTenantRun tells this run's accepted tenants from those of runs beside it.
var badInputTenantRun = tfacctest.RandString(6)

// tenantAccept is a tenant that must be applied and then plan no changes.
func tenantAccept(name, suffix, extra string) badInput {
	return badInput{name: name, resource: "qumulus_tenant", accept: true,
		body: "  name          = \"acc-bi-" + badInputTenantRun + "-" + suffix + "\"\n  force_destroy = true\n  " + extra}
}

func tenantBadInputs() []badInput {
	v := "validate"
	const (
		invalid = `Invalid Value`
		limits  = `Invalid Limit Range`
		oneOf   = `Invalid Attribute Value Match`
	)
	return []badInput{
		// LimitRange (Kubernetes' ValidateLimitRange).
		tenantCase("limit default above max", `limit_range = { default = { "cpu" = "4" }, max = { "cpu" = "2" } }`, `limit_range.default["cpu"]`,
			limits, `limit_range\.default\["cpu"\] 4 exceeds limit_range\.max\["cpu"\] 2`),
		tenantCase("limit min above max", `limit_range = { min = { "memory" = "2Gi" }, max = { "memory" = "1Gi" } }`, `limit_range.min["memory"]`,
			limits, `2Gi is greater than limit_range\.max\["memory"\] 1Gi`),
		// The provider reports the error on min["cpu"]; Terraform 1.5 points errors on nested
		// attributes at the resource block, and the suite then takes the longest attribute
		// the detail names, here default_request's entry.
		tenantCase("limit min above default request", `limit_range = { min = { "cpu" = "500m" }, default_request = { "cpu" = "250m" } }`,
			`limit_range.default_request["cpu"]`, limits, `is greater than limit_range\.default_request\["cpu"\]`),
		tenantCase("limit default request above default", `limit_range = { default_request = { "cpu" = "2" }, default = { "cpu" = "1" } }`,
			`limit_range.default_request["cpu"]`, limits, `is greater than limit_range\.default\["cpu"\] 1`),
		tenantCase("limit default request above max", `limit_range = { default_request = { "cpu" = "3" }, max = { "cpu" = "2" } }`,
			`limit_range.default_request["cpu"]`, limits, `is greater than limit_range\.max\["cpu"\] 2`),
		tenantCase("limit ratio below one", `limit_range = { max_limit_request_ratio = { "cpu" = "0.5" } }`,
			`limit_range.max_limit_request_ratio["cpu"]`, limits, `500m is less than 1`),
		tenantCase("limit ratio above max over min", `limit_range = { min = { "cpu" = "1" }, max = { "cpu" = "2" }, max_limit_request_ratio = { "cpu" = "3" } }`,
			`limit_range.max_limit_request_ratio["cpu"]`, limits, `is greater than max/min`),
		tenantCase("limit hugepages overcommitted", `limit_range = { default = { "hugepages-2Mi" = "4Mi" }, default_request = { "hugepages-2Mi" = "2Mi" } }`,
			`limit_range.default_request["hugepages-2Mi"]`, limits, `cannot be overcommitted`),
		tenantCase("limit resource of pods", `limit_range = { max = { "pods" = "10" } }`, `limit_range.max["pods"]`,
			`Invalid Container Resource`, `"pods" is not a resource of containers`),
		tenantCase("limit extended resource with requests prefix", `limit_range = { max = { "requests.example.com/gpu" = "1" } }`,
			`limit_range.max["requests.example.com/gpu"]`, `Invalid Container Resource`, `not an extended resource name`),
		tenantCase("limit extended resource fraction", `limit_range = { max = { "example.com/gpu" = "0.5" } }`,
			`limit_range.max["example.com/gpu"]`, `Invalid Quantity`, `is not a whole number`),
		tenantCase("limit bad quantity", `limit_range = { max = { "memory" = "1GB of RAM" } }`, `limit_range.max["memory"]`,
			invalid, `is not a non-negative Kubernetes quantity`),
		tenantAccept("limit empty maps", "limits", `limit_range = { default = {}, max = { "cpu" = "2" }, max_limit_request_ratio = {} }`),

		// ResourceQuota.
		tenantAccept("quota empty", "quota", `quota = {}`),
		tenantCase("quota not a quota resource", `quota = { "storage" = "10Gi" }`, `quota["storage"]`, `Invalid Quota Resource`, `is not a resource a quota can limit`),
		tenantCase("quota unknown resource", `quota = { "gpu" = "1" }`, `quota["gpu"]`, `Invalid Quota Resource`, `is not a resource Kubernetes knows`),
		tenantCase("quota bad resource name", `quota = { "requests cpu" = "1" }`, `quota["requests cpu"]`, `Invalid Quota Resource`, `is not a resource name`),
		tenantCase("quota fraction of pods", `quota = { "pods" = "1.5" }`, `quota["pods"]`, `Invalid Quantity`, `1500m of pods is not a whole number`),
		tenantCase("quota negative", `quota = { "pods" = "-3" }`, `quota["pods"]`, invalid, `must not be negative`),
		tenantCase("quota not a quantity", `quota = { "requests.cpu" = "lots" }`, `quota["requests.cpu"]`, invalid, `is not a non-negative Kubernetes quantity`),

		// Members.
		tenantCase("identity under two roles", `members = [{ kind = "User", name = "alice", role = "admin" }, { kind = "User", name = "alice", role = "view" }]`,
			"members", `Member Listed Under Two Roles`, `User alice is listed under two roles`),
		tenantCase("group under two roles", `members = [{ kind = "Group", name = "devs", role = "edit" }, { kind = "Group", name = "devs", role = "view" }]`,
			"members", `Member Listed Under Two Roles`, `Group devs is listed under two roles`),
		tenantCase("service account twice",
			`members = [{ kind = "ServiceAccount", name = "ci", role = "view" }, { kind = "ServiceAccount", name = "ci", namespace = "tenant-acme", role = "view" }]`,
			"members", `Duplicate Member`, `ci`),
		tenantCase("service account two roles across spellings",
			`members = [{ kind = "ServiceAccount", name = "ci", role = "view" }, { kind = "ServiceAccount", name = "ci", namespace = "tenant-acme", role = "admin" }]`,
			"members", `Member Listed Under Two Roles`, `ci`),
		tenantAccept("members empty", "members", `members = []`),
		tenantCase("unknown role", `members = [{ kind = "User", name = "alice", role = "owner" }]`, "members", oneOf, `value must be one of`),
		tenantCase("unknown member kind", `members = [{ kind = "Robot", name = "r2", role = "view" }]`, "members", oneOf, `value must be one of`),
		tenantCase("namespace on a user", `members = [{ kind = "User", name = "alice", namespace = "x", role = "view" }]`, "members",
			`Namespace Only For Service Accounts`, `User`),
		tenantCase("bad service account name", `members = [{ kind = "ServiceAccount", name = "CI Bot", role = "view" }]`, "members",
			invalid, `"CI Bot" is not a DNS-1123 subdomain`),

		// Names, labels, network isolation.
		{name: "name not a DNS label", resource: "qumulus_tenant", phase: v, body: `  name = "Acme_Corp"`, attr: "name",
			summary: invalid, detail: `is not a DNS-1123 label`},
		{name: "name too long for its namespace", resource: "qumulus_tenant", phase: v, body: `  name = "` + strings.Repeat("a", 60) + `"`,
			attr: "name", summary: `Tenant Name Too Long For Its Namespace`, detail: `.*`},
		tenantCase("system namespace", `namespace = "kube-system"`, "namespace", oneOf, `value must be none of`),
		tenantCase("reserved label", `labels = { "qumulus.io/tenant" = "other" }`, `labels["qumulus.io/tenant"]`, `Reserved Label`, `qumulus\.io/tenant`),
		tenantCase("bad label value", `labels = { "team" = "a/b" }`, `labels["team"]`, invalid, `is not a label value`),
		tenantAccept("labels empty", "labels", `labels = {}`),
		tenantCase("empty namespace selector", `network_isolation = { allowed_namespace_selectors = [{}] }`,
			"network_isolation", `Invalid Attribute Value`, `map must contain at least 1 elements`),
	}
}
