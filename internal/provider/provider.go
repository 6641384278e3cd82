// Package provider is the Terraform glue of the Qumulus provider: schemas, models and the
// mapping between them and the domain packages.
package provider

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework-validators/float64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/qumulus/terraform-provider-qumulus/internal/chartsource"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenantcluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/validators"
)

var _ provider.ProviderWithEphemeralResources = (*qumulusProvider)(nil)

// New returns the provider factory for the given build version.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &qumulusProvider{version: version}
	}
}

type qumulusProvider struct {
	version string
	// wrapTransport wraps the transport of every request to the management cluster: tests
	// count requests with it, or answer them without an API server.
	wrapTransport func(http.RoundTripper) http.RoundTripper
}

type providerModel struct {
	ConfigPath           types.String  `tfsdk:"config_path"`
	ConfigPaths          types.List    `tfsdk:"config_paths"`
	ConfigContent        types.String  `tfsdk:"config_content"`
	ConfigContext        types.String  `tfsdk:"config_context"`
	ConfigContextCluster types.String  `tfsdk:"config_context_cluster"`
	ConfigContextUser    types.String  `tfsdk:"config_context_auth_info"`
	Host                 types.String  `tfsdk:"host"`
	Token                types.String  `tfsdk:"token"`
	ClientCertificate    types.String  `tfsdk:"client_certificate"`
	ClientKey            types.String  `tfsdk:"client_key"`
	ClusterCACertificate types.String  `tfsdk:"cluster_ca_certificate"`
	Insecure             types.Bool    `tfsdk:"insecure"`
	TLSServerName        types.String  `tfsdk:"tls_server_name"`
	ProxyURL             types.String  `tfsdk:"proxy_url"`
	Exec                 *execModel    `tfsdk:"exec"`
	InCluster            types.Bool    `tfsdk:"in_cluster"`
	QPS                  types.Float64 `tfsdk:"qps"`
	Burst                types.Int64   `tfsdk:"burst"`
	PlanDryRun           types.Bool    `tfsdk:"plan_dry_run"`
}

type execModel struct {
	APIVersion types.String `tfsdk:"api_version"`
	Command    types.String `tfsdk:"command"`
	Args       types.List   `tfsdk:"args"`
	Env        types.Map    `tfsdk:"env"`
}

// Environment variables, one per attribute. They fill in only what the configuration leaves
// unset.
const (
	envConfigPath           = "QUMULUS_CONFIG_PATH"
	envConfigPaths          = "QUMULUS_CONFIG_PATHS"
	envConfigContent        = "QUMULUS_CONFIG_CONTENT"
	envConfigContext        = "QUMULUS_CONFIG_CONTEXT"
	envConfigContextCluster = "QUMULUS_CONFIG_CONTEXT_CLUSTER"
	envConfigContextUser    = "QUMULUS_CONFIG_CONTEXT_AUTH_INFO"
	envHost                 = "QUMULUS_HOST"
	envToken                = "QUMULUS_TOKEN"
	envClientCertificate    = "QUMULUS_CLIENT_CERTIFICATE"
	envClientKey            = "QUMULUS_CLIENT_KEY"
	envClusterCACertificate = "QUMULUS_CLUSTER_CA_CERTIFICATE"
	envInsecure             = "QUMULUS_INSECURE"
	envTLSServerName        = "QUMULUS_TLS_SERVER_NAME"
	envProxyURL             = "QUMULUS_PROXY_URL"
	envInCluster            = "QUMULUS_IN_CLUSTER"
	envQPS                  = "QUMULUS_QPS"
	envBurst                = "QUMULUS_BURST"
	envPlanDryRun           = "QUMULUS_PLAN_DRY_RUN"
)

func (p *qumulusProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "qumulus"
	resp.Version = p.version
}

func envDoc(name string) string {
	return fmt.Sprintf(" Can also be set with the `%s` environment variable.", name)
}

func (p *qumulusProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	kubeconfigSources := []path.Expression{
		path.MatchRoot("config_path"), path.MatchRoot("config_paths"), path.MatchRoot("config_content"),
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The Qumulus provider manages tenants, their Kubernetes control planes (Kamaji), " +
			"worker pools (Cluster API) and OpenStack services on a Qumulus management cluster.\n\n" +
			"The settings below say how to reach the **management cluster**'s API server. They are read " +
			"in this order: a kubeconfig (`config_path`, `config_paths` or `config_content`) or " +
			"`in_cluster` as the base, then `host`, `token`, the certificates and `exec` on top of it. " +
			"Each setting can also come from an environment variable, which is used only when the " +
			"configuration leaves the setting unset; a kubeconfig given in the configuration ignores " +
			"the kubeconfig environment variables. The provider never reads `KUBECONFIG` or " +
			"`~/.kube/config` on its own and never falls back to `localhost`.\n\n" +
			"Settings may depend on resources created in the same apply (for example a management " +
			"cluster built by another provider): only the resources that need the API before then " +
			"report an error.",
		Attributes: map[string]schema.Attribute{
			"config_path": schema.StringAttribute{
				MarkdownDescription: "Path to a kubeconfig file. `~` expands to the home directory." + envDoc(envConfigPath),
				Optional:            true,
				Validators: []validator.String{
					stringvalidator.LengthAtLeast(1),
					stringvalidator.ConflictsWith(path.MatchRoot("config_paths"), path.MatchRoot("config_content")),
				},
			},
			"config_paths": schema.ListAttribute{
				MarkdownDescription: "Paths to kubeconfig files, merged like the entries of `KUBECONFIG` (the first file " +
					"that sets a value wins)." + fmt.Sprintf(" Can also be set with `%s`, a list separated by `:` (`;` on Windows).", envConfigPaths),
				Optional:    true,
				ElementType: types.StringType,
				Validators: []validator.List{
					listvalidator.SizeAtLeast(1),
					listvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1)),
					listvalidator.ConflictsWith(path.MatchRoot("config_content")),
				},
			},
			"config_content": schema.StringAttribute{
				MarkdownDescription: "A whole kubeconfig document as a string, for runs without local files " +
					"(HCP Terraform)." + envDoc(envConfigContent),
				Optional:   true,
				Sensitive:  true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"config_context": schema.StringAttribute{
				MarkdownDescription: "Context of the kubeconfig to use. Defaults to its `current-context`." + envDoc(envConfigContext),
				Optional:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"config_context_cluster": schema.StringAttribute{
				MarkdownDescription: "Cluster entry of the kubeconfig to use instead of the context's." + envDoc(envConfigContextCluster),
				Optional:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"config_context_auth_info": schema.StringAttribute{
				MarkdownDescription: "User (auth-info) entry of the kubeconfig to use instead of the context's." + envDoc(envConfigContextUser),
				Optional:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"host": schema.StringAttribute{
				MarkdownDescription: "URL of the API server, e.g. `https://10.0.0.1:6443`. Overrides the kubeconfig's server." + envDoc(envHost),
				Optional:            true,
			},
			"token": schema.StringAttribute{
				MarkdownDescription: "Bearer token for the API server." + envDoc(envToken),
				Optional:            true,
				Sensitive:           true,
			},
			"client_certificate": schema.StringAttribute{
				MarkdownDescription: "PEM-encoded client certificate for TLS client authentication." + envDoc(envClientCertificate),
				Optional:            true,
				Validators:          []validator.String{stringvalidator.AlsoRequires(path.MatchRoot("client_key"))},
			},
			"client_key": schema.StringAttribute{
				MarkdownDescription: "PEM-encoded private key of `client_certificate`." + envDoc(envClientKey),
				Optional:            true,
				Sensitive:           true,
				Validators:          []validator.String{stringvalidator.AlsoRequires(path.MatchRoot("client_certificate"))},
			},
			"cluster_ca_certificate": schema.StringAttribute{
				MarkdownDescription: "PEM-encoded CA certificate that signed the API server's serving certificate." + envDoc(envClusterCACertificate),
				Optional:            true,
			},
			"insecure": schema.BoolAttribute{
				MarkdownDescription: "Skip verification of the API server's certificate. Default `false`; never use it in production." + envDoc(envInsecure),
				Optional:            true,
			},
			"tls_server_name": schema.StringAttribute{
				MarkdownDescription: "Server name to verify the API server's certificate against, when it differs from the host." + envDoc(envTLSServerName),
				Optional:            true,
			},
			"proxy_url": schema.StringAttribute{
				MarkdownDescription: "URL of an HTTP(S) or SOCKS5 proxy for requests to the API server." + envDoc(envProxyURL),
				Optional:            true,
			},
			"exec": schema.SingleNestedAttribute{
				MarkdownDescription: "A client-go credential plugin that prints an `ExecCredential`, e.g. a cloud CLI's `get-token` command. " +
					"It runs non-interactively.",
				Optional: true,
				Attributes: map[string]schema.Attribute{
					"api_version": schema.StringAttribute{
						MarkdownDescription: "API version of the `ExecCredential` the plugin prints.",
						Required:            true,
						Validators: []validator.String{stringvalidator.OneOf(
							"client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")},
					},
					"command": schema.StringAttribute{
						MarkdownDescription: "Command to run: a path, or a name looked up in `PATH`.",
						Required:            true,
						Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
					},
					"args": schema.ListAttribute{
						MarkdownDescription: "Arguments of the command.",
						Optional:            true,
						ElementType:         types.StringType,
					},
					"env": schema.MapAttribute{
						MarkdownDescription: "Environment variables added to the command's environment. Sensitive: they often carry credentials.",
						Optional:            true,
						Sensitive:           true,
						ElementType:         types.StringType,
					},
				},
			},
			"in_cluster": schema.BoolAttribute{
				MarkdownDescription: "Use the service account of the pod Terraform runs in. Default `false`: in-cluster " +
					"credentials are used only when asked for." + envDoc(envInCluster),
				Optional: true,
				Validators: []validator.Bool{
					validators.ConflictsWhenTrue(kubeconfigSources...),
				},
			},
			"qps": schema.Float64Attribute{
				MarkdownDescription: fmt.Sprintf("Requests per second the provider may send to the management cluster's API server, "+
					"over all its resources together (one client-side limit shared by every client of the provider instance; the "+
					"tenant clusters `qumulus_openstack` reaches each have their own, at the defaults). Default `%d`. Lower it when the API server's priority "+
					"and fairness throttles the provider (429 answers, retried but slow) or other clients suffer during an apply; "+
					"raise it, with `burst`, when a large apply (hundreds of objects, high `-parallelism`) waits on the client "+
					"rather than on the cluster.", kube.DefaultQPS) + envDoc(envQPS),
				Optional:   true,
				Validators: []validator.Float64{float64validator.AtLeast(1)},
			},
			"burst": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("Requests the provider may send at once before `qps` applies. Default `%d`. "+
					"Transient failures are retried whatever the limits: a 429 or 5xx with `Retry-After` as the server asks (up to "+
					"10 times), a 429 without it, a 500/502/503/504 or a lost connection of a repeatable request, and the conflict "+
					"of a forced server-side apply with backoff from 250 ms doubling to 8 s, up to 8 times (about 30 s), never past "+
					"the operation's timeout; a create whose answer is lost is read back and sent again only when it was not carried out.", kube.DefaultBurst) + envDoc(envBurst),
				Optional:   true,
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
			"plan_dry_run": schema.BoolAttribute{
				MarkdownDescription: "Check at plan time what `qumulus_tenant`, `qumulus_cluster` and `qumulus_worker_pool` would " +
					"create or change: the provider sends the objects an apply would write as a server-side dry-run apply " +
					"(`dryRun=All`), and whatever the API server, the CRDs' schemas and CEL rules, admission webhooks and " +
					"ValidatingAdmissionPolicies refuse fails the plan with the attribute named. Default `true`. " +
					"It runs only for a create or an in-place change whose configuration is fully known, never for a " +
					"resource without changes (a plan without changes sends no request for it), a replacement or a destroy. " +
					"Objects in a namespace the same apply creates cannot be checked and are skipped. A dry run that cannot " +
					"be made says nothing about the configuration and never fails the plan: an unreachable API server, a " +
					"timeout, credentials that may not write (plans often run with read-only credentials: a dry run needs " +
					"the permissions of the write), or a webhook that does not support dry runs skip it, with a warning in " +
					"the provider's log (`TF_LOG_PROVIDER=WARN`). The dry run needs no more than the apply, but sends one " +
					"request per object it checks." + envDoc(envPlanDryRun),
				Optional: true,
			},
		},
	}
}

// providerData is what resources and data sources receive from Configure.
type providerData struct {
	management *kube.Connection
	userAgent  string

	tenantsOnce sync.Once
	tenants     *tenantcluster.Cache

	chartsOnce sync.Once
	charts     *chartsource.Cache

	// dryRuns is the state of the plan-time dry runs (see plan_dry_run).
	dryRuns *planDryRuns
}

func (p *qumulusProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}

	userAgent := "terraform-provider-qumulus/" + p.version
	tflog.Info(ctx, "configuring the qumulus provider", map[string]any{"version": p.version, "user_agent": userAgent})
	var conn *kube.Connection
	if unknown := m.unknownAttributes(); len(unknown) > 0 {
		tflog.Debug(ctx, "management cluster settings unknown until apply", map[string]any{"attributes": unknown})
		conn = kube.NewFailedConnection(fmt.Errorf("%w: %s", kube.ErrUnknownAtPlan, strings.Join(unknown, ", ")))
	} else {
		cfg, diags := m.kubeConfig(ctx, os.LookupEnv)
		resp.Diagnostics.Append(diags...)
		if resp.Diagnostics.HasError() {
			return
		}
		cfg.UserAgent = userAgent
		cfg.WrapTransport = p.wrapTransport
		if err := cfg.Validate(); err != nil {
			conn = kube.NewFailedConnection(err)
		} else {
			conn = kube.NewConnection(cfg)
		}
	}

	dryRun, diags := m.planDryRun(os.LookupEnv)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	data := &providerData{management: conn, userAgent: userAgent, dryRuns: &planDryRuns{enabled: dryRun}}
	resp.DataSourceData = data
	resp.ResourceData = data
	resp.EphemeralResourceData = data
}

func (p *qumulusProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewTenantResource,
		NewClusterResource,
		NewWorkerPoolResource,
		NewOpenStackResource,
	}
}

func (p *qumulusProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewManagementClusterDataSource,
		NewKubeconfigDataSource,
	}
}

func (p *qumulusProvider) EphemeralResources(_ context.Context) []func() ephemeral.EphemeralResource {
	return []func() ephemeral.EphemeralResource{
		NewKubeconfigEphemeralResource,
	}
}

// unknownAttributes names the settings whose values are not known yet.
func (m providerModel) unknownAttributes() []string {
	var out []string
	add := func(name string, v attr.Value) {
		if v.IsUnknown() {
			out = append(out, name)
		}
	}
	add("config_path", m.ConfigPath)
	add("config_paths", m.ConfigPaths)
	add("config_content", m.ConfigContent)
	add("config_context", m.ConfigContext)
	add("config_context_cluster", m.ConfigContextCluster)
	add("config_context_auth_info", m.ConfigContextUser)
	add("host", m.Host)
	add("token", m.Token)
	add("client_certificate", m.ClientCertificate)
	add("client_key", m.ClientKey)
	add("cluster_ca_certificate", m.ClusterCACertificate)
	add("insecure", m.Insecure)
	add("tls_server_name", m.TLSServerName)
	add("proxy_url", m.ProxyURL)
	add("in_cluster", m.InCluster)
	add("qps", m.QPS)
	add("burst", m.Burst)
	if m.Exec != nil {
		add("exec.api_version", m.Exec.APIVersion)
		add("exec.command", m.Exec.Command)
		add("exec.args", m.Exec.Args)
		add("exec.env", m.Exec.Env)
	}
	return out
}

type lookupEnv func(string) (string, bool)

// planDryRun is plan_dry_run, or its environment variable when unset; true when both are
// unset. A value not known yet switches the dry runs off: they run at plan time.
func (m providerModel) planDryRun(env lookupEnv) (bool, diag.Diagnostics) {
	var diags diag.Diagnostics
	switch {
	case m.PlanDryRun.IsUnknown():
		return false, nil
	case !m.PlanDryRun.IsNull():
		return m.PlanDryRun.ValueBool(), nil
	}
	s, ok := env(envPlanDryRun)
	if !ok || s == "" {
		return true, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		diags.AddAttributeError(path.Root("plan_dry_run"), "Invalid Environment Variable",
			fmt.Sprintf("%s=%q is not a boolean. Set it to true or false, or unset it.", envPlanDryRun, s))
	}
	return b, diags
}

// kubeConfig maps the (fully known) provider configuration and the environment onto a
// kube.Config. Environment variables fill only settings the configuration leaves unset.
func (m providerModel) kubeConfig(ctx context.Context, env lookupEnv) (kube.Config, diag.Diagnostics) {
	var diags diag.Diagnostics
	var cfg kube.Config

	str := func(v types.String, name string) string {
		if !v.IsNull() {
			return v.ValueString()
		}
		s, _ := env(name)
		return s
	}
	boolean := func(v types.Bool, name, attrName string) bool {
		if !v.IsNull() {
			return v.ValueBool()
		}
		s, ok := env(name)
		if !ok || s == "" {
			return false
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			diags.AddAttributeError(path.Root(attrName), "Invalid Environment Variable",
				fmt.Sprintf("%s=%q is not a boolean. Set it to true or false, or unset it.", name, s))
		}
		return b
	}

	// A kubeconfig named in the configuration replaces every kubeconfig environment variable,
	// so that a stray QUMULUS_CONFIG_PATH never conflicts with config_content.
	if !m.ConfigPath.IsNull() || !m.ConfigPaths.IsNull() || !m.ConfigContent.IsNull() {
		if !m.ConfigPath.IsNull() {
			cfg.ConfigPaths = []string{m.ConfigPath.ValueString()}
		}
		if !m.ConfigPaths.IsNull() {
			diags.Append(m.ConfigPaths.ElementsAs(ctx, &cfg.ConfigPaths, false)...)
		}
		cfg.ConfigContent = m.ConfigContent.ValueString()
	} else {
		if s, ok := env(envConfigPath); ok && s != "" {
			cfg.ConfigPaths = []string{s}
		}
		if s, ok := env(envConfigPaths); ok && s != "" {
			cfg.ConfigPaths = append(cfg.ConfigPaths, filepath.SplitList(s)...)
		}
		cfg.ConfigContent, _ = env(envConfigContent)
	}
	cfg.Context = str(m.ConfigContext, envConfigContext)
	cfg.ContextCluster = str(m.ConfigContextCluster, envConfigContextCluster)
	cfg.ContextAuthInfo = str(m.ConfigContextUser, envConfigContextUser)
	cfg.Host = str(m.Host, envHost)
	cfg.Token = str(m.Token, envToken)
	if !m.ClientCertificate.IsNull() || !m.ClientKey.IsNull() {
		cfg.ClientCertificate, cfg.ClientKey = m.ClientCertificate.ValueString(), m.ClientKey.ValueString()
	} else {
		cfg.ClientCertificate, _ = env(envClientCertificate)
		cfg.ClientKey, _ = env(envClientKey)
	}
	cfg.ClusterCACertificate = str(m.ClusterCACertificate, envClusterCACertificate)
	cfg.Insecure = boolean(m.Insecure, envInsecure, "insecure")
	cfg.TLSServerName = str(m.TLSServerName, envTLSServerName)
	cfg.ProxyURL = str(m.ProxyURL, envProxyURL)
	cfg.InCluster = boolean(m.InCluster, envInCluster, "in_cluster")

	if !m.QPS.IsNull() {
		cfg.QPS = float32(m.QPS.ValueFloat64())
	} else if s, ok := env(envQPS); ok && s != "" {
		f, err := strconv.ParseFloat(s, 32)
		if err != nil || f < 1 {
			diags.AddAttributeError(path.Root("qps"), "Invalid Environment Variable",
				fmt.Sprintf("%s=%q is not a number of at least 1.", envQPS, s))
		}
		cfg.QPS = float32(f)
	}
	if !m.Burst.IsNull() {
		cfg.Burst = int(m.Burst.ValueInt64())
	} else if s, ok := env(envBurst); ok && s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			diags.AddAttributeError(path.Root("burst"), "Invalid Environment Variable",
				fmt.Sprintf("%s=%q is not a whole number of at least 1.", envBurst, s))
		}
		cfg.Burst = n
	}

	if m.Exec != nil {
		e := &kube.ExecConfig{
			APIVersion: m.Exec.APIVersion.ValueString(),
			Command:    m.Exec.Command.ValueString(),
		}
		if !m.Exec.Args.IsNull() {
			diags.Append(m.Exec.Args.ElementsAs(ctx, &e.Args, false)...)
		}
		if !m.Exec.Env.IsNull() {
			diags.Append(m.Exec.Env.ElementsAs(ctx, &e.Env, false)...)
		}
		cfg.Exec = e
	}
	return cfg, diags
}
