package helmrelease

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

func TestValuesChecksum(t *testing.T) {
	t.Parallel()
	base := ValuesChecksum(map[string]any{"a": 1, "b": map[string]any{"c": "x", "d": []any{1, 2}}})
	for _, tc := range []struct {
		name   string
		values map[string]any
		same   bool
	}{
		{"float numbers as decoded from storage", map[string]any{"b": map[string]any{"d": []any{1.0, 2.0}, "c": "x"}, "a": 1.0}, true},
		{"changed value", map[string]any{"a": 2, "b": map[string]any{"c": "x", "d": []any{1, 2}}}, false},
		{"list order matters", map[string]any{"a": 1, "b": map[string]any{"c": "x", "d": []any{2, 1}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ValuesChecksum(tc.values) == base; got != tc.same {
				t.Errorf("same checksum = %v, want %v", got, tc.same)
			}
		})
	}
	if ValuesChecksum(nil) != ValuesChecksum(map[string]any{}) {
		t.Error("nil and empty values differ")
	}
	if len(base) != 64 {
		t.Errorf("checksum %q is not a hex sha256", base)
	}
}

func job(conditions ...map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "batch/v1", "kind": "Job",
		"metadata": map[string]any{"name": "db-sync", "namespace": "openstack"},
		"spec":     map[string]any{},
		"status":   map[string]any{"startTime": "2026-01-01T00:00:00Z", "active": int64(1)},
	}}
	if len(conditions) > 0 {
		conds := make([]any, len(conditions))
		for i, c := range conditions {
			conds[i] = c
		}
		u.Object["status"].(map[string]any)["conditions"] = conds
	}
	return u
}

func TestComputeStatus(t *testing.T) {
	t.Parallel()
	deployment := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "api", "namespace": "openstack", "generation": int64(1)},
		"spec":     map[string]any{"replicas": int64(1)},
		"status": map[string]any{"observedGeneration": int64(1), "replicas": int64(1), "updatedReplicas": int64(1),
			"readyReplicas": int64(1), "availableReplicas": int64(1),
			"conditions": []any{map[string]any{"type": "Available", "status": "True"}}},
	}}
	for _, tc := range []struct {
		name    string
		obj     *unstructured.Unstructured
		want    status.Status
		message string
	}{
		{"running Job is not ready", job(), status.InProgressStatus, "Job not complete"},
		{"complete Job", job(map[string]any{"type": "Complete", "status": "True"}), status.CurrentStatus, "Completed"},
		{"failed Job", job(map[string]any{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}),
			status.FailedStatus, "Job failed: BackoffLimitExceeded: Job has reached the specified backoff limit"},
		{"other kinds follow kstatus", deployment, status.CurrentStatus, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := computeStatus(tc.obj)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.want || !strings.Contains(res.Message, tc.message) {
				t.Errorf("got %s %q, want %s containing %q", res.Status, res.Message, tc.want, tc.message)
			}
		})
	}
}

func TestErrorsAndStatusText(t *testing.T) {
	t.Parallel()
	err := &FailedError{Release: "openstack/keystone", Operation: "install", Object: "hook Job openstack/keystone-db-sync",
		Condition: "Failed: Job failed: BackoffLimitExceeded", Reverted: "uninstalled",
		Err: errors.New("failed post-install: 1 error occurred:\n\t* job keystone-db-sync failed: BackoffLimitExceeded\n\n")}
	want := "helm release openstack/keystone: install failed at hook Job openstack/keystone-db-sync (Failed: Job failed: BackoffLimitExceeded): " +
		"failed post-install: job keystone-db-sync failed: BackoffLimitExceeded; the release was uninstalled"
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	st := Status{Release: "openstack/keystone", Objects: []ObjectStatus{
		{Kind: "ConfigMap", Namespace: "openstack", Name: "etc", Status: "Current"},
		{Kind: "Deployment", Namespace: "openstack", Name: "keystone-api", Status: "InProgress", Message: "Available: 0/1"},
	}}
	if got := st.String(); got != "1 of 2 objects not ready: Deployment openstack/keystone-api InProgress: Available: 0/1" {
		t.Errorf("status text: %s", got)
	}
	st.Objects[1].Status = "Current"
	if !st.Ready() || st.String() != "all 2 objects ready" {
		t.Errorf("ready status: %v %s", st.Ready(), st)
	}
}
