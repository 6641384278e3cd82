// Command testbin builds (once) and prints the paths of the binaries the tests use.
//
//	go run ./internal/testsupport/cmd/testbin [-tofu]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/testbin"
)

func main() {
	tofu := flag.Bool("tofu", false, "also build OpenTofu "+testbin.OpenTofuVersion)
	flag.Parse()
	ctx := context.Background()

	tools := []struct {
		env string
		get func(context.Context) (string, error)
	}{
		{"TEST_ASSET_ETCD", testbin.Etcd},
		{"TEST_ASSET_KUBE_APISERVER", testbin.KubeAPIServer},
		{"TF_ACC_TERRAFORM_PATH", testbin.Terraform},
	}
	if *tofu {
		tools = append(tools, struct {
			env string
			get func(context.Context) (string, error)
		}{"QUMULUS_TEST_TOFU_PATH", testbin.OpenTofu})
	}
	for _, t := range tools {
		p, err := t.get(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("%s=%s\n", t.env, p)
	}
}
