package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenantcluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/validators"
)

// What the data source and the ephemeral resource qumulus_kubeconfig share: one model, one
// list of attributes (rendered into each kind's schema package) and one read.

type kubeconfigModel struct {
	ClusterID            types.String `tfsdk:"cluster_id"`
	Namespace            types.String `tfsdk:"namespace"`
	Name                 types.String `tfsdk:"name"`
	KubeconfigKey        types.String `tfsdk:"kubeconfig_key"`
	VerifyConnection     types.Bool   `tfsdk:"verify_connection"`
	ID                   types.String `tfsdk:"id"`
	SecretName           types.String `tfsdk:"secret_name"`
	KubeconfigRaw        types.String `tfsdk:"kubeconfig_raw"`
	Host                 types.String `tfsdk:"host"`
	TLSServerName        types.String `tfsdk:"tls_server_name"`
	ClusterCACertificate types.String `tfsdk:"cluster_ca_certificate"`
	ClientCertificate    types.String `tfsdk:"client_certificate"`
	ClientKey            types.String `tfsdk:"client_key"`
	Token                types.String `tfsdk:"token"`
	ServerVersion        types.String `tfsdk:"server_version"`
}

// kubeconfigAttribute describes one attribute of both schemas.
type kubeconfigAttribute struct {
	name, description string
	// optional: set by the user; computed: set by the provider (both: the provider fills
	// in what the user left out).
	optional, computed, sensitive, boolean bool
	validators                             []validator.String
}

var kubeconfigKeys = []string{kamaji.AdminKubeconfigKey, kamaji.SuperAdminKubeconfigKey}

func kubeconfigAttributes() []kubeconfigAttribute {
	return []kubeconfigAttribute{
		{name: "cluster_id", optional: true, validators: []validator.String{validators.ClusterID()},
			description: "The cluster as `<namespace>/<name>`: use `qumulus_cluster.<name>.id`. That reference also makes " +
				"Terraform read the kubeconfig only after the cluster is created or replaced in the same apply. " +
				"Give either `cluster_id`, or `namespace` and `name`."},
		{name: "namespace", optional: true, computed: true, validators: []validator.String{validators.DNS1123Label()},
			description: "The tenant's namespace the cluster is in, e.g. `qumulus_tenant.acme.namespace`. With `name`, " +
				"instead of `cluster_id`; set from `cluster_id` otherwise."},
		{name: "name", optional: true, computed: true, validators: []validator.String{validators.DNS1035Label()},
			description: "The cluster's name. With `namespace`, instead of `cluster_id`; set from `cluster_id` otherwise."},
		{name: "kubeconfig_key", optional: true, validators: []validator.String{stringvalidator.OneOf(kubeconfigKeys...)},
			description: "Which kubeconfig of Kamaji's admin kubeconfig Secret to read: `admin.conf` (default; user " +
				"`kubernetes-admin`, group `kubeadm:cluster-admins`) or `super-admin.conf` (group `system:masters`, which " +
				"bypasses RBAC; written by Kamaji releases that set up Kubernetes 1.29 and later). Prefer `admin.conf`."},
		{name: "verify_connection", optional: true, boolean: true,
			description: "Also connect to the tenant API server with the credentials and read its version (sets " +
				"`server_version`), failing with the reason when it does not answer or refuses them. Needs the tenant " +
				"API server to be reachable from where Terraform runs. Default `false`."},
		{name: "id", computed: true, description: "`<namespace>/<name>` of the cluster."},
		{name: "secret_name", computed: true, description: "The Secret the kubeconfig was read from, in the cluster's " +
			"namespace: the one the TenantControlPlane's `status.kubeconfig.admin.secretName` names, else " +
			"`<name>-admin-kubeconfig`."},
		{name: "kubeconfig_raw", computed: true, sensitive: true, description: "The whole kubeconfig, as Kamaji wrote it. " +
			"Holds the client key."},
		{name: "host", computed: true, description: "URL of the tenant API server (the kubeconfig's `server`), for a " +
			"provider's `host` setting."},
		{name: "tls_server_name", computed: true, description: "Name to verify the tenant API server's certificate " +
			"against when it differs from the host; null when the kubeconfig sets none."},
		{name: "cluster_ca_certificate", computed: true, description: "PEM CA certificate of the tenant API server, for " +
			"a provider's `cluster_ca_certificate` setting."},
		{name: "client_certificate", computed: true, description: "PEM client certificate; null when the kubeconfig " +
			"authenticates with a token."},
		{name: "client_key", computed: true, sensitive: true, description: "PEM client key; null when the kubeconfig " +
			"authenticates with a token."},
		{name: "token", computed: true, sensitive: true, description: "Bearer token; null when the kubeconfig " +
			"authenticates with a client certificate (Kamaji's do)."},
		{name: "server_version", computed: true, description: "Kubernetes version the tenant API server reports, e.g. " +
			"`v1.35.0`; null unless `verify_connection` is `true`."},
	}
}

// kubeconfigSchema renders kubeconfigAttributes with the attribute types of one schema
// package: the data source's or the ephemeral resource's.
func kubeconfigSchema[A any](str, boolean func(kubeconfigAttribute) A) map[string]A {
	out := map[string]A{}
	for _, a := range kubeconfigAttributes() {
		if a.boolean {
			out[a.name] = boolean(a)
		} else {
			out[a.name] = str(a)
		}
	}
	return out
}

// The configuration names the cluster either by cluster_id or by namespace and name.
var (
	kubeconfigByID   = path.MatchRoot("cluster_id")
	kubeconfigByName = []path.Expression{path.MatchRoot("namespace"), path.MatchRoot("name")}
)

// readKubeconfig fills m's computed attributes for the cluster its configuration names.
func readKubeconfig(ctx context.Context, data *providerData, subject string, m *kubeconfigModel) diag.Diagnostics {
	var diags diag.Diagnostics
	key := tenantcluster.Key{Namespace: m.Namespace.ValueString(), Name: m.Name.ValueString()}
	if id := m.ClusterID.ValueString(); id != "" {
		var err error
		if key, err = tenantcluster.ParseKey(id); err != nil {
			diags.AddAttributeError(path.Root("cluster_id"), "Invalid Cluster ID", fmt.Sprintf("%s: %s. Use qumulus_cluster.<name>.id.", subject, err))
			return diags
		}
	}
	secretKey := m.KubeconfigKey.ValueString()
	if secretKey == "" {
		secretKey = kamaji.AdminKubeconfigKey
	}
	cache, host, d := data.tenantClusters(subject)
	diags.Append(d...)
	if diags.HasError() {
		return diags
	}

	var kc *tenantcluster.Kubeconfig
	var err error
	if m.VerifyConnection.ValueBool() {
		err = cache.Do(ctx, key, secretKey, func(conn *tenantcluster.Connection) error {
			kc = conn.Kubeconfig
			v, err := conn.ServerVersion(ctx)
			m.ServerVersion = types.StringValue(v)
			return err
		})
		if err != nil && kc != nil {
			addTenantAPIError(&diags, subject, kc, err)
			return diags
		}
	} else {
		kc, err = cache.Kubeconfig(ctx, key, secretKey)
		m.ServerVersion = types.StringNull()
	}
	if err != nil {
		addKubeconfigError(&diags, subject, host, err)
		return diags
	}

	m.ID = types.StringValue(key.String())
	m.Namespace = types.StringValue(key.Namespace)
	m.Name = types.StringValue(key.Name)
	m.SecretName = types.StringValue(kc.SecretName)
	m.KubeconfigRaw = types.StringValue(string(kc.Raw))
	m.Host = types.StringValue(kc.Host)
	m.TLSServerName = nullIfEmpty(kc.TLSServerName)
	m.ClusterCACertificate = nullIfEmpty(string(kc.CACertificate))
	m.ClientCertificate = nullIfEmpty(string(kc.ClientCertificate))
	m.ClientKey = nullIfEmpty(string(kc.ClientKey))
	m.Token = nullIfEmpty(kc.Token)
	return diags
}

func nullIfEmpty(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// addKubeconfigError reports why a cluster's kubeconfig could not be read, naming the
// object and what to do. It never includes the kubeconfig itself.
func addKubeconfigError(diags *diag.Diagnostics, subject, host string, err error) {
	var (
		notFound   *tenantcluster.NotFoundError
		notReady   *tenantcluster.NotReadyError
		noSecret   *tenantcluster.SecretMissingError
		noKey      *tenantcluster.KeyMissingError
		invalid    *tenantcluster.InvalidError
		apiFailure *tenantcluster.APIError
	)
	switch {
	case errors.As(err, &notFound):
		diags.AddError("Cluster Not Found",
			fmt.Sprintf("%s: the management cluster at %s has no TenantControlPlane %s. If the cluster is created in the same "+
				"configuration, set cluster_id = qumulus_cluster.<name>.id so that the kubeconfig is read after the cluster "+
				"exists; otherwise correct the namespace and name.", subject, host, notFound.Cluster))
	case errors.As(err, &notReady):
		diags.AddError("Cluster Not Ready",
			fmt.Sprintf("%s: %s. The admin kubeconfig is read once Kamaji reports the control plane Ready. Let qumulus_cluster "+
				"wait for it (wait_for_ready = true, the default) and refer to its id, or see why it is not ready with "+
				"`kubectl -n %s describe tenantcontrolplane %s`.", subject, notReady, notReady.Cluster.Namespace, notReady.Cluster.Name))
	case errors.As(err, &noSecret):
		where := "the TenantControlPlane's status.kubeconfig.admin.secretName names it"
		if !noSecret.FromStatus {
			where = "the TenantControlPlane's status names no Secret, and Kamaji's default name was tried"
		}
		diags.AddError("Kubeconfig Secret Not Found",
			fmt.Sprintf("%s: %s (%s). Kamaji writes it again when it reconciles the control plane: check Kamaji's logs and "+
				"`kubectl -n %s get secret %s`, then retry.", subject, noSecret, where, noSecret.Cluster.Namespace, noSecret.Secret))
	case errors.As(err, &noKey):
		diags.AddAttributeError(path.Root("kubeconfig_key"), "Kubeconfig Key Not Found",
			fmt.Sprintf("%s: %s. Set kubeconfig_key to one of the keys it has (%q is the default), or let Kamaji write the "+
				"key (super-admin.conf comes with Kamaji releases for Kubernetes 1.29 and later).", subject, noKey, kamaji.AdminKubeconfigKey))
	case errors.As(err, &invalid):
		diags.AddError("Kubeconfig Not Usable",
			fmt.Sprintf("%s: %s. The provider uses kubeconfigs that carry their credentials inline, as Kamaji writes them; "+
				"if something else rewrote the Secret, let Kamaji write it again by deleting it.", subject, invalid))
	case errors.As(err, &apiFailure):
		addAPIError(diags, host, apiFailure.Action, apiFailure.Err)
	default:
		addAPIError(diags, host, "reading the kubeconfig of the cluster", err)
	}
}

// addTenantAPIError reports a failed request to a tenant API server.
func addTenantAPIError(diags *diag.Diagnostics, subject string, kc *tenantcluster.Kubeconfig, err error) {
	switch {
	case apierrors.IsUnauthorized(err):
		diags.AddError("Tenant API Server Rejected The Credentials",
			fmt.Sprintf("%s: the tenant API server of cluster %s at %s rejected the credentials of Secret %s/%s, key %s, also "+
				"after reading them again. Kamaji may be rotating them; retry, and check the control plane's certificates "+
				"otherwise.\n\n%s", subject, kc.Cluster, kc.Host, kc.Cluster.Namespace, kc.SecretName, kc.SecretKey, err))
	case isAPIStatus(err):
		diags.AddError("Tenant API Server Error",
			fmt.Sprintf("%s: the tenant API server of cluster %s at %s answered with an error when asked for its version.\n\n%s",
				subject, kc.Cluster, kc.Host, err))
	default:
		diags.AddError("Tenant API Server Unreachable",
			fmt.Sprintf("%s: the tenant API server of cluster %s did not answer at %s. The address comes from Kamaji's "+
				"kubeconfig (the control plane's endpoint): check that it is reachable from where Terraform runs, or set "+
				"verify_connection = false to read the kubeconfig without connecting.\n\n%s", subject, kc.Cluster, kc.Host, err))
	}
}
