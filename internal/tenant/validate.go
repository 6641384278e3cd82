package tenant

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The rules below are Kubernetes' own for ResourceQuotas and LimitRanges
// (k8s.io/kubernetes pkg/apis/core/validation: ValidateResourceQuota, ValidateLimitRange
// and the resource-name helpers of pkg/apis/core/helper), restated here so that a tenant
// the API server would refuse is refused at plan, before its namespace is created.

// standardResources are the resource names without a domain Kubernetes knows.
var standardResources = []corev1.ResourceName{
	corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage,
	corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsEphemeralStorage,
	corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceLimitsEphemeralStorage,
	corev1.ResourcePods, corev1.ResourceQuotas, corev1.ResourceServices, corev1.ResourceReplicationControllers,
	corev1.ResourceSecrets, corev1.ResourceConfigMaps, corev1.ResourcePersistentVolumeClaims, corev1.ResourceStorage,
	corev1.ResourceRequestsStorage, corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers,
}

// QuotaResources are the resource names without a domain a ResourceQuota can limit
// (besides hugepages-<size> and requests.hugepages-<size>).
var QuotaResources = []corev1.ResourceName{
	corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage,
	corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsStorage, corev1.ResourceRequestsEphemeralStorage,
	corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceLimitsEphemeralStorage,
	corev1.ResourcePods, corev1.ResourceQuotas, corev1.ResourceServices, corev1.ResourceReplicationControllers,
	corev1.ResourceSecrets, corev1.ResourcePersistentVolumeClaims, corev1.ResourceConfigMaps,
	corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers,
}

// ContainerResources are the resource names without a domain a container's limits and
// requests, and so a LimitRange of containers, can name (besides hugepages-<size>).
var ContainerResources = []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage}

// integerResources are counted in whole units.
var integerResources = []corev1.ResourceName{
	corev1.ResourcePods, corev1.ResourceQuotas, corev1.ResourceServices, corev1.ResourceReplicationControllers,
	corev1.ResourceSecrets, corev1.ResourceConfigMaps, corev1.ResourcePersistentVolumeClaims,
	corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers,
}

func isHugePages(name string) bool { return strings.HasPrefix(name, corev1.ResourceHugePagesPrefix) }

func isQuotaHugePages(name string) bool {
	return isHugePages(name) || strings.HasPrefix(name, corev1.ResourceRequestsHugePagesPrefix)
}

// isNative reports whether a resource is Kubernetes' own: no domain, or a kubernetes.io one.
func isNative(name string) bool {
	return !strings.Contains(name, "/") || strings.Contains(name, corev1.ResourceDefaultNamespacePrefix)
}

// isExtended reports whether name is an extended resource (example.com/gpu).
func isExtended(name string) bool {
	if isNative(name) || strings.HasPrefix(name, corev1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(validation.IsQualifiedName(corev1.DefaultResourceRequestsPrefix+name)) == 0
}

// overcommitAllowed reports whether a container's request may be below its limit.
func overcommitAllowed(name string) bool { return isNative(name) && !isHugePages(name) }

func isInteger(name string) bool {
	return slices.Contains(integerResources, corev1.ResourceName(name)) || isExtended(name)
}

// checkResourceName is validateResourceName: a qualified name, and one Kubernetes knows
// when it has no domain.
func checkResourceName(name string) error {
	if problems := validation.IsQualifiedName(name); len(problems) > 0 {
		return fmt.Errorf("%q is not a resource name: %s", name, strings.Join(problems, "; "))
	}
	if !strings.Contains(name, "/") && !slices.Contains(standardResources, corev1.ResourceName(name)) && !isQuotaHugePages(name) {
		return fmt.Errorf("%q is not a resource Kubernetes knows: give a standard one (e.g. cpu, memory) or one with a domain (example.com/gpu)", name)
	}
	return nil
}

// CheckQuotaResourceName refuses a key a ResourceQuota's hard limits cannot have.
func CheckQuotaResourceName(name string) error {
	if err := checkResourceName(name); err != nil {
		return err
	}
	if !strings.Contains(name, "/") && !slices.Contains(QuotaResources, corev1.ResourceName(name)) && !isQuotaHugePages(name) {
		return fmt.Errorf("%q is not a resource a quota can limit: use e.g. requests.cpu, limits.memory, requests.storage, pods, "+
			"or count/<resource>.<group> for object counts", name)
	}
	return nil
}

// CheckContainerResourceName refuses a resource a LimitRange of containers cannot name.
func CheckContainerResourceName(name string) error {
	if err := checkResourceName(name); err != nil {
		return err
	}
	if !strings.Contains(name, "/") {
		if !slices.Contains(ContainerResources, corev1.ResourceName(name)) && !isHugePages(name) {
			return fmt.Errorf("%q is not a resource of containers: use cpu, memory, ephemeral-storage, hugepages-<size> or an "+
				"extended resource (example.com/gpu)", name)
		}
		return nil
	}
	if !isNative(name) && !isExtended(name) {
		return fmt.Errorf("%q is not an extended resource name (<domain>/<name>, not starting with requests.)", name)
	}
	return nil
}

// ParseQuantity reads a quantity as the API server does, refusing a negative one.
func ParseQuantity(s string) (resource.Quantity, error) {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return q, fmt.Errorf("%q is not a quantity: write a number with an optional suffix such as m, k, M, G, Ki, Mi, Gi", s)
	}
	if q.Sign() < 0 {
		return q, fmt.Errorf("%q is negative: quantities must be at least 0", s)
	}
	return q, nil
}

// CheckQuantity refuses a quantity of a resource Kubernetes counts in whole units (pods,
// services, extended resources, ...) that is a fraction (ValidateResourceQuantityValue).
func CheckQuantity(name string, q resource.Quantity) error {
	if q.Sign() < 0 {
		return fmt.Errorf("%s is negative: quantities must be at least 0", q.String())
	}
	if isInteger(name) && q.MilliValue()%1000 != 0 {
		return fmt.Errorf("%s of %s is not a whole number: %s is counted in whole units", q.String(), name, name)
	}
	return nil
}

// LimitField names a field of Limits.
type LimitField string

// The fields of Limits, in the order a container's value must respect:
// min <= default_request <= default <= max.
const (
	FieldMin            LimitField = "Min"
	FieldDefaultRequest LimitField = "DefaultRequest"
	FieldDefault        LimitField = "Default"
	FieldMax            LimitField = "Max"
	FieldMaxRatio       LimitField = "MaxLimitRequestRatio"
)

// LimitError is a rule of ValidateLimitRange that Limits break for one resource: Field's
// value (Value) against Other's (OtherValue), or alone when Other is "".
type LimitError struct {
	Resource          string
	Field, Other      LimitField
	Value, OtherValue resource.Quantity
	// Rule says what is wrong, to follow "<field> <value>".
	Rule string
}

func (e *LimitError) Error() string {
	if e.Other == "" {
		return fmt.Sprintf("%s[%q] %s %s", e.Field, e.Resource, e.Value.String(), e.Rule)
	}
	return fmt.Sprintf("%s[%q] %s %s %s[%q] %s", e.Field, e.Resource, e.Value.String(), e.Rule, e.Other, e.Resource, e.OtherValue.String())
}

// CheckLimits returns every rule of Kubernetes' LimitRange validation the container limits
// break, sorted by resource: min <= default_request <= default <= max, min <= max, a
// max limit/request ratio of at least 1 and at most max/min, and, for resources that
// cannot be overcommitted (hugepages, extended resources), default_request = default.
func CheckLimits(l *Limits) []*LimitError {
	if l == nil {
		return nil
	}
	names := map[string]bool{}
	for _, m := range []map[string]resource.Quantity{l.Min, l.DefaultRequest, l.Default, l.Max, l.MaxLimitRequestRatio} {
		for k := range m {
			names[k] = true
		}
	}
	var errs []*LimitError
	for _, k := range sortedKeys(names) {
		get := func(f LimitField) (resource.Quantity, bool) {
			q, ok := l.field(f)[k]
			return q, ok
		}
		above := func(low, high LimitField, rule string) {
			lq, lok := get(low)
			hq, hok := get(high)
			if lok && hok && lq.Cmp(hq) > 0 {
				errs = append(errs, &LimitError{Resource: k, Field: low, Value: lq, Other: high, OtherValue: hq, Rule: rule})
			}
		}
		above(FieldMin, FieldMax, "is greater than")
		above(FieldMin, FieldDefaultRequest, "is greater than")
		above(FieldDefaultRequest, FieldMax, "is greater than")
		above(FieldDefaultRequest, FieldDefault, "is greater than")
		above(FieldMin, FieldDefault, "is greater than")
		above(FieldDefault, FieldMax, "exceeds")
		if ratio, ok := get(FieldMaxRatio); ok {
			if ratio.Cmp(*resource.NewQuantity(1, resource.DecimalSI)) < 0 {
				errs = append(errs, &LimitError{Resource: k, Field: FieldMaxRatio, Value: ratio, Rule: "is less than 1: a limit is never below its request"})
			}
			lo, lok := get(FieldMin)
			hi, hok := get(FieldMax)
			if lok && hok && lo.Sign() > 0 && ratioValue(ratio, lo, hi) {
				errs = append(errs, &LimitError{Resource: k, Field: FieldMaxRatio, Value: ratio, Rule: fmt.Sprintf(
					"is greater than max/min (%s/%s): no container within min and max could use it", hi.String(), lo.String())})
			}
		}
		d, dok := get(FieldDefault)
		dr, drok := get(FieldDefaultRequest)
		if !overcommitAllowed(k) && dok && drok && d.Cmp(dr) != 0 {
			errs = append(errs, &LimitError{Resource: k, Field: FieldDefaultRequest, Value: dr, Other: FieldDefault, OtherValue: d,
				Rule: "must equal, as " + k + " cannot be overcommitted:"})
		}
	}
	return errs
}

// ratioValue reports whether ratio is above max/min, computed as Kubernetes does (in
// milli-units when every value fits).
func ratioValue(ratio, lo, hi resource.Quantity) bool {
	r, l, h := float64(ratio.Value()), lo.Value(), hi.Value()
	if ratio.Value() < resource.MaxMilliValue && l < resource.MaxMilliValue && h < resource.MaxMilliValue {
		r, l, h = float64(ratio.MilliValue())/1000, lo.MilliValue(), hi.MilliValue()
	}
	if l == 0 {
		return false
	}
	return r > float64(h)/float64(l)
}

func (l *Limits) field(f LimitField) map[string]resource.Quantity {
	switch f {
	case FieldMin:
		return l.Min
	case FieldDefaultRequest:
		return l.DefaultRequest
	case FieldDefault:
		return l.Default
	case FieldMax:
		return l.Max
	default:
		return l.MaxLimitRequestRatio
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// MemberConflict is one identity listed twice among a tenant's members: under two roles,
// or twice under one role spelled differently (a ServiceAccount with and without the
// tenant's namespace). First and Second index the members.
type MemberConflict struct {
	First, Second int
}

// Identity is the RBAC subject a member is: kind, namespace (ServiceAccounts only, the
// tenant's when empty) and name.
func (m Member) Identity(tenantNamespace string) string {
	if m.Kind == KindServiceAccount {
		ns := m.Namespace
		if ns == "" {
			ns = tenantNamespace
		}
		return m.Kind + " " + ns + "/" + m.Name
	}
	return m.Kind + " " + m.Name
}

// CheckMembers returns the members that repeat an identity of an earlier one. One
// identity with two roles would be bound twice, and the weaker role would be a lie:
// RBAC grants the union.
func CheckMembers(members []Member, tenantNamespace string) []MemberConflict {
	var out []MemberConflict
	seen := map[string]int{}
	for i, m := range members {
		id := m.Identity(tenantNamespace)
		if first, ok := seen[id]; ok {
			out = append(out, MemberConflict{First: first, Second: i})
			continue
		}
		seen[id] = i
	}
	return out
}
