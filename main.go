package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/qumulus/terraform-provider-qumulus/internal/provider"
)

// Generate the documentation: see GNUmakefile's docs target.

// version is set at build time by goreleaser (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/qumulus/qumulus",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}
