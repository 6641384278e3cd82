package provider

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/openstack"
)

// TestAddOpenStackError_tenantUnreachable: a tenant API server that does not answer is
// reported once, naming the cluster, its address and the interrupted releases, never as
// the management cluster being unreachable or a release having failed.
func TestAddOpenStackError_tenantUnreachable(t *testing.T) {
	const mgmt = "https://10.0.0.1:6443/"
	m := &openstackModel{
		Namespace: types.StringValue("tenant-a"), ClusterName: types.StringValue("prod"),
		ReleaseNamespace: types.StringValue("openstack"),
	}
	noAnswer := func(host string) error {
		return fmt.Errorf("helm release openstack/placement: install failed at hook: %w",
			&kube.NoAnswerError{Host: host, Method: "POST", Path: "/apis/batch/v1/namespaces/openstack/jobs", Attempts: 7, Err: syscall.ECONNREFUSED})
	}
	tests := map[string]struct {
		action  string
		err     error
		summary []string
		want    []string
	}{
		"install": {
			action: actionCreating,
			err: errors.Join(
				&openstack.StepError{Services: []string{"placement"}, Err: noAnswer("https://10.0.0.9:6443")},
				&openstack.StepError{Services: []string{"nova", "neutron"}, Skipped: []string{"placement"}},
				&openstack.StepError{Services: []string{"horizon"}, Err: noAnswer("https://10.0.0.9:6443")},
			),
			summary: []string{"Tenant API Server Unreachable"},
			want:    []string{"cluster tenant-a/prod at https://10.0.0.9:6443", "release horizon, placement of openstack", "left pending"},
		},
		"install with another failure": {
			action: actionUpdating,
			err: errors.Join(
				&openstack.StepError{Services: []string{"placement"}, Err: noAnswer("https://10.0.0.9:6443")},
				&openstack.StepError{Services: []string{"glance"}, Err: errors.New("chart says no")},
			),
			summary: []string{"OpenStack Release Failed", "Tenant API Server Unreachable"},
			want:    []string{"chart says no", "release placement of openstack"},
		},
		"refresh": {
			action:  actionReading,
			err:     fmt.Errorf("reading namespace openstack: %w", noAnswer("https://10.0.0.9:6443")),
			summary: []string{"Tenant API Server Unreachable"},
			want:    []string{"cluster tenant-a/prod at https://10.0.0.9:6443", "while reading the releases", "apply (or plan) again"},
		},
		"management cluster": {
			action:  actionReading,
			err:     fmt.Errorf("reading the tenant cluster's kubeconfig: %w", noAnswer("https://10.0.0.1:6443")),
			summary: []string{"Management Cluster Unreachable"},
			want:    []string{"https://10.0.0.1:6443/"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var diags diag.Diagnostics
			addOpenStackError(&diags, mgmt, m, tc.action, 0, tc.err)
			var summaries []string
			var details strings.Builder
			for _, d := range diags {
				summaries = append(summaries, d.Summary())
				details.WriteString(d.Detail() + "\n")
			}
			if fmt.Sprint(summaries) != fmt.Sprint(tc.summary) {
				t.Errorf("summaries %q, want %q\n%s", summaries, tc.summary, details.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(details.String(), w) {
					t.Errorf("details do not say %q:\n%s", w, details.String())
				}
			}
		})
	}
}
