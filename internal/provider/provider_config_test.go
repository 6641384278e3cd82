package provider

import (
	"context"
	"reflect"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	providerschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	resourceschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

func fakeEnv(vars map[string]string) lookupEnv {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func nullModel() providerModel {
	return providerModel{
		ConfigPath: types.StringNull(), ConfigPaths: types.ListNull(types.StringType), ConfigContent: types.StringNull(),
		ConfigContext: types.StringNull(), ConfigContextCluster: types.StringNull(), ConfigContextUser: types.StringNull(), Host: types.StringNull(), Token: types.StringNull(),
		ClientCertificate: types.StringNull(), ClientKey: types.StringNull(), ClusterCACertificate: types.StringNull(),
		Insecure: types.BoolNull(), TLSServerName: types.StringNull(), ProxyURL: types.StringNull(),
		InCluster: types.BoolNull(), QPS: types.Float64Null(), Burst: types.Int64Null(),
	}
}

func TestKubeConfigMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		model   func(m *providerModel)
		env     map[string]string
		want    kube.Config
		wantErr bool
	}{
		{
			name: "configuration only",
			model: func(m *providerModel) {
				m.ConfigPath = types.StringValue("~/.kube/config")
				m.ConfigContext = types.StringValue("prod")
				m.ConfigContextCluster = types.StringValue("prod-internal")
				m.Insecure = types.BoolValue(true)
				m.QPS = types.Float64Value(10)
				m.Burst = types.Int64Value(20)
			},
			want: kube.Config{ConfigPaths: []string{"~/.kube/config"}, Context: "prod", ContextCluster: "prod-internal", Insecure: true, QPS: 10, Burst: 20},
		},
		{
			name: "environment fills what the configuration leaves unset",
			model: func(m *providerModel) {
				m.Host = types.StringValue("https://from-config")
			},
			env: map[string]string{
				envHost: "https://from-env", envToken: "env-token", envInsecure: "true",
				envConfigPaths: "/a:/b", envConfigContextUser: "bob", envQPS: "5", envBurst: "6", envInCluster: "false",
			},
			want: kube.Config{Host: "https://from-config", Token: "env-token", Insecure: true, ConfigPaths: []string{"/a", "/b"}, ContextAuthInfo: "bob", QPS: 5, Burst: 6},
		},
		{
			name: "a kubeconfig in the configuration ignores kubeconfig variables",
			model: func(m *providerModel) {
				m.ConfigContent = types.StringValue("inline")
			},
			env:  map[string]string{envConfigPath: "/from/env", envConfigPaths: "/x:/y"},
			want: kube.Config{ConfigContent: "inline"},
		},
		{
			name: "client certificate pair from the configuration ignores the variables",
			model: func(m *providerModel) {
				m.ClientCertificate = types.StringValue("cert")
				m.ClientKey = types.StringValue("key")
			},
			env:  map[string]string{envClientKey: "env-key"},
			want: kube.Config{ClientCertificate: "cert", ClientKey: "key"},
		},
		{
			name: "exec",
			model: func(m *providerModel) {
				m.Host = types.StringValue("https://h")
				m.Exec = &execModel{
					APIVersion: types.StringValue("client.authentication.k8s.io/v1"),
					Command:    types.StringValue("aws"),
					Args:       types.ListValueMust(types.StringType, []attr.Value{types.StringValue("eks"), types.StringValue("get-token")}),
					Env:        types.MapValueMust(types.StringType, map[string]attr.Value{"AWS_PROFILE": types.StringValue("p")}),
				}
			},
			want: kube.Config{Host: "https://h", Exec: &kube.ExecConfig{
				APIVersion: "client.authentication.k8s.io/v1", Command: "aws", Args: []string{"eks", "get-token"},
				Env: map[string]string{"AWS_PROFILE": "p"},
			}},
		},
		{name: "bad boolean variable", env: map[string]string{envInsecure: "yes please"}, wantErr: true},
		{name: "bad qps variable", env: map[string]string{envQPS: "fast"}, wantErr: true},
		{name: "bad burst variable", env: map[string]string{envBurst: "0"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := nullModel()
			if tt.model != nil {
				tt.model(&m)
			}
			got, diags := m.kubeConfig(context.Background(), fakeEnv(tt.env))
			if diags.HasError() != tt.wantErr {
				t.Fatalf("diagnostics = %v, want error %v", diags, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestUnknownAttributes(t *testing.T) {
	t.Parallel()
	m := nullModel()
	m.Host = types.StringUnknown()
	m.Exec = &execModel{APIVersion: types.StringValue("v"), Command: types.StringUnknown(), Args: types.ListNull(types.StringType), Env: types.MapNull(types.StringType)}
	got := m.unknownAttributes()
	if want := []string{"host", "exec.command"}; !reflect.DeepEqual(got, want) {
		t.Errorf("unknownAttributes() = %v, want %v", got, want)
	}
	if got := nullModel().unknownAttributes(); len(got) != 0 {
		t.Errorf("a fully known model reports %v unknown", got)
	}
}

// Every attribute of every schema is described: the docs are generated from them.
func TestSchemasDescribeEveryAttribute(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := New("test")()
	var presp provider.SchemaResponse
	p.Schema(ctx, provider.SchemaRequest{}, &presp)
	checkDescribed(t, "provider", presp.Schema.GetMarkdownDescription(), presp.Schema.GetAttributes())
	for _, newDS := range p.DataSources(ctx) {
		ds := newDS()
		var meta datasource.MetadataResponse
		ds.Metadata(ctx, datasource.MetadataRequest{ProviderTypeName: "qumulus"}, &meta)
		var resp datasource.SchemaResponse
		ds.Schema(ctx, datasource.SchemaRequest{}, &resp)
		checkDescribed(t, meta.TypeName, resp.Schema.GetMarkdownDescription(), resp.Schema.GetAttributes())
	}
	for _, newE := range p.(provider.ProviderWithEphemeralResources).EphemeralResources(ctx) {
		e := newE()
		var meta ephemeral.MetadataResponse
		e.Metadata(ctx, ephemeral.MetadataRequest{ProviderTypeName: "qumulus"}, &meta)
		var resp ephemeral.SchemaResponse
		e.Schema(ctx, ephemeral.SchemaRequest{}, &resp)
		checkDescribed(t, "ephemeral "+meta.TypeName, resp.Schema.GetMarkdownDescription(), resp.Schema.GetAttributes())
	}
	for _, newR := range p.Resources(ctx) {
		r := newR()
		var meta resource.MetadataResponse
		r.Metadata(ctx, resource.MetadataRequest{ProviderTypeName: "qumulus"}, &meta)
		var resp resource.SchemaResponse
		r.Schema(ctx, resource.SchemaRequest{}, &resp)
		if resp.Diagnostics.HasError() {
			t.Fatalf("%s: %v", meta.TypeName, resp.Diagnostics)
		}
		checkDescribed(t, meta.TypeName, resp.Schema.GetMarkdownDescription(), resp.Schema.GetAttributes())
		for name, a := range resp.Schema.Attributes {
			var nested map[string]resourceschema.Attribute
			switch n := a.(type) {
			case resourceschema.SingleNestedAttribute:
				nested = n.Attributes
			case resourceschema.SetNestedAttribute:
				nested = n.NestedObject.Attributes
			case resourceschema.ListNestedAttribute:
				nested = n.NestedObject.Attributes
			}
			checkDescribed(t, meta.TypeName+"."+name, a.GetMarkdownDescription(), nested)
		}
	}
}

type describedAttribute interface {
	GetMarkdownDescription() string
}

func checkDescribed[A describedAttribute](t *testing.T, where, description string, attrs map[string]A) {
	t.Helper()
	if description == "" {
		t.Errorf("%s has no description", where)
	}
	for name, a := range attrs {
		if a.GetMarkdownDescription() == "" {
			t.Errorf("%s.%s has no description", where, name)
		}
		if n, ok := any(a).(providerschema.SingleNestedAttribute); ok {
			for sub, s := range n.Attributes {
				if s.GetMarkdownDescription() == "" {
					t.Errorf("%s.%s.%s has no description", where, name, sub)
				}
			}
		}
	}
}
