package mgmtcluster

import (
	"errors"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// usersMu serialises AddUser: envtest's CA is not safe for concurrent use.
var usersMu sync.Mutex

// AddUser adds a user with a client certificate, in groups, and returns a kubeconfig of
// it. The user may do only what RBAC grants it: tests of restricted credentials bind it to
// roles of their own. Only the local cluster can add users.
func (c *Cluster) AddUser(name string, groups ...string) ([]byte, error) {
	if c.env == nil {
		return nil, errors.New("mgmtcluster: users can be added only to the local management cluster")
	}
	usersMu.Lock()
	defer usersMu.Unlock()
	u, err := c.env.AddUser(envtest.User{Name: name, Groups: groups}, unlimited())
	if err != nil {
		return nil, err
	}
	return kubeconfig(u.Config(), "qumulus-local")
}
