package main

import (
	"errors"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// block is what validate-examples needs to know of an HCL block: its type and labels, the
// raw text of each argument's expression, its nested blocks, and where its body starts (to
// add an argument to it).
type block struct {
	Type   string
	Labels []string
	Args   map[string]string
	// Lines holds the line of each argument.
	Lines  map[string]int
	Blocks []*block
	// Open is the offset just after the block's opening brace.
	Open int
}

// parseHCL reads the structure of an HCL native syntax file, named filename in its
// diagnostics: its blocks, their labels, and the source text of their arguments.
func parseHCL(filename string, src []byte) (*block, error) {
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return nil, errors.New("not HCL native syntax")
	}
	return readBody(src, &block{}, body), nil
}

func readBody(src []byte, b *block, body *hclsyntax.Body) *block {
	b.Args = make(map[string]string, len(body.Attributes))
	b.Lines = make(map[string]int, len(body.Attributes))
	for name, attr := range body.Attributes {
		r := attr.Expr.Range()
		b.Args[name] = strings.TrimSpace(string(src[r.Start.Byte:r.End.Byte]))
		b.Lines[name] = attr.SrcRange.Start.Line
	}
	for _, c := range body.Blocks {
		child := &block{Type: c.Type, Labels: c.Labels, Open: c.OpenBraceRange.End.Byte}
		b.Blocks = append(b.Blocks, readBody(src, child, c.Body))
	}
	return b
}
