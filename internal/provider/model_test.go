package provider

import (
	"context"
	"reflect"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// TestModelConversions checks the provider's conversions against the framework's.
func TestModelConversions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := networkModel{
		ServiceType: types.StringValue("ClusterIP"), ServiceLabels: types.MapNull(types.StringType),
		ServiceAnnotations: types.MapValueMust(types.StringType, map[string]attr.Value{"a": types.StringValue("b")}),
		Address:            types.StringUnknown(), AdvertiseAddress: types.StringNull(), Port: types.Int64Value(6443),
		CertSANs: stringList([]string{"api.example"}), ServiceCIDRs: types.ListUnknown(types.StringType), PodCIDRs: types.ListNull(types.StringType),
		DNSServiceIPs: types.ListNull(types.StringType), ClusterDomain: types.StringNull(), LoadBalancerClass: types.StringNull(),
		LoadBalancerSourceRanges: types.ListNull(types.StringType),
	}
	var diags diag.Diagnostics
	got := objectValue(ctx, attrTypes("network"), n, &diags)
	want, d := types.ObjectValueFrom(ctx, attrTypes("network"), n)
	diags.Append(d...)
	if diags.HasError() || !got.Equal(want) {
		t.Fatalf("objectValue = %v, want the framework's %v (%v)", got, want, diags)
	}
	var back networkModel
	if !objectAs(ctx, got, &back, &diags) || !reflect.DeepEqual(back, n) {
		t.Errorf("objectAs = %+v, want %+v (%v)", back, n, diags)
	}
	if objectAs(ctx, types.ObjectNull(attrTypes("network")), &back, &diags) {
		t.Error("objectAs read a null object")
	}
	var wrong imageAddonModel
	if objectAs(ctx, got, &wrong, &diags) || !diags.HasError() {
		t.Error("objectAs read an object into a model of other attributes without an error")
	}
	diags = nil

	// A whole state, as Read writes and reads it.
	st := stateTypeOf(ctx, "cluster", clusterSchema)
	m := clusterModel{
		ID: types.StringValue("a/b"), Namespace: types.StringValue("a"), Name: types.StringValue("b"), Version: types.StringValue("1.35.0"),
		Replicas: types.Int64Null(), DataStore: types.StringNull(), DataStoreSchema: types.StringNull(), DataStoreUsername: types.StringNull(),
		Labels: types.MapNull(types.StringType), Annotations: types.MapNull(types.StringType), Network: got,
		Addons: types.ObjectNull(attrTypes("addons")), APIServer: types.ObjectNull(attrTypes("api_server")),
		ControllerManager: types.ObjectNull(attrTypes("controller_manager")), Scheduler: types.ObjectNull(attrTypes("scheduler")),
		Kubelet: types.ObjectNull(attrTypes("kubelet")), ClusterAPI: types.ObjectNull(attrTypes("cluster_api")),
		WaitForReady: types.BoolValue(true), Status: types.StringValue("Ready"), InstalledVersion: types.StringValue("v1.35.0"),
		Endpoint: types.StringValue("10.0.0.1:6443"), KubeconfigSecretName: types.StringValue("b-admin-kubeconfig"), CACertificate: types.StringValue("pem"),
	}
	m.Timeouts.Object = types.ObjectNull(map[string]attr.Type{"create": types.StringType, "update": types.StringType, "delete": types.StringType})
	s := clusterSchema(ctx)
	viaFramework := tfsdk.State{Schema: s, Raw: tftypes.NewValue(st.tf, nil)}
	diags.Append(viaFramework.Set(ctx, &m)...)
	mine := tfsdk.State{Schema: s, Raw: tftypes.NewValue(st.tf, nil)}
	v, d := stateValue(ctx, st, &m)
	diags.Append(d...)
	diags.Append(mine.Set(ctx, v)...)
	if diags.HasError() || !mine.Raw.Equal(viaFramework.Raw) {
		t.Fatalf("state %v, want the framework's %v (%v)", mine.Raw, viaFramework.Raw, diags)
	}
	var read clusterModel
	if diags.Append(getModel(ctx, mine, mine.Raw, st, &read)...); diags.HasError() || !reflect.DeepEqual(read, m) {
		t.Errorf("getModel = %+v, want %+v (%v)", read, m, diags)
	}
}
