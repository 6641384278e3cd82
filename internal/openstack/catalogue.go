// Package openstack describes the OpenStack-Helm services Qumulus installs into a tenant
// cluster: which chart each one is, what it needs, in which order the releases go, and the
// values that make the releases find each other and agree on credentials. It knows nothing
// of Terraform or of Helm's SDK.
package openstack

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Service is one OpenStack-Helm service as Qumulus installs it: one chart, one release.
type Service struct {
	// Name is the service's key in the configuration and the name of its chart and release.
	Name string
	// Infrastructure is true for what OpenStack runs on (database, message queue, cache,
	// virtual switch, hypervisor) rather than an OpenStack API.
	Infrastructure bool
	// Default is true for the services installed when the configuration names none.
	Default bool
	// Requires are the services that must be enabled with it, and ready before its release
	// is installed, unless they are installed together (With).
	Requires []string
	// With are the services whose releases wait on each other's Services (nova's compute
	// on neutron-server, neutron's agents on nova-api): they are installed together and
	// then waited for together.
	With []string
	// ReplicaKeys are the keys under pod.replicas that the service's replicas sets: its API
	// and server components. None: it runs as DaemonSets, one pod per node.
	ReplicaKeys []string
	// Users are the accounts the chart's values name, and so the credentials it needs.
	Users []User
}

// Kinds of accounts: the endpoint that a user of the chart's values belongs to.
const (
	KindIdentity  = "identity"
	KindDatabase  = "oslo_db"
	KindMessaging = "oslo_messaging"
)

// User is one account a chart's values name under endpoints.<Endpoint>.auth.<Key>.
type User struct {
	// Endpoint is the key under endpoints (oslo_db_cell0 for nova's cell0 database); Kind
	// the kind of account it is.
	Endpoint, Kind string
	// Key is the key under auth; Username the chart's default user name, which the
	// provider keeps.
	Key, Username string
}

// CredentialKey names the password of a user. Users of the same kind and name share it,
// whichever chart names them: the identity admin of every chart, mariadb's root user
// which is every chart's database admin, rabbitmq's user which is every chart's
// messaging admin, and service users that two charts name (glance in glance and cinder).
func (u User) CredentialKey() string { return u.Kind + "/" + u.Username }

func identity(key, username string) User { return User{KindIdentity, KindIdentity, key, username} }
func database(key, username string) User { return User{KindDatabase, KindDatabase, key, username} }
func messaging(key, username string) User {
	return User{KindMessaging, KindMessaging, key, username}
}

// The accounts every OpenStack API chart shares.
var (
	identityAdmin  = identity("admin", "admin")
	databaseAdmin  = database("admin", "root")
	messagingAdmin = messaging("admin", "rabbitmq")
)

// The services Qumulus knows, in the order they are listed to users. The dependencies come
// from each chart's dependencies.static and the Services its workloads' init containers
// wait for; the users from each chart's endpoints.*.auth.
var catalogue = []Service{
	{Name: "mariadb", Infrastructure: true, Default: true, ReplicaKeys: []string{"server"},
		Users: []User{databaseAdmin, database("sst", "sst"), database("audit", "audit"), database("exporter", "exporter")}},
	{Name: "rabbitmq", Infrastructure: true, Default: true, ReplicaKeys: []string{"server"},
		Users: []User{messaging("user", "rabbitmq")}},
	{Name: "memcached", Infrastructure: true, Default: true, ReplicaKeys: []string{"server"}},
	{Name: "openvswitch", Infrastructure: true, Default: true},
	{Name: "libvirt", Infrastructure: true, Default: true},
	{Name: "keystone", Default: true, Requires: []string{"mariadb", "rabbitmq", "memcached"}, ReplicaKeys: []string{"api"},
		Users: []User{identityAdmin, databaseAdmin, database("keystone", "keystone"), messagingAdmin, messaging("keystone", "keystone")}},
	{Name: "glance", Default: true, Requires: []string{"keystone", "mariadb", "rabbitmq", "memcached"}, ReplicaKeys: []string{"api"},
		Users: []User{identityAdmin, identity("glance", "glance"), databaseAdmin, database("glance", "glance"), messagingAdmin, messaging("glance", "glance")}},
	{Name: "placement", Default: true, Requires: []string{"keystone", "mariadb", "memcached"}, ReplicaKeys: []string{"api"},
		Users: []User{identityAdmin, identity("placement", "placement"), databaseAdmin, database("placement", "placement"), database("nova_api", "nova")}},
	{Name: "nova", Default: true, Requires: []string{"keystone", "glance", "placement", "neutron", "libvirt", "mariadb", "rabbitmq", "memcached"},
		With: []string{"neutron"}, ReplicaKeys: []string{"osapi", "api_metadata", "conductor", "scheduler", "novncproxy"},
		Users: []User{
			identityAdmin, identity("nova", "nova"), identity("service", "nova_service_user"), identity("neutron", "nova_neutron"),
			identity("placement", "nova_placement"), identity("cinder", "nova_cinder"), identity("ironic", "nova_ironic"),
			databaseAdmin, database("nova", "nova"),
			{"oslo_db_cell0", KindDatabase, "admin", "root"}, {"oslo_db_cell0", KindDatabase, "nova", "nova"},
			{"oslo_db_cell1", KindDatabase, "admin", "root"}, {"oslo_db_cell1", KindDatabase, "nova", "nova"},
			messagingAdmin, messaging("nova", "nova"),
		}},
	{Name: "neutron", Default: true, Requires: []string{"keystone", "nova", "openvswitch", "mariadb", "rabbitmq", "memcached"},
		With: []string{"nova"}, ReplicaKeys: []string{"server", "rpc_server"},
		Users: []User{
			identityAdmin, identity("neutron", "neutron"), identity("nova", "neutron_nova"), identity("placement", "neutron_placement"),
			identity("designate", "neutron_designate"), identity("ironic", "neutron_ironic"),
			databaseAdmin, database("neutron", "neutron"), messagingAdmin, messaging("neutron", "neutron"),
		}},
	{Name: "cinder", Requires: []string{"keystone", "mariadb", "rabbitmq", "memcached"}, ReplicaKeys: []string{"api", "scheduler"},
		Users: []User{
			identityAdmin, identity("cinder", "cinder"), identity("glance", "glance"), identity("nova", "cinder_nova"),
			identity("service", "cinder_service_user"), identity("swift", "cinder_swift"),
			databaseAdmin, database("cinder", "cinder"), messagingAdmin, messaging("cinder", "cinder"),
		}},
	{Name: "heat", Requires: []string{"keystone", "mariadb", "rabbitmq", "memcached"}, ReplicaKeys: []string{"api", "cfn", "engine"},
		Users: []User{
			identityAdmin, identity("heat", "heat"), identity("heat_trustee", "heat-trust"), identity("heat_stack_user", "heat-domain"),
			databaseAdmin, database("heat", "heat"), messagingAdmin, messaging("heat", "heat"),
		}},
	{Name: "horizon", Default: true, Requires: []string{"keystone", "mariadb", "memcached"}, ReplicaKeys: []string{"server"},
		Users: []User{identityAdmin, databaseAdmin, database("horizon", "horizon")}},
}

// Services returns every service Qumulus knows, in the order they are listed to users.
func Services() []Service { return slices.Clone(catalogue) }

// Names returns the names of every service.
func Names() []string {
	names := make([]string, len(catalogue))
	for i, s := range catalogue {
		names[i] = s.Name
	}
	return names
}

// Lookup finds a service by name.
func Lookup(name string) (Service, bool) {
	for _, s := range catalogue {
		if s.Name == name {
			return s, true
		}
	}
	return Service{}, false
}

// DefaultServices are the services installed when the configuration names none: the
// infrastructure and keystone, glance, placement, nova, neutron and horizon.
func DefaultServices() []string {
	var names []string
	for _, s := range catalogue {
		if s.Default {
			names = append(names, s.Name)
		}
	}
	return names
}

// SelectionError is what is wrong with the set of enabled services.
type SelectionError struct {
	Service string
	// Unknown is true for a name that is no service; Missing lists the services it needs
	// that are not enabled.
	Unknown bool
	Missing []string
}

func (e *SelectionError) Error() string {
	if e.Unknown {
		return fmt.Sprintf("%q is not a service; the services are %s", e.Service, strings.Join(Names(), ", "))
	}
	return fmt.Sprintf("%s needs %s, which %s not enabled", e.Service, strings.Join(e.Missing, ", "),
		map[bool]string{true: "is", false: "are"}[len(e.Missing) == 1])
}

// CheckSelection refuses unknown services, a selection without keystone (every OpenStack
// API needs it, and it is what makes the selection OpenStack) and services enabled without
// what they need. The error joins one *SelectionError for each problem.
func CheckSelection(enabled []string) error {
	on := map[string]bool{}
	for _, name := range enabled {
		on[name] = true
	}
	var errs []error
	for _, name := range sorted(enabled) {
		s, ok := Lookup(name)
		if !ok {
			errs = append(errs, &SelectionError{Service: name, Unknown: true})
			continue
		}
		var missing []string
		for _, r := range s.Requires {
			if !on[r] {
				missing = append(missing, r)
			}
		}
		if len(missing) > 0 {
			errs = append(errs, &SelectionError{Service: name, Missing: missing})
		}
	}
	if !on["keystone"] && len(errs) == 0 {
		errs = append(errs, &SelectionError{Service: "the selection", Missing: []string{"keystone"}})
	}
	return errors.Join(errs...)
}

// Step is a set of services whose releases are installed together, once the steps they
// come after are ready.
type Step struct {
	Services []string
	// After are the indexes, in the plan, of the steps this one waits for.
	After []int
}

// Plan orders the enabled services into steps: services installed together (With) form
// one step, and each step comes after the steps of what its services require. Steps with
// nothing in common may run at the same time; a step's index is larger than those of the
// steps it waits for, so installing in index order and deleting in reverse order is safe.
func Plan(enabled []string) ([]Step, error) {
	if err := CheckSelection(enabled); err != nil {
		return nil, err
	}
	on := map[string]bool{}
	for _, name := range enabled {
		on[name] = true
	}
	// Group services that are installed together.
	group := map[string]int{}
	var groups [][]string
	for _, s := range catalogue {
		if !on[s.Name] {
			continue
		}
		g, ok := -1, false
		for _, w := range s.With {
			if g, ok = group[w]; ok {
				break
			}
		}
		if !ok {
			g = len(groups)
			groups = append(groups, nil)
		}
		group[s.Name] = g
		groups[g] = append(groups[g], s.Name)
	}
	// Order the groups: Kahn's algorithm, taking the ready groups in catalogue order.
	needs := make([]map[int]bool, len(groups))
	for g, members := range groups {
		needs[g] = map[int]bool{}
		for _, name := range members {
			s, _ := Lookup(name)
			for _, r := range s.Requires {
				if d := group[r]; d != g {
					needs[g][d] = true
				}
			}
		}
	}
	index := make([]int, len(groups))
	for i := range index {
		index[i] = -1
	}
	var steps []Step
	for len(steps) < len(groups) {
		progressed := false
		for g := range groups {
			if index[g] >= 0 {
				continue
			}
			var after []int
			ready := true
			for d := range needs[g] {
				if index[d] < 0 {
					ready = false
					break
				}
				after = append(after, index[d])
			}
			if !ready {
				continue
			}
			sort.Ints(after)
			index[g] = len(steps)
			steps = append(steps, Step{Services: groups[g], After: after})
			progressed = true
		}
		if !progressed {
			return nil, errors.New("the services' dependencies form a cycle outside an install-together group")
		}
	}
	return steps, nil
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}
