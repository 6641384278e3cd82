package main

import (
	"context"
	"flag"
	"log"
	"os"

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
	if !debug {
		quietLogsUnlessAsked(os.Getenv, os.Setenv)
	}

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/qumulus/qumulus",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}

// The plugin libraries log at TRACE unless told otherwise, and Terraform parses every line a
// provider writes before it drops what nobody asked for: a plan of ten clusters made over
// 3,600 log lines, a quarter of the provider's CPU, with TF_LOG unset. Terraform passes its
// environment to the provider, so when neither TF_LOG nor TF_LOG_PROVIDER asks for provider
// logs, the SDK's and the provider's loggers are switched off at the source. Any of these
// variables set by the user is left as it is.
var quietLoggers = []string{"TF_LOG_SDK", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_SDK_PROTO", "TF_LOG_PROVIDER_QUMULUS"}

// quietLogsUnlessAsked switches the plugin loggers off when Terraform will not show their
// output.
func quietLogsUnlessAsked(getenv func(string) string, setenv func(string, string) error) {
	if getenv("TF_LOG") != "" || getenv("TF_LOG_PROVIDER") != "" {
		return
	}
	for _, name := range quietLoggers {
		if getenv(name) == "" {
			_ = setenv(name, "OFF")
		}
	}
}
