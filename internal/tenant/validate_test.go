package tenant

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

func qs(kv ...string) map[string]resource.Quantity {
	out := map[string]resource.Quantity{}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = resource.MustParse(kv[i+1])
	}
	return out
}

func TestCheckLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		limits Limits
		want   []string
	}{
		{"consistent", Limits{Min: qs("cpu", "100m"), DefaultRequest: qs("cpu", "250m"), Default: qs("cpu", "1"), Max: qs("cpu", "2"),
			MaxLimitRequestRatio: qs("cpu", "4")}, nil},
		{"equal everywhere", Limits{Min: qs("memory", "1Gi"), DefaultRequest: qs("memory", "1Gi"), Default: qs("memory", "1Gi"), Max: qs("memory", "1Gi")}, nil},
		{"default above max", Limits{Default: qs("cpu", "4"), Max: qs("cpu", "2")}, []string{`Default["cpu"] 4 exceeds Max["cpu"] 2`}},
		{"min above max", Limits{Min: qs("memory", "2Gi"), Max: qs("memory", "1Gi")}, []string{`Min["memory"] 2Gi is greater than Max["memory"] 1Gi`}},
		{"request above default", Limits{DefaultRequest: qs("cpu", "2"), Default: qs("cpu", "1")}, []string{`DefaultRequest["cpu"] 2 is greater than Default["cpu"] 1`}},
		{"min above request", Limits{Min: qs("cpu", "500m"), DefaultRequest: qs("cpu", "250m")}, []string{`Min["cpu"] 500m is greater than DefaultRequest["cpu"] 250m`}},
		{"min above default", Limits{Min: qs("cpu", "2"), Default: qs("cpu", "1")}, []string{`Min["cpu"] 2 is greater than Default["cpu"] 1`}},
		{"request above max", Limits{DefaultRequest: qs("cpu", "3"), Max: qs("cpu", "2")}, []string{`DefaultRequest["cpu"] 3 is greater than Max["cpu"] 2`}},
		{"ratio below 1", Limits{MaxLimitRequestRatio: qs("cpu", "500m")}, []string{`MaxLimitRequestRatio["cpu"] 500m is less than 1`}},
		{"ratio above max/min", Limits{Min: qs("cpu", "1"), Max: qs("cpu", "2"), MaxLimitRequestRatio: qs("cpu", "3")},
			[]string{`MaxLimitRequestRatio["cpu"] 3 is greater than max/min (2/1)`}},
		{"ratio at max/min", Limits{Min: qs("cpu", "1"), Max: qs("cpu", "2"), MaxLimitRequestRatio: qs("cpu", "2")}, nil},
		{"hugepages overcommitted", Limits{Default: qs("hugepages-2Mi", "4Mi"), DefaultRequest: qs("hugepages-2Mi", "2Mi")},
			[]string{`DefaultRequest["hugepages-2Mi"] 2Mi must equal, as hugepages-2Mi cannot be overcommitted: Default["hugepages-2Mi"] 4Mi`}},
		{"extended resource equal", Limits{Default: qs("example.com/gpu", "1"), DefaultRequest: qs("example.com/gpu", "1")}, nil},
		{"two resources, sorted", Limits{Default: qs("memory", "4Gi", "cpu", "4"), Max: qs("memory", "2Gi", "cpu", "2")},
			[]string{`Default["cpu"] 4 exceeds`, `Default["memory"] 4Gi exceeds`}},
		{"different resources do not compare", Limits{Default: qs("cpu", "4"), Max: qs("memory", "2Gi")}, nil},
	}
	for _, tt := range tests {
		got := CheckLimits(&tt.limits)
		if len(got) != len(tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
			continue
		}
		for i, w := range tt.want {
			if !strings.Contains(got[i].Error(), w) {
				t.Errorf("%s: %q does not contain %q", tt.name, got[i], w)
			}
		}
	}
	if CheckLimits(nil) != nil {
		t.Error("no limits, no errors")
	}
}

func TestResourceNames(t *testing.T) {
	t.Parallel()
	quota := map[string]string{
		"requests.cpu": "", "limits.memory": "", "pods": "", "requests.storage": "", "hugepages-2Mi": "",
		"requests.hugepages-1Gi": "", "count/tenantcontrolplanes.kamaji.clastix.io": "", "services.loadbalancers": "",
		"requests.example.com/gpu": "",
		"storage":                  "not a resource a quota can limit", "gpu": "not a resource Kubernetes knows",
		"requests cpu": "not a resource name", "limits.storage": "not a resource Kubernetes knows",
	}
	for name, want := range quota {
		err := CheckQuotaResourceName(name)
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("CheckQuotaResourceName(%q) = %v, want %q", name, err, want)
		}
	}
	container := map[string]string{
		"cpu": "", "memory": "", "ephemeral-storage": "", "hugepages-2Mi": "", "example.com/gpu": "", "foo.kubernetes.io/bar": "",
		"pods": "not a resource of containers", "requests.cpu": "not a resource of containers", "storage": "not a resource of containers",
		"requests.example.com/gpu": "not an extended resource name", "gpu": "not a resource Kubernetes knows",
	}
	for name, want := range container {
		err := CheckContainerResourceName(name)
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("CheckContainerResourceName(%q) = %v, want %q", name, err, want)
		}
	}
}

func TestCheckQuantity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, q string
		ok      bool
	}{
		{"pods", "10", true}, {"pods", "1500m", false}, {"pods", "1k", true}, {"services", "0.5", false},
		{"example.com/gpu", "500m", false}, {"example.com/gpu", "2", true}, {"cpu", "500m", true}, {"memory", "-1", false},
		{"count/tenantcontrolplanes.kamaji.clastix.io", "3", true},
	}
	for _, tt := range tests {
		if err := CheckQuantity(tt.name, resource.MustParse(tt.q)); (err == nil) != tt.ok {
			t.Errorf("CheckQuantity(%s, %s) = %v, want ok %v", tt.name, tt.q, err, tt.ok)
		}
	}
	if _, err := ParseQuantity("-1"); err == nil {
		t.Error("negative quantity parsed")
	}
	if _, err := ParseQuantity("lots"); err == nil {
		t.Error("words parsed")
	}
}

func TestCheckMembers(t *testing.T) {
	t.Parallel()
	members := []Member{
		{Kind: KindUser, Name: "alice", Role: RoleAdmin},
		{Kind: KindGroup, Name: "alice", Role: RoleView},
		{Kind: KindUser, Name: "alice", Role: RoleView},
		{Kind: KindServiceAccount, Name: "ci", Role: RoleEdit},
		{Kind: KindServiceAccount, Name: "ci", Namespace: "tenant-acme", Role: RoleEdit},
		{Kind: KindServiceAccount, Name: "ci", Namespace: "other", Role: RoleView},
	}
	got := CheckMembers(members, "tenant-acme")
	want := []MemberConflict{{First: 0, Second: 2}, {First: 3, Second: 4}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("CheckMembers = %v, want %v", got, want)
	}
	if id := members[4].Identity("tenant-acme"); id != "ServiceAccount tenant-acme/ci" {
		t.Errorf("Identity = %q", id)
	}
}
