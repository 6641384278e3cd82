// Command testbin builds (once) the binaries the tests use and prints their paths.
//
//	testbin            prints NAME=path for etcd, kube-apiserver, terraform and tofu
//	testbin NAME...    prints the path of each (etcd, kube-apiserver, terraform, tofu)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/testbin"
)

var tools = map[string]struct {
	env string
	get func(context.Context) (string, error)
}{
	"etcd":           {"TEST_ASSET_ETCD", testbin.Etcd},
	"kube-apiserver": {"TEST_ASSET_KUBE_APISERVER", testbin.KubeAPIServer},
	"terraform":      {"TF_ACC_TERRAFORM_PATH", testbin.Terraform},
	"tofu":           {"QUMULUS_TEST_TOFU_PATH", testbin.OpenTofu},
}

func main() {
	flag.Parse()
	names := flag.Args()
	pairs := len(names) == 0
	if pairs {
		names = []string{"etcd", "kube-apiserver", "terraform", "tofu"}
	}
	for _, name := range names {
		t, ok := tools[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "testbin: unknown tool %q (etcd, kube-apiserver, terraform, tofu)\n", name)
			os.Exit(2)
		}
		p, err := t.get(context.Background())
		if err != nil {
			fmt.Fprintln(os.Stderr, "testbin:", err)
			os.Exit(1)
		}
		if pairs {
			fmt.Printf("%s=%s\n", t.env, p)
		} else {
			fmt.Println(p)
		}
	}
}
