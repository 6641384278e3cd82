// Package crds finds the CustomResourceDefinitions the local management cluster installs:
// the upstream Kamaji and KamajiControlPlane CRDs from ../shared/crds when that folder
// exists, otherwise Kamaji v1.0.0's CRDs from the Go module cache and this package's own
// KamajiControlPlane CRD; Cluster API's from the sigs.k8s.io/cluster-api module, and the
// DockerMachineTemplate of its test module (an infrastructure provider for worker pools).
package crds

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/qumulus/terraform-provider-qumulus/internal/capi"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/testbin"
)

// FallbackKamajiVersion is the Kamaji release whose CRDs the Go module proxy serves.
const FallbackKamajiVersion = "v1.0.0"

//go:embed fallback/*.yaml
var fallbackFS embed.FS

// Set is the CRDs to install and a description of where each group came from.
type Set struct {
	CRDs    []*apiextensionsv1.CustomResourceDefinition
	Sources []string
	// Upstream is true when the Kamaji CRDs are the current upstream ones (../shared/crds).
	Upstream bool
}

func (s Set) String() string {
	return strings.Join(s.Sources, "; ")
}

// SharedDir returns ../shared/crds next to the repository (or $QUMULUS_SHARED_CRDS), or
// "" when there is none. QUMULUS_SHARED_CRDS=off tests a checkout without it.
func SharedDir() string {
	switch d := os.Getenv("QUMULUS_SHARED_CRDS"); d {
	case "off":
		return ""
	case "":
	default:
		return d
	}
	root, err := testbin.RepoRoot()
	if err != nil {
		return ""
	}
	d := filepath.Join(root, "..", "shared", "crds")
	if st, err := os.Stat(filepath.Join(d, "kamaji")); err == nil && st.IsDir() {
		return filepath.Clean(d)
	}
	return ""
}

// Load assembles the CRD set.
func Load(ctx context.Context) (Set, error) {
	var set Set
	add := func(source string, crds []*apiextensionsv1.CustomResourceDefinition, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		set.CRDs = append(set.CRDs, crds...)
		names := make([]string, 0, len(crds))
		for _, c := range crds {
			names = append(names, c.Spec.Names.Kind)
		}
		set.Sources = append(set.Sources, fmt.Sprintf("%s (%s)", source, strings.Join(names, ", ")))
		return nil
	}

	if shared := SharedDir(); shared != "" {
		set.Upstream = true
		c, err := fromDir(os.DirFS(filepath.Join(shared, "kamaji")), ".")
		if err := add("Kamaji upstream CRDs from "+filepath.Join(shared, "kamaji"), c, err); err != nil {
			return set, err
		}
		c, err = fromDir(os.DirFS(filepath.Join(shared, "kamaji-capi")), ".")
		labelContract(c)
		if err := add("KamajiControlPlane upstream CRDs from "+filepath.Join(shared, "kamaji-capi"), c, err); err != nil {
			return set, err
		}
	} else {
		dir, err := testbin.ModuleDir(ctx, "github.com/clastix/kamaji@"+FallbackKamajiVersion)
		if err == nil {
			var c []*apiextensionsv1.CustomResourceDefinition
			c, err = fromDir(os.DirFS(filepath.Join(dir, "charts", "kamaji", "crds")), ".")
			err = add("Kamaji "+FallbackKamajiVersion+" CRDs from the Go module cache (fallback: no ../shared/crds)", c, err)
		}
		if err != nil {
			return set, err
		}
		c, err := fromDir(fallbackFS, "fallback")
		labelContract(c)
		if err := add("KamajiControlPlane fallback CRD of this repository", c, err); err != nil {
			return set, err
		}
	}

	version, err := clusterAPIVersion()
	if err != nil {
		return set, err
	}
	dir, err := testbin.ModuleDir(ctx, "sigs.k8s.io/cluster-api@"+version)
	if err != nil {
		return set, err
	}
	var capiCRDs []*apiextensionsv1.CustomResourceDefinition
	for _, sub := range []string{"core/config/crd/bases", "bootstrap/kubeadm/config/crd/bases"} {
		c, err := fromDir(os.DirFS(filepath.Join(dir, sub)), ".")
		if err != nil {
			return set, fmt.Errorf("the CRDs of Cluster API %s: %w", version, err)
		}
		capiCRDs = append(capiCRDs, c...)
	}
	if err := add("Cluster API "+version+" CRDs from the Go module cache", capiCRDs, nil); err != nil {
		return set, err
	}
	// An infrastructure provider's machine template for worker pools: Cluster API's own
	// Docker provider (CAPD), whose CRDs live in the test module of the same release.
	testDir, err := testbin.ModuleDir(ctx, "sigs.k8s.io/cluster-api/test@"+version)
	if err != nil {
		return set, err
	}
	infra, err := fromFile(filepath.Join(testDir, "infrastructure", "docker", "config", "crd", "bases"), DockerMachineTemplateFile)
	for _, c := range infra {
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		c.Labels[capi.ContractLabel] = "v1beta2"
	}
	if err := add("Cluster API "+version+" Docker provider CRD from the Go module cache", infra, err); err != nil {
		return set, err
	}
	return set, nil
}

// labelContract adds the label Cluster API reads to find the contract a provider CRD
// implements, as upstream's kustomize commonLabels do.
func labelContract(crds []*apiextensionsv1.CustomResourceDefinition) {
	for _, c := range crds {
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		c.Labels[capi.ContractLabel] = capi.ControlPlaneVersion
	}
}

// DockerMachineTemplateFile is the CRD of CAPD's DockerMachineTemplate
// (infrastructure.cluster.x-k8s.io), the infrastructure template the worker-pool tests use.
const DockerMachineTemplateFile = "infrastructure.cluster.x-k8s.io_dockermachinetemplates.yaml"

func fromFile(dir, name string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	return decode(b)
}

func fromDir(fsys fs.FS, dir string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, n := range names {
		b, err := fs.ReadFile(fsys, filepath.ToSlash(filepath.Join(dir, n)))
		if err != nil {
			return nil, err
		}
		crds, err := decode(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		out = append(out, crds...)
	}
	if len(out) == 0 {
		return nil, errors.New("no CustomResourceDefinition found")
	}
	return out, nil
}

func decode(b []byte) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	var out []*apiextensionsv1.CustomResourceDefinition
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(doc, crd); err != nil {
			return nil, err
		}
		if crd.Kind != "CustomResourceDefinition" {
			continue
		}
		out = append(out, crd)
	}
}

// clusterAPIVersion is the version of sigs.k8s.io/cluster-api/api the provider builds with,
// so that the CRDs installed match the Go types.
func clusterAPIVersion() (string, error) {
	root, err := testbin.RepoRoot()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`(?m)^\s*sigs\.k8s\.io/cluster-api/api\s+(v\S+)`).FindSubmatch(b)
	if m == nil {
		return "", errors.New("go.mod does not require sigs.k8s.io/cluster-api/api")
	}
	return string(m[1]), nil
}
