// Command etcd is the etcd server the local management cluster runs. It lives in its own
// module so that etcd's dependencies never reach the provider's go.mod.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
