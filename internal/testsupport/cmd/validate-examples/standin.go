package main

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

// standInSchema is the configuration schema of a stand-in for a provider that cannot be
// installed offline: every argument the examples give it, of any type, and its nested
// blocks (each at most once).
type standInSchema struct {
	// Source is namespace/type or hostname/namespace/type.
	Source     string                    `json:"source,omitempty"`
	Attributes []string                  `json:"attributes,omitempty"`
	Blocks     map[string]*standInSchema `json:"blocks,omitempty"`
}

func (s *standInSchema) merge(b *block, top bool) {
	for name := range b.Args {
		if top && (name == "alias" || name == "version") {
			continue // meta-arguments, not the provider's
		}
		if !slices.Contains(s.Attributes, name) {
			s.Attributes = append(s.Attributes, name)
		}
	}
	slices.Sort(s.Attributes)
	for _, c := range b.Blocks {
		if s.Blocks == nil {
			s.Blocks = map[string]*standInSchema{}
		}
		if s.Blocks[c.Type] == nil {
			s.Blocks[c.Type] = &standInSchema{}
		}
		s.Blocks[c.Type].merge(c, false)
	}
}

func (s *standInSchema) attributes() map[string]schema.Attribute {
	attrs := map[string]schema.Attribute{}
	for _, a := range s.Attributes {
		attrs[a] = schema.DynamicAttribute{Optional: true}
	}
	return attrs
}

// blocks are single nested blocks: the framework refuses dynamic attributes in list blocks.
func (s *standInSchema) blocks() map[string]schema.Block {
	blocks := map[string]schema.Block{}
	for name, b := range s.Blocks {
		blocks[name] = schema.SingleNestedBlock{Attributes: b.attributes(), Blocks: b.blocks()}
	}
	return blocks
}

func serveStandIn(schemaFile string) error {
	b, err := os.ReadFile(schemaFile)
	if err != nil {
		return err
	}
	s := &standInSchema{}
	if err := json.Unmarshal(b, s); err != nil {
		return err
	}
	addr := s.Source
	if strings.Count(addr, "/") == 1 {
		addr = "registry.terraform.io/" + addr
	}
	return providerserver.Serve(context.Background(), func() provider.Provider { return &standInProvider{s} }, providerserver.ServeOpts{Address: addr})
}

type standInProvider struct{ schema *standInSchema }

var _ provider.Provider = (*standInProvider)(nil)

func (p *standInProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = p.schema.Source[strings.LastIndex(p.schema.Source, "/")+1:]
}

func (p *standInProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{Attributes: p.schema.attributes(), Blocks: p.schema.blocks()}
}

func (p *standInProvider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}

func (p *standInProvider) Resources(context.Context) []func() resource.Resource { return nil }

func (p *standInProvider) DataSources(context.Context) []func() datasource.DataSource { return nil }
